// The HTTP API against a fake node: every route, every refusal class and its status/JSON shape,
// body limits enforced while reading, rate limiting, batches, long-polls, metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest } from 'node:http';
import { buildTx, txToJson, type SignedTx } from '../../src/chain/tx.ts';
import { encodeCanonical } from '../../src/codec/canonical.ts';
import { NodeMetrics } from '../../src/metrics/metrics.ts';
import { NumchainClient } from '../../src/rpc/client.ts';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.ts';
import { RPC_REJECT_REASONS } from '../../src/rpc/request.ts';
import { testClientKey } from '../../src/rpc/test-keys.ts';
import { FakeNode } from './fake-node.ts';

const key = testClientKey(1);
let node: FakeNode;
let srv: RpcServer;
let nonce = 0;

function tx(over: { vec?: number[]; chainId?: string; validUntil?: number } = {}): SignedTx {
  return buildTx(
    { chainId: over.chainId ?? 'fake-1', nonce: nonce++, validUntil: over.validUntil ?? 50, op: { op: 'add', shard: 1, layer: 0, slot: 2, vec: over.vec ?? [1, 2, 3, 4] } },
    key.secretKey,
  );
}

async function call(method: string, path: string, body?: string | Uint8Array, contentType = 'application/json'): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(srv.url + path, { method, body: body as BodyInit | undefined, headers: body === undefined ? {} : { 'content-type': contentType } });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

test.before.each(async () => {
  node = new FakeNode();
  srv = await startRpcServer(node, { maxTxBodyBytes: 4096, maxBatchBodyBytes: 16384 });
});

test.after.each(async () => {
  node.stop();
  await srv.close();
});

test('POST /tx with the JSON form → 202 {accepted, txid}; the node sees the client address', async () => {
  const t = tx();
  const r = await call('POST', '/tx', JSON.stringify(txToJson(t)));
  assert.is(r.status, 202);
  assert.equal(r.json, { accepted: true, txid: t.txidHex });
  assert.is(node.submitted[0]!.clientKey, '127.0.0.1');
});

test('POST /tx with canonical wire bytes (msgpack or octet-stream)', async () => {
  for (const ct of ['application/msgpack', 'application/octet-stream']) {
    const t = tx();
    const r = await call('POST', '/tx', t.bytes, ct);
    assert.is(r.status, 202, r.text);
    assert.is(r.json.txid, t.txidHex);
    assert.ok(node.submitted.at(-1)!.tx instanceof Uint8Array);
  }
});

test('POST /tx refusals carry the node status, code, field and txid', async () => {
  const t = tx();
  await call('POST', '/tx', t.bytes, 'application/octet-stream');
  const dup = await call('POST', '/tx', t.bytes, 'application/octet-stream');
  assert.is(dup.status, 409);
  assert.equal(dup.json, { accepted: false, code: 'duplicate', field: 'txid', message: 'already seen', txid: t.txidHex });
  const wrong = await call('POST', '/tx', JSON.stringify(txToJson(tx({ chainId: 'other' }))));
  assert.is(wrong.status, 422);
  assert.is(wrong.json.code, 'wrong_chain');
  const j = { ...txToJson(tx()), shard: 7 };
  const bad = await call('POST', '/tx', JSON.stringify(j));
  assert.is(bad.status, 400);
  assert.is(bad.json.field, 'shard');
  assert.is(srv.stats.rejected.tx_rejected, 3);
});

