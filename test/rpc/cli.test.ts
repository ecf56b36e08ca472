// The tx, poll and flood commands as a user runs them (child processes of bin/numchain.js) against
// the real RPC server in front of a fake node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/crypto/sha256.ts';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.ts';
import { testClientKey } from '../../src/rpc/test-keys.ts';
import { FakeNode } from './fake-node.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'numchain.js');
let node: FakeNode;
let srv: RpcServer;
const dir = mkdtempSync(join(tmpdir(), 'numchain-cli-'));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

test.before.each(async () => {
  node = new FakeNode({ autoCommitMs: 20 });
  srv = await startRpcServer(node);
});

test.after.each(async () => {
  node.stop();
  await srv.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('tx --help and usage errors', async () => {
  const [h, u, v] = await Promise.all([
    run(['tx', '--help']),
    run(['tx', '--seed', '1', '--op', 'add']),
    run(['tx', '--rpc', srv.url, '--seed', '1', '--op', 'add', '--shard', '0', '--layer', '0', '--slot', '0', '--vec', '1,2,3']),
  ]);
  assert.is(h.code, 0);
  assert.match(h.out, 'usage: numchain tx');
  assert.is(u.code, 2);
  assert.match(u.err, '--rpc');
  assert.is(v.code, 2);
  assert.match(v.err, 'vec');
});

test('tx applies an op and prints the receipt; the row changed', async () => {
  const r = await run(['tx', '--rpc', srv.url, '--seed', '3', '--op', 'add', '--shard', '1', '--layer', '0', '--slot', '2', '--fill', '5']);
  assert.is(r.code, 0, r.err);
  const receipt = JSON.parse(r.out);
  assert.is(receipt.status, 'applied');
  assert.equal(Array.from(node.engine.readRow({ shard: 1, layer: 0, slot: 2 })), [5, 5, 5, 5]);
});

test('tx with a key file; a key file whose publicKey does not match is refused', async () => {
  const k = testClientKey(42);
  const good = join(dir, 'key.json');
  const bad = join(dir, 'bad-key.json');
  writeFileSync(good, JSON.stringify({ index: 0, publicKey: toHex(k.publicKey), secretKey: toHex(k.secretKey) }));
  writeFileSync(bad, JSON.stringify({ publicKey: toHex(testClientKey(1).publicKey), secretKey: toHex(k.secretKey) }));
  const args = ['--op', 'clip', '--shard', '0', '--layer', '0', '--slot', '0', '--bound', '3'];
  const [r, b] = await Promise.all([run(['tx', '--rpc', srv.url, '--key', good, ...args]), run(['tx', '--rpc', srv.url, '--key', bad, ...args])]);
  assert.is(r.code, 0, r.err);
  assert.is(node.submitted.length, 1);
  // Signed by the key in the file: its public key is the sender inside the wire bytes.
  assert.ok(Buffer.from(node.submitted[0]!.tx as Uint8Array).includes(Buffer.from(k.publicKey)));
  assert.is(b.code, 1);
  assert.match(b.err, 'publicKey');
});

test('tx exits 1 when refused at admission or rejected by execution, 3 when not committed in time', async () => {
  // One node per case, so the three runs can go in parallel.
  const refusing = new FakeNode({ autoCommitMs: 20 });
  refusing.refuseWith = { code: 'mempool_full', field: '', message: 'full', status: 503 };
  const rejecting = new FakeNode({ autoCommitMs: 20 });
  rejecting.execRejectWith = 'replayed';
  const stalled = new FakeNode();
  const servers = await Promise.all([refusing, rejecting, stalled].map((n) => startRpcServer(n)));
  try {
    const [a, b, c] = await Promise.all([
      run(['tx', '--rpc', servers[0]!.url, '--seed', '1', '--op', 'decay', '--shard', '0', '--layer', '0', '--slot', '0']),
      run(['tx', '--rpc', servers[1]!.url, '--seed', '1', '--op', 'decay', '--shard', '0', '--layer', '0', '--slot', '0', '--factor', '3']),
      run(['tx', '--rpc', servers[2]!.url, '--seed', '1', '--op', 'mix', '--shard', '0', '--layer', '0', '--slot', '0', '--src', '1', '--alpha', '5', '--wait', '100']),
    ]);
    assert.is(a.code, 1);
    assert.is(JSON.parse(a.out).code, 'mempool_full');
    assert.match(a.err, 'HTTP 503');
    assert.is(b.code, 1);
    assert.is(JSON.parse(b.out).reason, 'replayed');
    assert.is(c.code, 3);
    assert.is(JSON.parse(c.out).committed, false);
  } finally {
    for (const n of [refusing, rejecting, stalled]) n.stop();
    await Promise.all(servers.map((x) => x.close()));
  }
});

test('poll prints one line per round and stops after --count; a down node fails the run', async () => {
  const [r, j] = await Promise.all([
    run(['poll', '--rpc', `${srv.url},${srv.url}`, '--interval', '50', '--count', '2']),
    run(['poll', '--rpc', `${srv.url},http://127.0.0.1:1`, '--interval', '20', '--count', '1', '--json', '--timeout', '1000']),
  ]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 2);
  assert.match(lines[0]!, /n0 h=0 root=[0-9a-f]{8} last=genesis peers=3 \| n0 h=0/);
  assert.is(j.code, 1);
  const o = JSON.parse(j.out);
  assert.is(o.nodes[0].height, 0);
  assert.is(o.nodes[0].peers, 3);
  assert.ok(typeof o.nodes[1].error === 'string');
});

test('flood sends at a rate for a bounded time and reports commits and latency', async () => {
  // Count the POSTs: at a fixed rate the flood fills batches instead of sending what one tick made due.
  let posts = 0;
  Object.assign(node, {
    submitBatch: async (txs: unknown[], key: string) => {
      posts++;
      return txs.map((tx) => node.submit(tx, key));
    },
  });
  const r = await run(['flood', '--rpc', srv.url, '--senders', '4', '--rate', '200', '--duration', '0.5', '--batch', '10', '--drain', '3', '--json']);
  assert.is(r.code, 0, r.err);
  const s = JSON.parse(r.out.trim().split('\n').at(-1)!);
  assert.is(s.sent, 100);
  assert.is(s.accepted, 100);
  assert.is(s.committed, 100);
  assert.is(s.uncommitted, 0);
  assert.is(s.rejectedTotal, 0);
  assert.is(s.latencyMs.n, 100);
  assert.ok(s.latencyMs.p50 <= s.latencyMs.max);
  // Every sender key was used, and every tx reached the node as wire bytes.
  assert.is(node.submitted.length, 100);
  assert.ok(posts >= 10 && posts <= 20, `100 transactions in batches of 10 took ${posts} requests`);
  assert.is(new Set(node.submitted.map((x) => toHex((x.tx as Uint8Array).subarray(0, 80)))).size > 1, true);
});

test.run();
