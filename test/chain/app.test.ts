import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadEngine } from '../../src/host/node-loader.ts';
import type { MaParams } from '../../src/engine/types.ts';
import { verifyRowProof } from '../../src/engine/proof.ts';
import { AppError } from '../../src/consensus/app.ts';
import { ChainApp, type ChainParams, type CommitResult } from '../../src/chain/app.ts';
import { verifiedKey } from '../../src/chain/verified-cache.ts';
import { encodeSnapshot, decodeSnapshot } from '../../src/chain/snapshot.ts';
import { Mempool } from '../../src/chain/mempool.ts';
import { buildTx, type TxFields, type SignedTx } from '../../src/chain/tx.ts';
import { Verifier, keypairFromSeed } from '../../src/crypto/ed25519.ts';
import { createNodeCryptoVerifier } from '../../src/crypto/fast-verify-node.ts';
import { sha256, toHex, bytesEqual } from '../../src/crypto/sha256.ts';
import { encodeCanonical } from '../../src/codec/canonical.ts';

const MA: MaParams = { shards: 2, layers: 2, slots: 8, dim: 8, q: 1024, decay: 0.985, clip: 8 };
const CHAIN: ChainParams = { chainId: 'test-chain', txWindow: 20, maxTxsPerBlock: 16, maxBlockBytes: 64 * 1024, maxTxBytes: 512 };
const GENESIS = sha256(new TextEncoder().encode('genesis'));
const fast = createNodeCryptoVerifier();
const alice = keypairFromSeed(new Uint8Array(32).fill(11));
const bob = keypairFromSeed(new Uint8Array(32).fill(12));

async function newApp(opts: { mempool?: boolean; maxPendingBlocks?: number } = {}): Promise<ChainApp> {
  return new ChainApp({
    engine: await loadEngine(MA),
    chain: CHAIN,
    genesisHash: GENESIS,
    verifier: new Verifier({ fast }),
    mempool: opts.mempool === false ? null : new Mempool({ txWindow: CHAIN.txWindow, maxTxBytes: CHAIN.maxTxBytes }),
    maxPendingBlocks: opts.maxPendingBlocks,
  });
}

let nonce = 0;
function mk(op: TxFields['op'], key = alice.secretKey, extra: Partial<TxFields> = {}): SignedTx {
  return buildTx({ chainId: CHAIN.chainId, nonce: nonce++, validUntil: 10, op, ...extra }, key);
}
const add = (slot: number, base: number, key = alice.secretKey, extra: Partial<TxFields> = {}) =>
  mk({ op: 'add', shard: 1, layer: 0, slot, vec: Array.from({ length: 8 }, (_, i) => base * (i + 1)) }, key, extra);

/** A stand-in for the consensus block hash. */
function blockHash(parent: Uint8Array, height: number, id: string, round = 0): Uint8Array {
  return sha256(encodeCanonical(['test/block', parent, height, id, round]));
}

/** execute + attach on every app; asserts they agree and returns the block hash. */
function propose(apps: ChainApp[], parent: Uint8Array, height: number, txs: Uint8Array[], round = 0): Uint8Array {
  const results = apps.map((a) => a.execute(parent, height, txs));
  for (const r of results.slice(1)) {
    assert.is(r.id, results[0]!.id);
    assert.is(toHex(r.stateRoot), toHex(results[0]!.stateRoot));
    assert.is(toHex(r.txRoot), toHex(results[0]!.txRoot));
  }
  const h = blockHash(parent, height, results[0]!.id, round);
  for (const a of apps) a.attach(results[0]!.id, h);
  return h;
}

function commitAll(apps: ChainApp[], hash: Uint8Array): CommitResult {
  const rs = apps.map((a) => a.commit(hash));
  for (const r of rs.slice(1)) {
    assert.equal(r.receipts, rs[0]!.receipts);
    assert.is(toHex(r.stateRoot), toHex(rs[0]!.stateRoot));
  }
  return rs[0]!;
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return 'no error';
};

