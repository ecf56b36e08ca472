// Proof of capacity inside the consensus state (docs/poc-pop.md): commits and answers carried by
// blocks move each validator's reliability at the epoch boundary, and the next epoch's leader
// weights follow; refused items make a block invalid; chains without PoC keep their hashes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCanonical } from '../../src/codec/canonical.ts';
import { genesisHash, genesisQC, hashHeader, headerFromCanon, headerToCanon, makeBlock } from '../../src/consensus/block.ts';
import { CertVerifier } from '../../src/consensus/certs.ts';
import { applyBlock, decodeChainState, encodeChainState, initialChainState, type ChainRules, type ChainState } from '../../src/consensus/chain-state.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { PocPool } from '../../src/consensus/poc-pool.ts';
import type { PocRules } from '../../src/consensus/poc-state.ts';
import { verifyZip215 } from '../../src/crypto/ed25519.ts';
import type { Block, BlockHeader } from '../../src/consensus/types.ts';
import { maxAnswerBytes } from '../../src/poc/params.ts';
import { wireLimits } from '../../src/poc/wire.ts';
import { fakeVerifier } from '../../src/sim/keys.ts';
import { blocks, CHAIN, context, EPOCH_LENGTH, honestAnswer, keys, makeReplica, P, ROW_VALUES, rowIndex, sign, signedCommit, targetOf } from '../poc/fixture.ts';

const validators = keys.map((k) => ({ publicKey: k.publicKey, power: 100 }));
const ROOT0 = new Uint8Array(32);
const gh = genesisHash(CHAIN, 0, ROOT0, validators);
const certs = new CertVerifier(CHAIN, validators, fakeVerifier, gh);
const poc: PocRules = {
  chainId: CHAIN,
  epochLength: EPOCH_LENGTH,
  params: P,
  wire: wireLimits(P, 1024, ROW_VALUES, maxAnswerBytes(P, 1024, ROW_VALUES)),
  maxItemsPerBlock: 6,
  publicKey: (v) => keys[v]?.publicKey ?? null,
  targetOf,
  rowIndex,
};
const base = { chainId: CHAIN, epochLength: EPOCH_LENGTH, slashPermille: 500, randaoPenaltyPermille: 100, evidenceWindowRounds: 100, maxEvidencePerBlock: 8, certs };
const rules: ChainRules = { ...base, poc };
const plainRules: ChainRules = base;

const replicas = [makeReplica(0, 64), makeReplica(1, 64), makeReplica(2, 64)];

/** Block `height` of the fixture chain (its txs and certified roots), carrying `items`. */
function blk(height: number, items: Uint8Array[] = []): Block {
  const f = blocks.get(height)!;
  const header: BlockHeader = {
    chainId: CHAIN, height, round: height, parentHash: new Uint8Array(32), proposer: height % 3, timestamp: 0, txRoot: f.txRoot, stateRoot: f.stateRoot,
    justify: genesisQC(gh), tc: null, epoch: Math.floor(height / EPOCH_LENGTH), randao: { commit: null, reveal: null }, evidence: [],
    ...(items.length > 0 ? { poc: items } : {}),
  };
  return makeBlock(header, f.txs);
}

/** Apply heights from..to of the fixture chain to `st`; `items[h]` rides in block h. */
function run(st: ChainState, from: number, to: number, items: Record<number, Uint8Array[]> = {}, r: ChainRules = rules): ChainState {
  for (let h = from; h <= to; h++) st = applyBlock(st, blk(h, items[h] ?? []), h - 1, r);
  return st;
}

/** The signed honest answer of `v` for the epoch `st` is in (after its first block). */
function answerFor(v: number, st: ChainState, wrong = false): Uint8Array {
  const epoch = st.epochInfo.epoch;
  const ctx = context({ epoch, epochStart: epoch * EPOCH_LENGTH, epochSeed: st.epochInfo.seed, commitments: replicas.map((r) => r.commitment) });
  const body = honestAnswer(v, replicas[v]!, ctx);
  if (wrong) {
    const c = body.chunks[0]!;
    const bad = { ...c, chunk: c.chunk.map((b) => b ^ 1) };
    return sign({ ...body, chunks: [bad, ...body.chunks.slice(1)] }, v);
  }
  return sign(body, v);
}

function refused(f: () => unknown, field: RegExp): void {
  try {
    f();
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, ConsensusError);
    assert.is((e as ConsensusError).code, 'bad_block');
    assert.match((e as ConsensusError).message, field);
  }
}

