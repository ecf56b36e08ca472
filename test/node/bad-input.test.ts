// Hostile or broken clients against a real validator: every bad request gets its documented 4xx
// and machine-readable code, is counted in /metrics by reason, and the node keeps serving (a good
// client's transaction still commits).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTx, txToJson, type TxFields } from '../../src/chain/tx.ts';
import type { ParamsJson } from '../../src/rpc/api.ts';
import { nodeSigner, signTxFast } from '../../src/rpc/node-signer.ts';
import { testClientKey, testClientSeed } from '../../src/rpc/test-keys.ts';
import { createLocalnet, killAllNodes, NodeProcess, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;
let node: NodeProcess;
let params: ParamsJson;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
  node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0) });
  await node.start();
  params = await node.client.params();
});

test.after(async () => {
  await killAllNodes();
  await net?.cleanup();
});

/** Prometheus text → "name{labels}" → value (the chain_id label every series carries left out). */
async function metrics(): Promise<Map<string, number>> {
  const text = await node.client.metricsText();
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const i = line.lastIndexOf(' ');
    const key = line.slice(0, i).replace(/,?chain_id="[^"]*"/, '').replace('{,', '{').replace('{}', '');
    m.set(key, Number(line.slice(i + 1)));
  }
  return m;
}
const rpcRejected = (reason: string) => `numchain_rpc_requests_rejected_total{reason="${reason}"}`;
const txRejected = (reason: string) => `numchain_mempool_tx_rejected_total{reason="${reason}"}`;

