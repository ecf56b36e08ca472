import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisHash, genesisQC, makeBlock, randaoSignBytes, voteSignBytes } from '../../src/consensus/block.ts';
import { CertVerifier } from '../../src/consensus/certs.ts';
import { applyBlock, decodeChainState, encodeChainState, initialChainState, leaderInputs, randaoCommitment, type ChainRules, type ChainState } from '../../src/consensus/chain-state.ts';
import { encodeCanonical, decodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { benchRounds, LeaderSelector } from '../../src/consensus/leader.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import type { Block, Evidence, RandaoField } from '../../src/consensus/types.ts';
import { fakeVerifier } from '../../src/sim/keys.ts';
import { ROOT0, setup } from './helpers.ts';

const { keys, validators, chainId } = setup([4, 4, 4, 4]);
const gh = genesisHash(chainId, 0, ROOT0, validators);
const rules: ChainRules = {
  chainId, epochLength: 4, slashPermille: 500, randaoPenaltyPermille: 250, evidenceWindowRounds: 100, maxEvidencePerBlock: 8,
  certs: new CertVerifier(chainId, validators, fakeVerifier, gh),
};
const z = new Uint8Array(32);

function blk(height: number, proposer: number, randao: RandaoField = { commit: null, reveal: null }, evidence: Evidence[] = []): Block {
  return makeBlock({
    chainId, height, round: height, parentHash: z, proposer, timestamp: 0, txRoot: z, stateRoot: z, justify: genesisQC(gh), tc: null,
    epoch: Math.floor(height / 4), randao, evidence,
  }, []);
}

const secretSig = (i: number, epoch: number) => keys[i]!.signer.sign(randaoSignBytes(chainId, epoch));

function chain(blocks: Block[]): ChainState {
  let st = initialChainState(gh, [4, 4, 4, 4]);
  for (const b of blocks) st = applyBlock(st, b, b.header.round - 1, rules);
  return st;
}

function throwsField(f: () => unknown, field: string): void {
  try {
    f();
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, ConsensusError);
    assert.match((e as ConsensusError).field, field);
  }
}

test('commit then reveal feeds the next epoch seed; no penalty', () => {
  const c0 = randaoCommitment(secretSig(0, 0));
  const revealed = chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 0, { commit: null, reveal: secretSig(0, 0) }), blk(3, 1), blk(4, 2)]);
  const silent = chain([blk(1, 1), blk(2, 2), blk(3, 1), blk(4, 2)]);
  assert.is(revealed.epochInfo.epoch, 1);
  assert.equal(revealed.epochInfo.powers, [4, 4, 4, 4]);
  assert.not.equal(revealed.epochInfo.seed, silent.epochInfo.seed, 'the reveal changes the beacon');
  assert.is(revealed.epochInfo.startRound, 3, 'epoch starts after the last block of the previous one');
});

test('committing and then proposing without revealing is penalised at the epoch end', () => {
  const c0 = randaoCommitment(secretSig(0, 0));
  const st = chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 0), blk(3, 1), blk(4, 2)]);
  assert.equal(st.epochInfo.powers, [3, 4, 4, 4]);
  assert.equal(st.events.map((e) => [e.kind, e.validator, e.before, e.after]), [['randao_no_reveal', 0, 4, 3]]);
  // A validator that committed but never led again in the second half is not penalised.
  const quiet = chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 1), blk(3, 1), blk(4, 2)]);
  assert.equal(quiet.epochInfo.powers, [4, 4, 4, 4]);
});

test('RANDAO fields in the wrong half, forged or repeated are invalid blocks', () => {
  const c0 = randaoCommitment(secretSig(0, 0));
  throwsField(() => chain([blk(2, 0, { commit: c0, reveal: null })]), 'randao.commit');
  throwsField(() => chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 0, { commit: null, reveal: secretSig(1, 0) })]), 'randao.reveal');
  throwsField(() => chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 0, { commit: null, reveal: secretSig(0, 1) })]), 'randao.reveal');
  throwsField(() => chain([blk(1, 0, { commit: null, reveal: secretSig(0, 0) })]), 'randao.reveal');
});

function voteEvidence(v: number, round: number): Evidence {
  const ha = new Uint8Array(32).fill(1);
  const hb = new Uint8Array(32).fill(2);
  const s = (h: Uint8Array) => keys[v]!.signer.sign(voteSignBytes(chainId, round, 1, h));
  return { kind: 'vote', validator: v, round, a: { height: 1, blockHash: ha, sig: s(ha) }, b: { height: 1, blockHash: hb, sig: s(hb) } };
}