test('malformed JSON, wrong JSON types and unsupported media types are 400/415 JSON, not 500', async () => {
  const r1 = await call('POST', '/tx', '{"op": "add",');
  assert.is(r1.status, 400);
  assert.is(r1.json.code, 'bad_json');
  assert.is(r1.json.field, 'body');
  const r2 = await call('POST', '/tx', '[1,2,3]');
  assert.is(r2.status, 400);
  assert.is(r2.json.field, 'tx');
  const r3 = await call('POST', '/tx', new Uint8Array([0xff, 0xfe, 0x7b]));
  assert.is(r3.status, 400);
  const r4 = await call('POST', '/txs', '{"txs": 5}');
  assert.is(r4.status, 400);
  assert.is(r4.json.field, 'txs');
  const r5 = await call('POST', '/txs', '{"txs": [1]}');
  assert.is(r5.status, 400);
  assert.is(r5.json.field, 'txs[0]');
  const r6 = await call('POST', '/txs', new Uint8Array([0xc1]), 'application/msgpack');
  assert.is(r6.status, 400);
  const r7 = await call('POST', '/txs', encodeCanonical([new Uint8Array(3), 5]), 'application/msgpack');
  assert.is(r7.status, 400);
  assert.is(r7.json.field, 'txs[1]');
  const r8 = await call('POST', '/tx', 'x', 'multipart/form-data');
  assert.is(r8.status, 415);
  assert.is(srv.stats.rejected.bad_request, 7);
  assert.is(srv.stats.rejected.unsupported_media_type, 1);
  assert.is(srv.stats.rejected.internal_error, 0);
});

test('POST /txs: per-tx results in request order, JSON and binary', async () => {
  const a = tx();
  const b = tx({ chainId: 'other' });
  const c = tx();
  const r = await call('POST', '/txs', encodeCanonical([a.bytes, b.bytes, c.bytes, a.bytes]), 'application/msgpack');
  assert.is(r.status, 200, r.text);
  assert.is(r.json.accepted, 2);
  assert.is(r.json.rejected, 2);
  assert.equal(
    r.json.results.map((x: any) => [x.accepted, x.txid, x.code, x.status]),
    [
      [true, a.txidHex, undefined, undefined],
      [false, b.txidHex, 'wrong_chain', 422],
      [true, c.txidHex, undefined, undefined],
      [false, a.txidHex, 'duplicate', 409],
    ],
  );
  const d = tx();
  const j = await call('POST', '/txs', JSON.stringify({ txs: [txToJson(d)] }));
  assert.is(j.status, 200);
  assert.equal(j.json.results, [{ accepted: true, txid: d.txidHex }]);
});

test('POST /txs over maxBatch → 413 naming txs; empty batch → 200 with no results', async () => {
  const many = Array.from({ length: 17 }, () => tx().bytes);
  const r = await call('POST', '/txs', encodeCanonical(many), 'application/msgpack');
  assert.is(r.status, 413);
  assert.is(r.json.code, 'too_many_txs');
  assert.is(node.submitted.length, 0);
  const e = await call('POST', '/txs', JSON.stringify({ txs: [] }));
  assert.equal(e.json, { results: [], accepted: 0, rejected: 0 });
});

test('a declared oversize body is refused with 413 before it is read', async () => {
  const r = await call('POST', '/tx', new Uint8Array(5000), 'application/octet-stream');
  assert.is(r.status, 413);
  assert.is(r.json.code, 'body_too_large');
  assert.is(node.submitted.length, 0);
});

test('an oversize chunked body is cut off while streaming: 413 arrives before the client finishes', async () => {
  const { port } = srv;
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/txs', headers: { 'content-type': 'application/msgpack', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', (e) => (/ECONNRESET|EPIPE|socket hang up/.test(e.message) ? undefined : reject(e)));
    // Keep sending 1 KiB chunks: far more than the limit in total, but the server answers first.
    let sent = 0;
    const chunk = new Uint8Array(1024);
    const pump = (): void => {
      if (req.destroyed) return;
      if (sent > 32 * 1024 * 1024) return void req.end();
      sent += chunk.length;
      req.write(chunk, () => setImmediate(pump));
    };
    pump();
  });
  assert.is(status, 413);
  assert.is(srv.stats.rejected.body_too_large, 1);
  assert.is(node.submitted.length, 0);
});

test('unknown routes → 404 JSON; wrong methods → 405 JSON with Allow', async () => {
  const r = await call('GET', '/nope');
  assert.is(r.status, 404);
  assert.is(r.json.code, 'not_found');
  const m = await call('GET', '/tx');
  assert.is(m.status, 405);
  assert.is(m.headers.get('allow'), 'POST');
  assert.is(m.json.code, 'method_not_allowed');
  const m2 = await call('POST', '/health', '{}');
  assert.is(m2.status, 405);
  assert.is(m2.headers.get('allow'), 'GET');
  const m3 = await call('DELETE', '/block/1');
  assert.is(m3.status, 405);
  assert.is(srv.stats.rejected.not_found, 1);
  assert.is(srv.stats.rejected.method_not_allowed, 3);
});

