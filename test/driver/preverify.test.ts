// A block whose transactions arrive before their gossip: their signatures are checked once, on the
// worker pool, before execution; a verification already in flight is awaited, not repeated; a bad
// signature is not remembered, so execution still rejects it (ZIP-215 decides, as always).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChainApp, type ChainParams } from '../../src/chain/app.ts';
import { Mempool } from '../../src/chain/mempool.ts';
import { buildTx, type SignedTx } from '../../src/chain/tx.ts';
import { Verifier, keypairFromSeed } from '../../src/crypto/ed25519.ts';
import { createNodeCryptoVerifier } from '../../src/crypto/fast-verify-node.ts';
import { sha256 } from '../../src/crypto/sha256.ts';
import { VerifyPool } from '../../src/host/verify-pool.ts';
import { loadEngine } from '../../src/host/node-loader.ts';
import type { MaParams } from '../../src/engine/types.ts';
import { InflightVerifications, preverifyTxs } from '../../src/driver/preverify.ts';

const MA: MaParams = { shards: 2, layers: 2, slots: 8, dim: 8, q: 1024, decay: 0.985, clip: 8 };
const CHAIN: ChainParams = { chainId: 'test-chain', txWindow: 20, maxTxsPerBlock: 64, maxBlockBytes: 64 * 1024, maxTxBytes: 512 };
const GENESIS = sha256(new TextEncoder().encode('genesis'));
const alice = keypairFromSeed(new Uint8Array(32).fill(11));

async function newApp(): Promise<ChainApp> {
  return new ChainApp({
    engine: await loadEngine(MA),
    chain: CHAIN,
    genesisHash: GENESIS,
    verifier: new Verifier({ fast: createNodeCryptoVerifier() }),
    mempool: new Mempool({ txWindow: CHAIN.txWindow, maxTxBytes: CHAIN.maxTxBytes }),
  });
}

let nonce = 0;
const tx = (slot: number): SignedTx =>
  buildTx({ chainId: CHAIN.chainId, nonce: nonce++, validUntil: 10, op: { op: 'add', shard: 0, layer: 1, slot, vec: [1, 2, 3, 4, 5, 6, 7, 8] } }, alice.secretKey);

function tampered(t: SignedTx): Uint8Array {
  const b = t.bytes.slice();
  b[b.length - 5] ^= 1; // inside the signature, the last field of the envelope
  return b;
}

test('a block carrying unseen transactions: verified on the pool once, then executed from the cache', async () => {
  const app = await newApp();
  const pool = new VerifyPool(2);
  try {
    const txs = Array.from({ length: 10 }, (_, i) => tx(i % 8));
    const bad = tampered(tx(3));
    const block = [...txs.map((t) => t.bytes), bad];
    const r = await preverifyTxs(app, pool, new InflightVerifications(), block);
    assert.equal(r, { verified: 11, awaited: 0 });
    for (const t of txs) assert.ok(app.verified.has(t.bytes));
    assert.not.ok(app.verified.has(bad), 'a signature the pool did not accept is not remembered');

    // Verified already: a second look sends nothing to the pool.
    assert.equal(await preverifyTxs(app, pool, new InflightVerifications(), block), { verified: 1, awaited: 0 });

    app.execute(GENESIS, 1, block);
    const s = app.stats();
    assert.is(s.verifiedCacheHits, 10, 'the good ones come from the cache');
    assert.is(s.executionVerified, 1, 'the bad one is checked (and refused) by ZIP-215 during execution');
  } finally {
    await pool.close();
  }
});

test('a verification already in flight (the tx\'s gossip) is awaited, not repeated', async () => {
  const app = await newApp();
  const pool = new VerifyPool(1);
  const inflight = new InflightVerifications();
  try {
    const t = tx(5);
    let release!: () => void;
    const gossip = new Promise<void>((r) => (release = r));
    inflight.track([t], gossip);
    let done = false;
    const pre = preverifyTxs(app, pool, inflight, [t.bytes]).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(done, 'waits for the gossip batch');
    app.verified.remember(t); // what the gossip path does with a pool "true"
    release();
    assert.equal(await pre, { verified: 0, awaited: 1 });
    assert.ok(app.verified.has(t.bytes));
    await new Promise((r) => setTimeout(r, 0));
    assert.is(inflight.size, 0, 'a settled batch leaves the in-flight map');
  } finally {
    await pool.close();
  }
});

test('admission of a tx already verified from a block does not verify it again', async () => {
  const app = await newApp();
  const t = tx(2);
  app.verified.remember(t);
  assert.not.ok(app.admission.needsSignatureCheck(t, 0), 'nothing to send to the pool');
  const before = app.verifier.counters;
  const snapshot = JSON.stringify(before);
  const r = app.admission.admitDecoded(t, 'peer:1', 0, 0);
  assert.ok(r.ok);
  assert.is(JSON.stringify(app.verifier.counters), snapshot, 'no verification counted');
});

test('hasBacklog: a full block beyond what the uncommitted ancestors carry', async () => {
  const app = await newApp();
  const txs = Array.from({ length: 6 }, (_, i) => tx(i));
  for (const t of txs) assert.ok(app.admission.admitDecoded(t, 'c', 0, 0).ok);
  assert.ok(app.hasBacklog(GENESIS, 6));
  assert.not.ok(app.hasBacklog(GENESIS, 7));
  // A pending block carrying 4 of them leaves 2 for its child.
  const r = app.execute(GENESIS, 1, txs.slice(0, 4).map((t) => t.bytes));
  const h1 = sha256(new TextEncoder().encode('block 1'));
  app.attach(r.id, h1);
  assert.ok(app.hasBacklog(h1, 2));
  assert.not.ok(app.hasBacklog(h1, 3));
});

test.run();