async function raw(method: string, path: string, body?: string | Uint8Array, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(node.url + path, { method, body: body as BodyInit | undefined, headers: body === undefined ? {} : { 'content-type': contentType } });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

const dim = () => params.ma.dim;
const add = (over: Partial<Record<string, unknown>> = {}): TxFields['op'] => ({ op: 'add', shard: 0, layer: 1, slot: 2, vec: new Array<number>(dim()).fill(5), ...over }) as TxFields['op'];
let nonce = 1;
async function validJson(seed: number): Promise<Record<string, unknown>> {
  const h = (await node.client.health()).height;
  return txToJson(buildTx({ chainId: params.chainId, nonce: nonce++, validUntil: h + 100, op: add() }, testClientKey(seed).secretKey)) as unknown as Record<string, unknown>;
}

/** One bad request: expected status and code, and the counters that must go up by `n`. */
async function expectRefusal(what: string, send: () => Promise<{ status: number; json: Record<string, unknown> }>, status: number, code: string | RegExp, counters: string[], n = 1): Promise<void> {
  const before = await metrics();
  const r = await send();
  assert.is(r.status, status, `${what}: status (body ${JSON.stringify(r.json)})`);
  const got = String(r.json.code);
  if (typeof code === 'string') assert.is(got, code, `${what}: code`);
  else assert.match(got, code, `${what}: code`);
  const after = await metrics();
  for (const c of counters) {
    assert.ok(after.has(c), `${what}: metric ${c} exists`);
    assert.ok(after.get(c)! - (before.get(c) ?? 0) >= n, `${what}: ${c} went up by ≥ ${n} (${before.get(c)} → ${after.get(c)})`);
  }
}

test('every bad request gets its 4xx, code and counter', () =>
  withNodeLogs([node], async () => {
    await expectRefusal('malformed JSON', () => raw('POST', '/tx', '{"op": "add", '), 400, 'bad_json', [rpcRejected('bad_request')]);
    await expectRefusal('JSON array body', () => raw('POST', '/tx', '[1,2]'), 400, 'malformed', [rpcRejected('bad_request')]);

    const wrongType = { ...(await validJson(11)), shard: '1' };
    await expectRefusal('wrong type (shard as string)', () => raw('POST', '/tx', JSON.stringify(wrongType)), 422, 'bad_shard', [rpcRejected('tx_rejected'), txRejected('bad_shard')]);
    const nonceType = { ...(await validJson(11)), nonce: 1.5 };
    await expectRefusal('wrong type (fractional nonce)', () => raw('POST', '/tx', JSON.stringify(nonceType)), 422, 'bad_nonce', [txRejected('bad_nonce')]);

    const bigVec = { ...(await validJson(11)), vec: new Array<number>(dim()).fill(params.bound + 1) };
    await expectRefusal('vec value > B', () => raw('POST', '/tx', JSON.stringify(bigVec)), 422, 'bad_vec_value', [txRejected('bad_vec_value')]);
    const farShard = { ...(await validJson(11)), shard: params.ma.shards };
    await expectRefusal('shard out of range', () => raw('POST', '/tx', JSON.stringify(farShard)), 422, 'bad_shard', [txRejected('bad_shard')]);
    // Out of range in signed binary form too: the node decodes and checks, not only the JSON parser.
    const signer = nodeSigner(testClientSeed(12));
    const h0 = (await node.client.health()).height;
    const binFar = signTxFast({ chainId: params.chainId, nonce: 9, validUntil: h0 + 100, op: add({ shard: params.ma.shards }) }, signer).bytes;
    await expectRefusal('shard out of range (binary)', () => raw('POST', '/tx', binFar, 'application/octet-stream'), 422, 'bad_shard', [txRejected('bad_shard')]);

    const badSig = await validJson(13);
    const sig = String(badSig.signature);
    badSig.signature = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    await expectRefusal('bad signature', () => raw('POST', '/tx', JSON.stringify(badSig)), 422, 'bad_signature', [txRejected('bad_signature')]);

    await expectRefusal('oversize body (/tx)', () => raw('POST', '/tx', 'x'.repeat(70 * 1024)), 413, 'body_too_large', [rpcRejected('body_too_large')]);
    await expectRefusal('unknown route', () => raw('GET', '/no/such/route'), 404, 'not_found', [rpcRejected('not_found')]);
    await expectRefusal('wrong method', () => raw('GET', '/tx'), 405, 'method_not_allowed', [rpcRejected('method_not_allowed')]);
    await expectRefusal('wrong method (DELETE /health)', () => raw('DELETE', '/health'), 405, 'method_not_allowed', [rpcRejected('method_not_allowed')]);
    await expectRefusal('bad txid in path', () => raw('GET', '/receipt/xyz'), 400, 'bad_txid', [rpcRejected('bad_request')]);
  }));

test('a committed transaction sent again is refused as a replay (409)', () =>
  withNodeLogs([node], async () => {
    const tx = await validJson(14);
    const receipt = await node.client.submitAndWait(tx as never, { waitMs: 20_000 });
    assert.is(receipt.status, 'applied');
    await expectRefusal('replay of a committed tx', () => raw('POST', '/tx', JSON.stringify(tx)), 409, /^(replayed|duplicate)$/, [rpcRejected('tx_rejected')]);
    const m = await metrics();
    assert.ok((m.get(txRejected('replayed')) ?? 0) + (m.get(txRejected('duplicate')) ?? 0) >= 1);
  }));

test('one sender flooding is throttled (429) while another sender still commits', () =>
  withNodeLogs([node], async () => {
    const h = (await node.client.health()).height;
    const flooder = nodeSigner(testClientSeed(20));
    // More than the per-sender burst in a few batches, as fast as the node takes them.
    const N = 6000;
    const txs = Array.from({ length: N }, (_, i) => signTxFast({ chainId: params.chainId, nonce: 100_000 + i, validUntil: h + 200, op: add({ slot: i % params.ma.slots }) }, flooder).bytes);
    const before = await metrics();
    const throttled: Record<string, number> = {};
    let accepted = 0;
    const batches: Promise<void>[] = [];
    for (let i = 0; i < N; i += params.maxBatch) {
      batches.push(
        node.client.submitBatch(txs.slice(i, i + params.maxBatch)).then((r) => {
          accepted += r.accepted;
          for (const x of r.results) {
            if (x.accepted) continue;
            assert.is(x.status, 429, `flood refusal ${x.code} has status 429`);
            throttled[x.code] = (throttled[x.code] ?? 0) + 1;
          }
        }),
      );
    }
    // Meanwhile an honest client: admitted and committed.
    const honest = buildTx({ chainId: params.chainId, nonce: 1, validUntil: h + 200, op: add({ shard: 3 }) }, testClientKey(21).secretKey);
    const receiptP = node.client.submitAndWait(honest, { waitMs: 20_000 });
    await Promise.all(batches);
    const refusedTotal = Object.values(throttled).reduce((a, b) => a + b, 0);
    assert.ok(refusedTotal > 0, `the flood was throttled (accepted ${accepted} of ${N})`);
    assert.ok(Object.keys(throttled).every((c) => ['sender_rate', 'sender_queue_full', 'busy'].includes(c)), JSON.stringify(throttled));
    const after = await metrics();
    for (const [code, n] of Object.entries(throttled)) assert.ok(after.get(txRejected(code))! - (before.get(txRejected(code)) ?? 0) >= n, `counter ${code}`);
    const receipt = await receiptP;
    assert.is(receipt.status, 'applied', 'the honest sender was served');
    assert.ok((await node.client.health()).height > h, 'the chain kept committing');
  }));

test.run();
