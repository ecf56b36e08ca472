// The light verifier (src/light/) in Node, on a chain certified in-process: it replays from genesis
// and from a snapshot to the same roots as the chain, and it catches every forgery a node could
// serve: a changed transaction, header, QC signature, QC signer set, receipt, snapshot tensor or root,
// row proof, or engine. The same code runs in the dashboard (test/ui checks it in real browsers).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { decodeCanonical, encodeCanonical } from '../../src/codec/canonical.ts';
import { blockFromCanon, blockToCanon, encodeBlock, makeBlock, qcFromCanon, qcToCanon } from '../../src/consensus/block.ts';
import { verifyZip215 } from '../../src/crypto/ed25519.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/chain/snapshot.ts';
import { loadEngine } from '../../src/host/node-loader.ts';
import { rowLeafHash } from '../../src/engine/proof.ts';
import { Forgery, LightClient, type ForgeryKind } from '../../src/light/light-client.ts';
import { canonicalScalar, webCryptoFastPath } from '../../src/light/webcrypto-ed25519.ts';
import type { RawBlockJson, SnapshotJson, StateJson } from '../../src/rpc/api.ts';
import { fromBase64, toBase64 } from '../../src/util/base64.ts';
import { syntheticChain, type SyntheticChain } from '../helpers/synthetic-chain.ts';

let chain: SyntheticChain;

test.before(async () => {
  chain = await syntheticChain({ blocks: 12, txsPerBlock: 20, snapshotsAt: [6] });
});

async function client(fast = false): Promise<LightClient> {
  return LightClient.create(chain.genesis, chain.wasm, { fast: fast ? await webCryptoFastPath() : null });
}

async function replay(c: LightClient, records: readonly RawBlockJson[]): Promise<void> {
  for (const r of records) await c.applyBlock(r);
}

async function forged(kind: ForgeryKind, p: Promise<unknown>, match?: RegExp): Promise<Forgery> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, Forgery, String(e));
    const f = e as Forgery;
    assert.is(f.kind, kind, f.message);
    if (match) assert.match(f.message, match);
    return f;
  }
  return assert.unreachable(`expected a ${kind} forgery, nothing was thrown`) as never;
}

/** Edit the canonical block of a record and re-encode it (hash not recomputed: blockFromCanon does that). */
function editBlock(r: RawBlockJson, edit: (canon: any[]) => void): RawBlockJson {
  const canon = decodeCanonical(fromBase64(r.block), 4 << 20) as any[];
  const copy = JSON.parse(JSON.stringify(canon, (_k, v) => (v instanceof Uint8Array ? { $b: toHex(v) } : v)), (_k, v) => (v && typeof v === 'object' && '$b' in v ? fromHex(v.$b) : v));
  edit(copy);
  return { ...r, block: toBase64(encodeCanonical(copy)) };
}

function editQc(r: RawBlockJson, edit: (qc: { round: number; height: number; blockHash: Uint8Array; signers: number[]; sigs: Uint8Array[] }) => void): RawBlockJson {
  const qc = qcFromCanon(decodeCanonical(fromBase64(r.qc)), 'qc');
  const m = { ...qc, signers: [...qc.signers], sigs: qc.sigs.map((s) => s.slice()) };
  edit(m);
  return { ...r, qc: toBase64(encodeCanonical(qcToCanon(m))) };
}

test('replays from genesis to the chain’s state root at every height, checking every QC', async () => {
  const c = await client();
  for (const r of chain.records) {
    const a = await c.applyBlock(r);
    assert.is(toHex(a.stateRoot), chain.roots[r.height]);
  }
  assert.is(c.tip.height, 12);
  assert.is(toHex(c.tip.stateRoot), chain.roots[12]);
  assert.is(c.stats.qcs, 12);
  assert.is(c.stats.txs, 240);
  assert.is(c.stats.sigsFast, 0);
  assert.is(c.stats.sigsZip215, 12 * 3 + 240, 'every vote and transaction signature was checked by ZIP-215');
  assert.ok(c.activity.every((v) => v.lastVote >= 11), 'every validator voted recently');
  assert.ok(c.activity.every((v) => v.lastProposal >= 9));
});

