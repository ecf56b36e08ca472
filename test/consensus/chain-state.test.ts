import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisHash, genesisQC, makeBlock, randaoSignBytes, voteSignBytes } from '../../src/consensus/block.ts';
import { CertVerifier } from '../../src/consensus/certs.ts';
import { applyBlock, decodeChainState, encodeChainState, initialChainState, randaoCommitment, type ChainRules, type ChainState } from '../../src/consensus/chain-state.ts';
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

test.run();