test('commitments take effect at the next epoch: committed validators lead at full weight, the others at the floor', () => {
  const st0 = initialChainState(gh, [100, 100, 100], true);
  const st = run(st0, 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!), signedCommit(1, replicas[1]!)] });
  assert.is(st.epochInfo.epoch, 1);
  // cap = rel = 1000 for 0 and 1; validator 2 proves nothing: floorPermille (100) of its bond.
  assert.equal(st.epochInfo.powers, [100, 100, 10]);
  assert.equal(st.effective, [100, 100, 100], 'voting power is untouched');
});

test('an on-time answer keeps full weight; a missed epoch halves reliability; a wrong answer drops it to 0', () => {
  let st = run(initialChainState(gh, [100, 100, 100], true), 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!), signedCommit(1, replicas[1]!), signedCommit(2, replicas[2]!)] });
  // Epoch 1: 0 answers on time, 1 answers wrong, 2 says nothing.
  st = run(st, EPOCH_LENGTH + 1, EPOCH_LENGTH + 1, { [EPOCH_LENGTH + 1]: [answerFor(0, st), answerFor(1, st, true)] });
  st = run(st, EPOCH_LENGTH + 2, 2 * EPOCH_LENGTH);
  assert.equal(st.pocOutcomes.map((o) => [o.validator, o.outcome, o.relBefore, o.relAfter]), [[0, 'ontime', 1000, 1000], [1, 'wrong', 1000, 0], [2, 'missed', 1000, 500]]);
  // weight = bond · (F + (1000 − F)·cap·rel/10⁶)/1000 with F = 100, cap = 1000
  assert.equal(st.epochInfo.powers, [100, 10, 55]);
});

test('a late answer costs less than a missed one, and clean epochs recover reliability', () => {
  let st = run(initialChainState(gh, [100, 100, 100], true), 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!), signedCommit(1, replicas[1]!)] });
  const late = EPOCH_LENGTH + P.deadlineBlocks + 1;
  st = run(st, EPOCH_LENGTH + 1, late - 1);
  st = run(st, late, 2 * EPOCH_LENGTH, { [late]: [answerFor(0, st)] });
  assert.equal(st.pocOutcomes.map((o) => [o.validator, o.outcome, o.relAfter]), [[0, 'late', 750], [1, 'missed', 500]]);
  st = run(st, 2 * EPOCH_LENGTH + 1, 2 * EPOCH_LENGTH + 1, { [2 * EPOCH_LENGTH + 1]: [answerFor(0, st), answerFor(1, st)] });
  st = run(st, 2 * EPOCH_LENGTH + 2, 3 * EPOCH_LENGTH);
  assert.equal(st.pocOutcomes.map((o) => [o.validator, o.outcome, o.relAfter]), [[0, 'ontime', 1000], [1, 'ontime', 750]]);
});

test('items anyone could forge make the block invalid: foreign key, replay, malformed, wrong epoch', () => {
  let st = run(initialChainState(gh, [100, 100, 100], true), 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!)] });
  const h = EPOCH_LENGTH + 1;
  const a0 = answerFor(0, st);
  const forged = sign(honestAnswer(0, replicas[0]!, context({ epoch: 1, epochStart: EPOCH_LENGTH, epochSeed: st.epochInfo.seed, commitments: [replicas[0]!.commitment] })), 1);
  refused(() => run(st, h, h, { [h]: [forged] }), /foreign_key/);
  refused(() => run(st, h, h, { [h]: [a0, a0] }), /replayed/);
  refused(() => run(st, h, h, { [h]: [new Uint8Array([0x92, 1, 2])] }), /poc\[0\]/);
  refused(() => run(st, h, h, { [h]: [signedCommit(2, replicas[2]!, 1)] }), /commit refused: foreign_key/);
  st = run(st, h, 2 * EPOCH_LENGTH, { [h]: [a0] });
  refused(() => run(st, 2 * EPOCH_LENGTH + 1, 2 * EPOCH_LENGTH + 1, { [2 * EPOCH_LENGTH + 1]: [a0] }), /wrong_epoch/);
});