test('with the Web Crypto fast path: same roots, the signatures accepted by Web Crypto', async () => {
  const fast = await webCryptoFastPath();
  assert.ok(fast, 'Node has Ed25519 in Web Crypto');
  const c = await client(true);
  await replay(c, chain.records);
  assert.is(toHex(c.tip.stateRoot), chain.roots[12]);
  assert.is(c.stats.sigsFast, 12 * 3 + 240);
  assert.is(c.stats.sigsZip215, 0);
});

test('starts from a certified snapshot and replays the blocks after it', async () => {
  const c = await client();
  await c.loadSnapshot(chain.snapshots.get(6)!);
  assert.is(c.tip.height, 6);
  assert.is(c.stats.start, 6);
  await replay(c, chain.records.slice(6));
  assert.is(toHex(c.tip.stateRoot), chain.roots[12]);
});

test('forged transaction bytes: the certified header commits to other transactions', async () => {
  const c = await client();
  await replay(c, chain.records.slice(0, 2));
  const bad = editBlock(chain.records[2]!, (b) => {
    b[1][0][30] ^= 1;
  });
  await forged('transactions', c.applyBlock(bad), /hash to .* but the certified header commits to/);
  assert.is(c.tip.height, 2, 'nothing changed');
  await c.applyBlock(chain.records[2]!);
  assert.is(c.tip.height, 3, 'the genuine block still applies');
});

test('forged header (another state root): its hash is not what the QC certifies', async () => {
  const c = await client();
  const bad = editBlock(chain.records[0]!, (b) => {
    b[0][8][0] ^= 1;
  });
  await forged('block', c.applyBlock(bad), /the QC certifies block .* hashes to/);
});

test('forged QC: a flipped signature, too few signers, or a QC of another round', async () => {
  const c = await client();
  await forged('qc', c.applyBlock(editQc(chain.records[0]!, (q) => (q.sigs[1]![5] ^= 1))), /invalid vote signature of validator/);
  await forged('qc', c.applyBlock(editQc(chain.records[0]!, (q) => {
    q.signers.pop();
    q.sigs.pop();
  })), /quorum/);
  await forged('qc', c.applyBlock(editQc(chain.records[0]!, (q) => (q.round = 7))), /round 7/);
  const cf = await client(true);
  await forged('qc', cf.applyBlock(editQc(chain.records[0]!, (q) => (q.sigs[0]![40] ^= 1))), /invalid vote signature/);
});

test('a certified block that does not extend the replayed chain is refused', async () => {
  const c = await client();
  await c.applyBlock(chain.records[0]!);
  await forged('malformed', c.applyBlock(chain.records[2]!), /asked for block 2, got block 3/);
  await forged('block', c.applyBlock({ ...chain.records[2]!, height: 2 }), /got a block of height 3/);
});

test('forged receipts: not what executing the block gives', async () => {
  const c = await client();
  const r = chain.records[0]!;
  const receipts = r.receipts.map((x, i) => (i === 3 ? { ...x, status: x.status === 'applied' ? 'rejected' : 'applied' } : x));
  await forged('receipts', c.applyBlock({ ...r, receipts: receipts as typeof r.receipts }), /receipt 3/);
});

test('forged snapshot: a changed tensor, or a changed tensor with its own root', async () => {
  const s = chain.snapshots.get(6)!;
  const snap = decodeSnapshot(fromBase64(s.chain), 64 << 20);
  const tensor = snap.tensor.slice();
  tensor[100] ^= 1;
  const badTensor: SnapshotJson = { ...s, chain: toBase64(encodeSnapshot({ ...snap, tensor })) };
  await forged('snapshot', (await client()).loadSnapshot(badTensor), /does not hash to the certified state root/);
  // A self-consistent forgery: the tensor's real root, which the certified block does not carry.
  const e = await loadEngine(chain.genesis.ma);
  e.importSnapshot(snap.tensor, snap.stateRoot);
  const row = e.readRow({ shard: 0, layer: 0, slot: 0 });
  e.apply({ op: 'add', shard: 0, layer: 0, slot: 0, vec: Array.from(row, () => 1) });
  const x = e.exportSnapshot();
  const selfConsistent: SnapshotJson = { ...s, chain: toBase64(encodeSnapshot({ ...snap, tensor: x.tensor, stateRoot: x.root })) };
  await forged('snapshot', (await client()).loadSnapshot(selfConsistent), /claims state root .* but the certified block at 6 has/);
  // A tip whose QC does not verify.
  const t = decodeCanonical(fromBase64(s.tip), 4 << 20) as any[];
  const qc = qcFromCanon(t[1], 'qc');
  const badQc = { ...qc, sigs: qc.sigs.map((g, i) => (i === 0 ? g.map((b, k) => (k === 3 ? b ^ 1 : b)) : g)) };
  const badTip: SnapshotJson = { ...s, tip: toBase64(encodeCanonical([t[0], qcToCanon(badQc)])) };
  await forged('qc', (await client()).loadSnapshot(badTip));
});