test('two nodes agree on roots and receipts, across forks and out-of-order execution', async () => {
  const [a, b] = [await newApp(), await newApp()];
  const t1 = add(0, 3), t2 = add(1, -2, bob.secretKey), t3 = mk({ op: 'mix', shard: 1, layer: 0, slot: 2, src: 0, alpha: 512 });
  const t4 = mk({ op: 'decay', shard: 1, layer: 0, slot: 0 });
  // Two children of genesis; a executes fork X first, b executes fork Y first.
  const rx = [a.execute(GENESIS, 1, [t1.bytes, t2.bytes]), b.execute(GENESIS, 1, [t4.bytes, t1.bytes])];
  const ry = [a.execute(GENESIS, 1, [t4.bytes, t1.bytes]), b.execute(GENESIS, 1, [t1.bytes, t2.bytes])];
  assert.is(toHex(rx[0]!.stateRoot), toHex(ry[1]!.stateRoot));
  assert.is(toHex(ry[0]!.stateRoot), toHex(rx[1]!.stateRoot));
  assert.not.equal(toHex(rx[0]!.stateRoot), toHex(ry[0]!.stateRoot));
  const X = blockHash(GENESIS, 1, rx[0]!.id), Y = blockHash(GENESIS, 1, ry[0]!.id);
  for (const app of [a, b]) {
    app.attach(rx[0]!.id, X);
    app.attach(ry[0]!.id, Y);
  }
  const X2 = propose([a, b], X, 2, [t3.bytes]);
  const Y2 = propose([a, b], Y, 2, [t3.bytes, t2.bytes]);
  // Commit the Y fork; X and its child are gone.
  const c1 = commitAll([a, b], Y);
  assert.equal(c1.receipts.map((r) => r.status), ['applied', 'applied']);
  assert.is(c1.height, 1);
  assert.is(codeOf(() => a.execute(X2, 3, [])), 'unknown_parent');
  assert.is(codeOf(() => a.execute(X, 2, [])), 'unknown_parent');
  const c2 = commitAll([a, b], Y2);
  assert.equal(c2.receipts.map((r) => r.status), ['applied', 'applied']);
  assert.is(toHex(a.stateRoot), toHex(c2.stateRoot));
  assert.is(a.height, 2);
  assert.is(a.stats().pendingBlocks, 0);
});

