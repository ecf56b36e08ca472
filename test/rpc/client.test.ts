// NumchainClient against the real server and a fake node backed by a real MaEngine: building,
// submitting, waiting for receipts, and verifying state proofs (including lying servers).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { txToJson } from '../../src/chain/tx.ts';
import { NumchainClient, RpcError } from '../../src/rpc/client.ts';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.ts';
import { testClientKey } from '../../src/rpc/test-keys.ts';
import { FakeNode } from './fake-node.ts';

const key = testClientKey(7);
let node: FakeNode;
let srv: RpcServer;
let client: NumchainClient;

test.before.each(async () => {
  node = new FakeNode({ txWindow: 40 });
  srv = await startRpcServer(node);
  client = new NumchainClient(srv.url + '/');
});

test.after.each(async () => {
  node.stop();
  await srv.close();
});

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error('expected an RpcError');
}

test('reads: health, params, latest block, missing block and receipt are null', async () => {
  assert.is((await client.health()).chainId, 'fake-1');
  assert.is((await client.params()).maxBatch, 16);
  assert.is((await client.block('latest'))!.height, 0);
  assert.is(await client.block(3), null);
  assert.is(await client.block(3, { waitMs: 20 }), null);
  assert.is(await client.receipt('cd'.repeat(32)), null);
});

test('buildAndSign: chain id from params, validUntil within the window, random nonces', async () => {
  node.commit();
  node.commit();
  const a = await client.buildAndSign({ op: 'add', shard: 0, layer: 1, slot: 3, vec: [5, 6, 7, 8] }, key.secretKey);
  const b = await client.buildAndSign({ op: 'add', shard: 0, layer: 1, slot: 3, vec: [5, 6, 7, 8] }, key.secretKey);
  assert.is(a.body.chainId, 'fake-1');
  assert.is(a.body.validUntil, 2 + 20);
  assert.is.not(a.txidHex, b.txidHex);
  const c = await client.buildAndSign({ op: 'clip', shard: 0, layer: 0, slot: 0, bound: 1 }, key.secretKey, { margin: 1000, nonce: 9 });
  assert.is(c.body.validUntil, 2 + 40);
  assert.is(c.body.nonce, 9);
  // Checked against the chain limits before signing: a row that does not exist never gets signed.
  let threw = false;
  try {
    await client.buildAndSign({ op: 'add', shard: 5, layer: 0, slot: 0, vec: [1, 2, 3, 4] }, key.secretKey);
  } catch (e) {
    threw = (e as { field?: string }).field === 'shard';
  }
  assert.ok(threw);
});

test('submit, then receipt with wait; submitAndWait returns the committed receipt', async () => {
  const t = await client.buildAndSign({ op: 'add', shard: 1, layer: 1, slot: 1, vec: [1, -1, 2, -2] }, key.secretKey);
  const s = await client.submit(t);
  assert.equal(s, { accepted: true, txid: t.txidHex, committed: false });
  setTimeout(() => node.commit(), 20);
  const r = await client.receipt(t.txidHex, { waitMs: 5000 });
  assert.is(r!.status, 'applied');
  assert.is(r!.height, 1);

  const timer = setInterval(() => node.pending.length && node.commit(), 10);
  try {
    const u = await client.buildAndSign({ op: 'decay', shard: 1, layer: 1, slot: 1, factor: 512 }, key.secretKey);
    const ru = await client.submitAndWait(u, { waitMs: 5000 });
    assert.is(ru.txid, u.txidHex);
    assert.is(ru.status, 'applied');
    // The JSON form goes through the same path.
    const v = await client.buildAndSign({ op: 'mix', shard: 1, layer: 1, slot: 1, src: 0, alpha: 3 }, key.secretKey);
    const rv = await client.submitAndWait(txToJson(v), { waitMs: 5000 });
    assert.is(rv.txid, v.txidHex);
  } finally {
    clearInterval(timer);
  }
});