test('row proofs: checked against the certified root and the replayed row; forged ones caught', async () => {
  const c = await client();
  await replay(c, chain.records.slice(0, 5));
  const e = await loadEngine(chain.genesis.ma);
  e.importSnapshot(decodeSnapshot(fromBase64(chain.snapshots.get(6)!.chain), 64 << 20).tensor, fromHex(chain.roots[6]!));
  // A genuine proof at height 6 (ahead of the client): settled once the replay gets there.
  const t = { shard: 1, layer: 2, slot: 3 };
  const p = e.proof(t);
  const state: StateJson = { height: 6, stateRoot: chain.roots[6]!, ...t, index: p.index, rows: p.rows, values: Array.from(p.values), path: p.path.map(toHex) };
  const pending = c.checkProof(state);
  await c.applyBlock(chain.records[5]!);
  const ok = await pending;
  assert.equal(ok, { height: 6, index: p.index, comparedWithReplay: true });
  // One value changed: the proof no longer leads to its root.
  await forged('proof', c.checkProof({ ...state, values: state.values.map((v, i) => (i === 0 ? v + 1 : v)) }), /does not lead to the root/);
  // Changed value and a root recomputed to match: self-consistent, but not the certified root.
  const values = Int32Array.from(state.values, (v, i) => (i === 0 ? v + 1 : v));
  let h = rowLeafHash(values);
  let idx = p.index;
  let len = p.rows;
  let used = 0;
  const { merkleNodeHash } = await import('../../src/crypto/merkle.ts');
  while (len > 1) {
    if ((idx ^ 1) < len) {
      const sib = p.path[used++]!;
      h = idx & 1 ? merkleNodeHash(sib, h) : merkleNodeHash(h, sib);
    }
    idx >>= 1;
    len = (len + 1) >> 1;
  }
  await forged('proof', c.checkProof({ ...state, values: Array.from(values), stateRoot: toHex(h) }), /but the certified state root at 6 is/);
});

test('an engine other than the one genesis commits to is refused', async () => {
  const other = chain.wasm.slice();
  other[other.length - 1] ^= 1;
  await forged('engine', LightClient.create(chain.genesis, other), /genesis commits to/);
});

test('the Web Crypto fast path never accepts a speccheck case ZIP-215 rejects', async () => {
  const fast = (await webCryptoFastPath())!;
  const lines = readFileSync(new URL('../vectors/ed25519-speccheck.txt', import.meta.url), 'utf8').trim().split('\n');
  const items = [];
  for (let i = 0; i < lines.length; i += 3) {
    items.push({ message: fromHex(lines[i]!.slice(4)), publicKey: fromHex(lines[i + 1]!.slice(4)), signature: fromHex(lines[i + 2]!.slice(4)) });
  }
  const verdicts = await fast.verifyMany(items);
  items.forEach((it, i) => {
    if (verdicts[i]) assert.ok(verifyZip215(it.publicKey, it.message, it.signature), `case ${i}`);
  });
  // S ≥ L is refused before Web Crypto is asked.
  const sig = new Uint8Array(64);
  sig.set(fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010'), 32);
  assert.not.ok(canonicalScalar(sig));
  sig[32] = 0xec;
  assert.ok(canonicalScalar(sig));
});

test.run();