test('a malformed URL (refused by h3 before routing) still gets a JSON 400 and is counted', async () => {
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: srv.port, path: '/receipt/%zz' }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.is(res.status, 400);
  assert.is(JSON.parse(res.body).code, 'bad_request');
  assert.is(srv.stats.rejected.bad_request, 1);
});

test('GET /health, /params, /evidence, /block/latest, /block/{h}', async () => {
  assert.equal((await call('GET', '/health')).json, node.health());
  assert.equal((await call('GET', '/params')).json, node.params());
  assert.equal((await call('GET', '/evidence')).json, node.evidence());
  node.submit(tx().bytes, 'x');
  node.commit();
  const latest = await call('GET', '/block/latest');
  assert.is(latest.json.height, 1);
  assert.is(latest.json.txids.length, 1);
  assert.is((await call('GET', '/block/0')).json.height, 0);
  const missing = await call('GET', '/block/5');
  assert.is(missing.status, 404);
  const bad = await call('GET', '/block/-1');
  assert.is(bad.status, 400);
  assert.is(bad.json.field, 'height');
  const badWait = await call('GET', '/block/5?wait=soon');
  assert.is(badWait.status, 400);
  assert.is(badWait.json.field, 'wait');
});

test('GET /block/{h}?receipts=rejected|none: the txids always, the receipts filtered; anything else → 400', async () => {
  const ok = tx();
  const expired = tx({ validUntil: 0 });
  node.submit(ok.bytes, 'x');
  node.submit(expired.bytes, 'x');
  const h = node.commit().height;
  const all = (await call('GET', `/block/${h}`)).json;
  assert.equal(all.txids, [ok.txidHex, expired.txidHex]);
  assert.equal(all.receipts.map((r: { status: string }) => r.status), ['applied', 'rejected']);
  const rejected = (await call('GET', `/block/${h}?receipts=rejected`)).json;
  assert.equal(rejected.txids, all.txids);
  assert.equal(rejected.receipts, [all.receipts[1]]);
  const none = (await call('GET', `/block/latest?receipts=none`)).json;
  assert.equal(none.txids, all.txids);
  assert.is(none.receipts, undefined);
  assert.equal({ ...none, receipts: all.receipts }, all);
  const bad = await call('GET', `/block/${h}?receipts=some`);
  assert.is(bad.status, 400);
  assert.is(bad.json.field, 'receipts');
  // The client asks for the same views.
  const client = new NumchainClient(srv.url);
  assert.equal(await client.block(h, { receipts: 'rejected', waitMs: 100 }), rejected);
  assert.equal(await client.block('latest', { receipts: 'none' }), none);
});

test('GET /block/{h}?wait resolves when the block commits, and 404s when the wait runs out', async () => {
  const pending = call('GET', '/block/1?wait=5000');
  await new Promise((r) => setTimeout(r, 30));
  node.commit();
  const r = await pending;
  assert.is(r.status, 200);
  assert.is(r.json.height, 1);
  const t = await call('GET', '/block/9?wait=20');
  assert.is(t.status, 404);
  assert.match(t.json.message, 'waited 20 ms');
});

test('GET /receipt/{txid}: 404 until committed, ?wait resolves, bad txid → 400', async () => {
  const t = tx();
  node.submit(t.bytes, 'x');
  assert.is((await call('GET', `/receipt/${t.txidHex}`)).status, 404);
  const waiting = call('GET', `/receipt/${t.txidHex}?wait=5000`);
  await new Promise((r) => setTimeout(r, 30));
  node.commit();
  const r = await waiting;
  assert.is(r.status, 200);
  assert.is(r.json.status, 'applied');
  assert.is(r.json.txid, t.txidHex);
  assert.is((await call('GET', `/receipt/${'ab'.repeat(32)}?wait=10`)).status, 404);
  const bad = await call('GET', '/receipt/XYZ');
  assert.is(bad.status, 400);
  assert.is(bad.json.field, 'txid');
});