test('committed evidence halves effective power, once, and only from the next epoch on', () => {
  const ev = voteEvidence(3, 1);
  const st = chain([blk(1, 1), blk(2, 1, undefined, [ev])]);
  assert.equal(st.effective, [4, 4, 4, 2]);
  assert.equal(st.epochInfo.powers, [4, 4, 4, 4], 'the current epoch schedule is unchanged');
  assert.equal(st.events.map((e) => e.kind), ['equivocation']);
  throwsField(() => chain([blk(1, 1), blk(2, 1, undefined, [ev]), blk(3, 2, undefined, [ev])]), 'evidence[0]');
  const next = chain([blk(1, 1), blk(2, 1, undefined, [ev]), blk(3, 2), blk(4, 2)]);
  assert.equal(next.epochInfo.powers, [4, 4, 4, 2]);
  const forged = { ...ev, b: { ...ev.b, sig: new Uint8Array(32) } };
  throwsField(() => chain([blk(1, 1, undefined, [forged])]), 'evidence[0].b.sig');
});

test('chain state export/import round-trips', () => {
  const c0 = randaoCommitment(secretSig(0, 0));
  const st = chain([blk(1, 0, { commit: c0, reveal: null }), blk(2, 1, undefined, [voteEvidence(2, 2)]), blk(3, 0)]);
  const back = decodeChainState(encodeChainState(st), 4);
  assert.equal(back, { ...st, events: [] });
  throwsField(() => decodeChainState(encodeChainState(st), 5), 'consensusState');
});

test('a round that left no block benches its leader for benchRounds(n) rounds; the next in the schedule leads instead', () => {
  const leaders = new LeaderSelector();
  const r2: ChainRules = { ...rules, epochLength: 1000, leaders };
  const st0 = initialChainState(gh, [4, 4, 4, 4]);
  const plain = (round: number) => leaders.leaderOf(st0, round);
  // Block at round 1, then rounds 2 and 3 fail: the block at round 4 benches their leaders.
  const b1 = makeBlock({ chainId, height: 1, round: 1, parentHash: z, proposer: plain(1), timestamp: 0, txRoot: z, stateRoot: z, justify: genesisQC(gh), tc: null, epoch: 0, randao: { commit: null, reveal: null }, evidence: [] }, []);
  const st1 = applyBlock(st0, b1, 0, r2);
  assert.equal(st1.benchedUntil, [0, 0, 0, 0], 'no round skipped');
  const missed = [plain(2), plain(3)];
  const inputs4 = leaderInputs(st1, 1, 4, r2);
  const W = benchRounds(4);
  for (const v of missed) assert.is(inputs4.benchedUntil[v], 4 + W, `validator ${v} sits out`);
  const lead4 = leaders.leaderOf(inputs4, 4);
  assert.not.ok(missed.includes(lead4), 'round 4 goes to a validator that did not miss');
  const b4 = makeBlock({ chainId, height: 2, round: 4, parentHash: b1.hash, proposer: lead4, timestamp: 0, txRoot: z, stateRoot: z, justify: genesisQC(gh), tc: null, epoch: 0, randao: { commit: null, reveal: null }, evidence: [] }, []);
  const st2 = applyBlock(st1, b4, 1, r2);
  assert.equal(st2.benchedUntil, inputs4.benchedUntil, 'the block records exactly the benching its leader was chosen with');
  // While benched, never chosen; afterwards the plain schedule again.
  for (let r = 5; r <= 4 + W; r++) assert.not.ok(missed.includes(leaders.leaderOf(st2, r)), `round ${r}`);
  const after = 4 + W + 1;
  assert.is(leaders.leaderOf(st2, after), plain(after), 'the bench expires');
  // Without a selector in the rules nobody is benched (the plain schedule everywhere).
  assert.equal(applyBlock(st1, b4, 1, rules).benchedUntil, [0, 0, 0, 0]);
});

test('when every candidate is benched the schedule\'s own choice still leads', () => {
  const leaders = new LeaderSelector();
  const st = { ...initialChainState(gh, [1, 1, 1, 1]), benchedUntil: [99, 99, 99, 99] };
  const plain = new LeaderSelector().leaderOf(initialChainState(gh, [1, 1, 1, 1]), 7);
  assert.is(leaders.leaderOf(st, 7), plain);
});

test('benchedUntil survives export/import; a v1 state (before benching) imports with nobody benched', () => {
  const st = { ...chain([blk(1, 0), blk(2, 1)]), benchedUntil: [0, 17, 0, 3] };
  assert.equal(decodeChainState(encodeChainState(st), 4), { ...st, events: [] });
  const v2 = decodeCanonical(encodeChainState(st)) as Canon[];
  const v1 = encodeCanonical(['numchain/consensus-state/v1', ...v2.slice(1, 10)]);
  assert.equal(decodeChainState(v1, 4), { ...st, events: [], benchedUntil: [0, 0, 0, 0] });
  throwsField(() => decodeChainState(encodeCanonical(['numchain/consensus-state/v2', ...v2.slice(1, 10)]), 4), 'consensusState');
});

test.run();