test('receipts: applied ones carry the row and its new leaf (matching a row proof); rejected ones the reason and field', async () => {
  const [a, b] = [await newApp(), await newApp()];
  const good = add(3, 5);
  const badSig = new Uint8Array(add(4, 1).bytes);
  badSig[badSig.length - 1] ^= 1;
  const otherChain = buildTx({ chainId: 'other', nonce: 1, validUntil: 10, op: { op: 'clip', shard: 0, layer: 0, slot: 0, bound: 1 } }, alice.secretKey);
  const expired = add(5, 1, alice.secretKey, { validUntil: 0 });
  const farAhead = add(5, 1, alice.secretKey, { validUntil: 1 + CHAIN.txWindow + 1 });
  const outOfRange = buildTx({ chainId: CHAIN.chainId, nonce: 99, validUntil: 5, op: { op: 'clip', shard: 2, layer: 0, slot: 0, bound: 1 } }, alice.secretKey);
  const garbage = new Uint8Array([1, 2, 3]);
  const txs = [good.bytes, good.bytes, badSig, otherChain.bytes, expired.bytes, farAhead.bytes, outOfRange.bytes, garbage];
  const h = propose([a, b], GENESIS, 1, txs);
  const { receipts } = commitAll([a, b], h);
  const brief = receipts.map((r) => (r.status === 'applied' ? 'applied' : `${r.reason}/${r.field}`));
  assert.equal(brief, ['applied', 'duplicate/txid', 'bad_signature/signature', 'wrong_chain/chainId', 'expired/validUntil', 'too_far_ahead/validUntil', 'bad_shard/shard', 'malformed/tx']);
  assert.equal(receipts.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.is(receipts[0]!.txid, good.txidHex);
  assert.is(receipts[7]!.txid, null);
  const r0 = receipts[0]!;
  assert.ok(r0.status === 'applied');
  if (r0.status !== 'applied') return;
  assert.is(r0.row, (1 * 2 + 0) * 8 + 3);
  const proof = a.proof({ shard: 1, layer: 0, slot: 3 });
  assert.ok(verifyRowProof(proof, a.stateRoot));
  assert.equal(Array.from(proof.values), [5, 10, 15, 20, 25, 30, 35, 40]);
  assert.is(r0.leaf, a.withCommittedState((e) => toHex(e.leafHash(r0.row))));
});

test('replay: a committed tx never applies again — not in a later block, not after the dedup cache forgets, not in a speculative child', async () => {
  const [a, b] = [await newApp(), await newApp()];
  const t = add(6, 7);
  assert.equal(a.admit(t.bytes, 'client', 0), { ok: true, txid: t.txidHex });
  const sel = a.selectTxs(GENESIS, 1, 10, 1e6);
  assert.equal(sel.map(toHex), [toHex(t.bytes)]);
  const h1 = propose([a, b], GENESIS, 1, sel);
  // While h1 is uncommitted, the leader must not pick t again on top of it, and a child including it is refused.
  assert.equal(a.selectTxs(h1, 2, 10, 1e6), []);
  const h2 = propose([a, b], h1, 2, [t.bytes]);
  commitAll([a, b], h1);
  const c2 = commitAll([a, b], h2);
  assert.equal(c2.receipts.map((r) => (r.status === 'rejected' ? r.reason : r.status)), ['replayed']);
  // The mempool forgets; the replay index still refuses.
  a.mempool!.clearSeen();
  assert.ok(!a.mempool!.hasSeen(t.txidHex));
  const again = a.admit(t.bytes, 'client', 0);
  assert.is(again.ok ? 'ok' : again.code, 'replayed');
  const h3 = propose([a, b], h2, 3, [t.bytes]);
  assert.equal(commitAll([a, b], h3).receipts.map((r) => (r.status === 'rejected' ? r.reason : r.status)), ['replayed']);
  // Once its window has passed, the window check refuses it (and the index may forget it).
  let parent = h3;
  for (let h = 4; h <= 11; h++) {
    parent = propose([a, b], parent, h, []);
    commitAll([a, b], parent);
  }
  assert.not.ok(a.replay.has(t.txidHex));
  const late = propose([a, b], parent, 12, [t.bytes]);
  assert.equal(commitAll([a, b], late).receipts.map((r) => (r.status === 'rejected' ? r.reason : r.status)), ['expired']);
  const lateAdmit = a.admit(t.bytes, 'client', 0);
  assert.is(lateAdmit.ok ? 'ok' : lateAdmit.code, 'expired');
});

test('a tx in a losing fork can still apply on the winning fork', async () => {
  const [a, b] = [await newApp(), await newApp()];
  const t = add(1, 1);
  const X = propose([a, b], GENESIS, 1, [t.bytes], 0);
  const Y = propose([a, b], GENESIS, 1, [], 1);
  commitAll([a, b], Y);
  const Z = propose([a, b], Y, 2, [t.bytes]);
  assert.equal(commitAll([a, b], Z).receipts.map((r) => r.status), ['applied']);
  assert.is(codeOf(() => a.commit(X)), 'unknown_execution');
});

test('admission: typed refusals, dedup, signature budget', async () => {
  const app = new ChainApp({
    engine: await loadEngine(MA),
    chain: CHAIN,
    genesisHash: GENESIS,
    verifier: new Verifier({ fast: null, perClient: { perSecond: 0, burst: 2 } }),
    mempool: new Mempool({ txWindow: CHAIN.txWindow }),
  });
  const t = add(0, 1);
  const code = (r: ReturnType<ChainApp['admit']>) => (r.ok ? 'ok' : `${r.code}/${r.field}`);
  assert.is(code(app.admit(t.bytes, 'c1', 0)), 'ok');
  assert.is(code(app.admit(t.bytes, 'c1', 0)), 'duplicate/txid');
  assert.is(code(app.admit(new Uint8Array([0x92, 1]), 'c1', 0)), 'malformed/tx');
  const bad = new Uint8Array(add(0, 2).bytes);
  bad[bad.length - 1] ^= 1;
  assert.is(code(app.admit(bad, 'c1', 0)), 'bad_signature/signature');
  assert.is(code(app.admit(bad, 'c1', 0)), 'busy/signature'); // budget of 2 slow verifications spent
  assert.is(code(app.admit(bad, 'c2', 0)), 'bad_signature/signature');
  const wrong = buildTx({ chainId: 'other', nonce: 1, validUntil: 5, op: { op: 'clip', shard: 0, layer: 0, slot: 0, bound: 1 } }, alice.secretKey);
  assert.is(code(app.admit(wrong.bytes, 'c2', 0)), 'wrong_chain/chainId');
  assert.is(code(app.admit(add(0, 3, alice.secretKey, { validUntil: 100 }).bytes, 'c2', 0)), 'too_far_ahead/validUntil');
  const s = app.stats();
  assert.is(s.admitted, 1);
  assert.equal(s.admitRejected, { duplicate: 1, malformed: 1, bad_signature: 2, busy: 1, wrong_chain: 1, too_far_ahead: 1 });
  assert.is(app.verifier.counters.busy, 1);
  // A tx admitted (and verified) once is not verified again at execution.
  const before = app.verifier.counters.slowAccepted;
  app.execute(GENESIS, 1, [t.bytes]);
  assert.is(app.verifier.counters.slowAccepted, before);
  assert.is(app.stats().verifiedCacheHits, 1);
});

test('verified cache: a transaction with the same cache key but other bytes is verified, never served from the cache', async () => {
  const app = new ChainApp({
    engine: await loadEngine(MA),
    chain: CHAIN,
    genesisHash: GENESIS,
    verifier: new Verifier({ fast: null }),
    mempool: new Mempool({ txWindow: CHAIN.txWindow }),
  });
  const t = add(0, 1);
  assert.ok(app.admit(t.bytes, 'c1', 0).ok);
  const forged = new Uint8Array(t.bytes);
  forged[forged.length - 1] ^= 0x01; // the top byte of S: outside the key
  assert.is(verifiedKey(forged), verifiedKey(t.bytes));
  assert.ok(app.verified.has(t.bytes));
  assert.not.ok(app.verified.has(forged));
  const h1 = propose([app], GENESIS, 1, [forged]);
  assert.equal(commitAll([app], h1).receipts.map((x) => (x.status === 'rejected' ? x.reason : x.status)), ['bad_signature']);
  const hits = app.stats().verifiedCacheHits;
  assert.equal(commitAll([app], propose([app], h1, 2, [t.bytes])).receipts.map((x) => x.status), ['applied']);
  assert.is(app.stats().verifiedCacheHits, hits + 1);
});

test('snapshot export → bytes → import gives a node that continues identically', async () => {
  const [a, b] = [await newApp(), await newApp()];
  const t = add(2, 9);
  const h1 = propose([a, b], GENESIS, 1, [t.bytes, add(3, 1, bob.secretKey).bytes]);
  commitAll([a, b], h1);
  const bytes = encodeSnapshot(a.exportState());
  assert.ok(bytes.length <= a.snapshotMaxBytes());
  const snap = decodeSnapshot(bytes, a.snapshotMaxBytes());
  const c = await newApp();
  c.importState(snap);
  assert.is(c.height, 1);
  assert.ok(bytesEqual(c.committedHash, h1));
  assert.is(toHex(c.stateRoot), toHex(a.stateRoot));
  // c remembers the replay index: t is refused, and the next block matches a and b.
  const t2 = add(4, 4);
  const h2 = propose([a, b, c], h1, 2, [t.bytes, t2.bytes]);
  const r = commitAll([a, b, c], h2);
  assert.equal(r.receipts.map((x) => x.status), ['rejected', 'applied']);
  // A tampered snapshot is refused and leaves the node as it was.
  const d = await newApp();
  const tampered = { ...snap, tensor: snap.tensor.slice() };
  tampered.tensor[0] ^= 1;
  assert.throws(() => d.importState(tampered), (e: unknown) => (e as { code?: string }).code === 'bad_snapshot');
  assert.is(d.height, 0);
  assert.throws(() => decodeSnapshot(bytes.subarray(0, 40), 1 << 20), (e: unknown) => (e as { code?: string }).code === 'bad_snapshot');
});

test('boundary errors: unknown parent, wrong height, oversized block, unknown execution, re-commit', async () => {
  const a = await newApp();
  const other = sha256(new Uint8Array([1]));
  assert.is(codeOf(() => a.execute(other, 1, [])), 'unknown_parent');
  assert.is(codeOf(() => a.selectTxs(other, 1, 1, 1)), 'unknown_parent');
  assert.is(codeOf(() => a.execute(GENESIS, 2, [])), 'bad_block');
  assert.is(codeOf(() => a.execute(GENESIS, 1, Array.from({ length: 17 }, () => new Uint8Array(1)))), 'limit');
  assert.is(codeOf(() => a.attach('nope', other)), 'unknown_execution');
  const h = propose([a], GENESIS, 1, []);
  a.commit(h);
  assert.is(codeOf(() => a.commit(h)), 'unknown_execution');
  // same txs on the same parent → same execution id (reused, not re-executed)
  const r1 = a.execute(h, 2, []);
  const r2 = a.execute(h, 2, []);
  assert.is(r1.id, r2.id);
  assert.is(a.stats().executionsReused, 1);
});

test('pending blocks are bounded: forks are evicted first; the chain being extended is never evicted', async () => {
  const a = await newApp({ maxPendingBlocks: 3 });
  const fork1 = propose([a], GENESIS, 1, [], 1);
  const fork2 = propose([a], GENESIS, 1, [], 2);
  const b1 = propose([a], GENESIS, 1, [], 3);
  const b2 = propose([a], b1, 2, []); // evicts fork1 (oldest non-ancestor)
  const b3 = propose([a], b2, 3, []); // evicts fork2
  assert.is(a.stats().pendingBlocks, 3);
  assert.is(a.stats().blocksEvicted, 2);
  assert.is(codeOf(() => a.execute(fork1, 2, [])), 'unknown_parent');
  assert.is(codeOf(() => a.execute(fork2, 2, [])), 'unknown_parent');
  // Everything pending is an ancestor of the next block: refuse it rather than break the chain.
  const r = a.execute(b3, 4, []);
  assert.is(codeOf(() => a.attach(r.id, blockHash(b3, 4, r.id))), 'limit');
  assert.is(a.stats().pendingBlocks, 3);
  for (const h of [b1, b2, b3]) a.commit(h);
  assert.is(a.height, 3);
  propose([a], b3, 4, []);
});

test.run();