test('POST /tx?wait returns the committed receipt (200) or 202 committed:false on timeout', async () => {
  const t = tx();
  const waiting = call('POST', '/tx?wait=5000', t.bytes, 'application/octet-stream');
  await new Promise((r) => setTimeout(r, 30));
  node.commit();
  const r = await waiting;
  assert.is(r.status, 200);
  assert.is(r.json.txid, t.txidHex);
  assert.is(r.json.status, 'applied');
  const u = tx();
  const late = await call('POST', '/tx?wait=20', u.bytes, 'application/octet-stream');
  assert.is(late.status, 202);
  assert.equal(late.json, { accepted: true, txid: u.txidHex, committed: false });
});

test('GET /state/{shard}/{layer}/{slot}: row + proof; bad coordinates → 400 naming the field', async () => {
  const r = await call('GET', '/state/1/0/2');
  assert.is(r.status, 200);
  assert.is(r.json.index, (1 * 2 + 0) * 4 + 2);
  assert.is(r.json.values.length, 4);
  assert.is(r.json.stateRoot, node.engine.rootHex());
  for (const [path, field] of [
    ['/state/2/0/0', 'shard'],
    ['/state/0/2/0', 'layer'],
    ['/state/0/0/4', 'slot'],
    ['/state/x/0/0', 'shard'],
    ['/state/0/0/-1', 'slot'],
  ]) {
    const b = await call('GET', path!);
    assert.is(b.status, 400, path);
    assert.is(b.json.field, field, path);
  }
  assert.is((await call('GET', '/state/0/0')).status, 404);
});

test('GET /metrics: the registry text with its content type', async () => {
  const r = await call('GET', '/metrics');
  assert.is(r.status, 200);
  assert.is(r.headers.get('content-type'), node.metricsContentType);
  assert.match(r.text, 'numchain_consensus_height 0');
});

test('a throwing node call becomes 500 JSON and a count; the server keeps serving', async () => {
  node.throwOnSubmit = true;
  const r = await call('POST', '/tx', tx().bytes, 'application/octet-stream');
  assert.is(r.status, 500);
  assert.is(r.json.code, 'internal_error');
  const orig = node.health;
  node.health = () => {
    throw new Error('health exploded');
  };
  const h = await call('GET', '/health');
  assert.is(h.status, 500);
  assert.is(h.json.code, 'internal_error');
  node.health = orig;
  assert.is((await call('GET', '/health')).status, 200);
  assert.is(srv.stats.rejected.internal_error, 2);
});

test('per-address rate limit: 429 with Retry-After once the bucket is empty', async () => {
  const n2 = new FakeNode();
  let t = 1_000_000;
  const s2 = await startRpcServer(n2, { rate: { perSecond: 1, burst: 3 }, now: () => t });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(s2.url + '/health')).status);
    assert.equal(statuses, [200, 200, 200, 429, 429]);
    const r = await fetch(s2.url + '/health');
    assert.is(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.is((await r.json()).code, 'rate_limited');
    t += 1000;
    assert.is((await fetch(s2.url + '/health')).status, 200);
    assert.is(s2.stats.rejected.rate_limited, 3);
  } finally {
    n2.stop();
    await s2.close();
  }
});

test('rejections are mirrored into the metrics registry, every reason from 0', async () => {
  const n2 = new FakeNode();
  const m = new NodeMetrics({ rejectReasons: [], messageTypes: [], defaultMetrics: false });
  const s2 = await startRpcServer(n2, { metrics: m });
  try {
    let text = await m.text();
    for (const r of RPC_REJECT_REASONS) assert.match(text, `numchain_rpc_requests_rejected_total{reason="${r}"} 0`);
    await fetch(s2.url + '/nope');
    text = await m.text();
    assert.match(text, 'numchain_rpc_requests_rejected_total{reason="not_found"} 1');
  } finally {
    n2.stop();
    await s2.close();
  }
});

test.run();