test('submitAndWait gives up with not_committed when nothing commits', async () => {
  const t = await client.buildAndSign({ op: 'clip', shard: 0, layer: 0, slot: 0, bound: 3 }, key.secretKey);
  const e = await rejection(client.submitAndWait(t, { waitMs: 60 }));
  assert.is(e.code, 'not_committed');
  assert.is(e.txid, t.txidHex);
});

test('refused submissions throw RpcError with status, code, field, txid', async () => {
  const t = await client.buildAndSign({ op: 'clip', shard: 0, layer: 0, slot: 0, bound: 3 }, key.secretKey);
  await client.submit(t.bytes);
  const e = await rejection(client.submit(t));
  assert.is(e.status, 409);
  assert.is(e.code, 'duplicate');
  assert.is(e.field, 'txid');
  assert.is(e.txid, t.txidHex);
  // The txid covers the body only, so the forgery needs a body the node has not seen.
  const u = await client.buildAndSign({ op: 'clip', shard: 0, layer: 0, slot: 0, bound: 4 }, key.secretKey);
  const forged = Uint8Array.from(u.bytes);
  forged[forged.length - 1]! ^= 1;
  const f = await rejection(client.submit(forged));
  assert.is(f.status, 422);
  assert.is(f.code, 'bad_signature');
});

test('submitBatch: binary and JSON, results in order', async () => {
  const txs = await Promise.all([1, 2, 3].map((i) => client.buildAndSign({ op: 'clip', shard: 0, layer: 0, slot: i, bound: 3 }, key.secretKey)));
  const r = await client.submitBatch([txs[0]!, txs[1]!.bytes, txs[0]!]);
  assert.is(r.accepted, 2);
  assert.equal(
    r.results.map((x) => x.accepted),
    [true, true, false],
  );
  const j = await client.submitBatch([txToJson(txs[2]!)]);
  assert.equal(j.results, [{ accepted: true, txid: txs[2]!.txidHex }]);
});

test('verifiedState: a real proof verifies against the returned root and a trusted block root', async () => {
  const t = await client.buildAndSign({ op: 'add', shard: 1, layer: 0, slot: 3, vec: [100, 200, -300, 400] }, key.secretKey);
  await client.submit(t);
  const block = node.commit();
  const s = await client.verifiedState({ shard: 1, layer: 0, slot: 3 }, { trustedRoot: block.stateRoot });
  assert.is(s.verified, true);
  assert.equal(s.values, Array.from(node.engine.readRow({ shard: 1, layer: 0, slot: 3 })));
  assert.ok(s.values.some((x) => x !== 0));
});

test('verifiedState rejects a tampered row, a stale trusted root, and an answer for another row', async () => {
  await client.submit(await client.buildAndSign({ op: 'add', shard: 0, layer: 0, slot: 1, vec: [9, 9, 9, 9] }, key.secretKey));
  const genesisRoot = node.blocks[0]!.stateRoot;
  node.commit();
  node.tamperState = true;
  const e1 = await rejection(client.verifiedState({ shard: 0, layer: 0, slot: 1 }));
  assert.is(e1.code, 'bad_proof');
  const e2 = await rejection(client.verifiedState({ shard: 0, layer: 0, slot: 1 }, { trustedRoot: genesisRoot }));
  assert.is(e2.code, 'bad_proof');
  assert.is(e2.field, 'stateRoot');
  // A server that answers (with a perfectly valid proof) for a different row than the one asked.
  const lying = new NumchainClient(srv.url, {
    fetch: ((url: string, init: RequestInit) => fetch(String(url).replace('/state/0/0/2', '/state/0/0/1'), init)) as typeof fetch,
  });
  const e3 = await rejection(lying.verifiedState({ shard: 0, layer: 0, slot: 2 }));
  assert.is(e3.code, 'bad_proof');
  assert.is(e3.field, 'target');
});

test('network failures are RpcError status 0 code network', async () => {
  const dead = new NumchainClient('http://127.0.0.1:1', { timeoutMs: 2000 });
  const e = await rejection(dead.health());
  assert.is(e.status, 0);
  assert.is(e.code, 'network');
});

test.run();