test('a chain without PoC refuses PoC items, and its headers hash as before', () => {
  const st = initialChainState(gh, [100, 100, 100]);
  assert.is(st.poc, null);
  refused(() => applyBlock(st, blk(1, [signedCommit(0, replicas[0]!)]), 0, plainRules), /no proof of capacity/);
  const h = blk(1).header;
  assert.not.ok('poc' in h);
  assert.equal(hashHeader({ ...h, poc: [] }), hashHeader(h), 'an empty list is the same header');
  assert.is((headerToCanon(h) as unknown[]).length, 14);
  // A trailing empty list is a second encoding of the same header: refused.
  assert.throws(() => headerFromCanon([...(headerToCanon(h) as unknown[]), []] as never, 'h'), /present but empty/);
  const withItem = blk(1, [signedCommit(0, replicas[0]!)]).header;
  assert.equal(headerFromCanon(headerToCanon(withItem), 'h').poc, withItem.poc);
});

test('the PoC state survives a snapshot: encode, decode, same bytes and same weights', () => {
  let st = run(initialChainState(gh, [100, 100, 100], true), 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!), signedCommit(1, replicas[1]!)] });
  st = run(st, EPOCH_LENGTH + 1, EPOCH_LENGTH + 2, { [EPOCH_LENGTH + 1]: [answerFor(0, st)] });
  const bytes = encodeChainState(st);
  const back = decodeChainState(bytes, 3, P.popWindow);
  assert.equal(encodeChainState(back), bytes);
  const a = run(st, EPOCH_LENGTH + 3, 2 * EPOCH_LENGTH);
  const b = run(back, EPOCH_LENGTH + 3, 2 * EPOCH_LENGTH);
  assert.equal(a.epochInfo.powers, b.epochInfo.powers);
  assert.equal(encodeChainState(a), encodeChainState(b));
  // Chains without PoC keep writing the v2 state.
  assert.match(new TextDecoder().decode(encodeChainState(initialChainState(gh, [1, 1, 1])).subarray(0, 40)), 'consensus-state/v2');
  assert.ok(encodeCanonical(0).length > 0);
});

test('the pool keeps one item per validator and kind, signed by that validator: forgeries cannot crowd out an answer', () => {
  const st = run(initialChainState(gh, [100, 100, 100], true), 1, EPOCH_LENGTH, { 1: [signedCommit(0, replicas[0]!), signedCommit(1, replicas[1]!)] });
  const pool = new PocPool(3);
  const verify = (v: number, m: Uint8Array, s: Uint8Array) => verifyZip215(keys[v]!.publicKey, m, s);
  const epoch = st.epochInfo.epoch;
  // Validator 2 signs an answer in validator 0's name: refused before it can take 0's slot.
  const forged = sign(honestAnswer(0, replicas[0]!, context({ epoch, epochStart: epoch * EPOCH_LENGTH, epochSeed: st.epochInfo.seed, commitments: [replicas[0]!.commitment] })), 2);
  assert.is(pool.add(forged, epoch, poc, verify), 'bad_signature');
  assert.is(pool.add(answerFor(0, st), epoch, poc, verify), 'added');
  assert.is(pool.add(answerFor(0, st, true), epoch, poc, verify), 'duplicate', 'one answer per validator and epoch');
  assert.is(pool.add(answerFor(1, st), epoch, poc, verify), 'added');
  assert.is(pool.add(answerFor(1, st), epoch + 2, poc, verify), 'stale');
  assert.is(pool.add(new Uint8Array([1, 2, 3]), epoch, poc, verify), 'malformed');
  // The proposer includes both honest answers; once committed they leave the pool.
  const items = pool.select(st.poc!, EPOCH_LENGTH + 1, epoch, st.epochInfo.seed, poc, 6, 1 << 20);
  assert.is(items.length, 2);
  const next = run(st, EPOCH_LENGTH + 1, EPOCH_LENGTH + 1, { [EPOCH_LENGTH + 1]: items });
  assert.equal(next.poc!.answered, [true, true, false]);
  pool.prune(items, epoch);
  assert.is(pool.size, 0);
  // A commit that can never pass (too few chunks) does not hold its validator's slot.
  const tiny = makeReplica(2, 1);
  assert.is(pool.add(signedCommit(2, tiny), epoch, poc, verify), 'added');
  assert.equal(pool.select(st.poc!, EPOCH_LENGTH + 1, epoch, st.epochInfo.seed, poc, 6, 1 << 20), []);
  assert.is(pool.add(signedCommit(2, replicas[2]!), epoch, poc, verify), 'added');
});

test.run();
