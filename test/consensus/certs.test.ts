import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisHash, timeoutSignBytes, voteSignBytes } from '../../src/consensus/block.ts';
import { CertVerifier, weightsOf } from '../../src/consensus/certs.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import type { QC, TC } from '../../src/consensus/types.ts';
import { fakeVerifier } from '../../src/sim/keys.ts';
import { ROOT0, setup } from './helpers.ts';

const { keys, validators, chainId } = setup([1, 1, 1, 1]);
const gh = genesisHash(chainId, 0, ROOT0, validators);
const block = new Uint8Array(32).fill(7);

function qc(signers: number[]): QC {
  return { round: 5, height: 3, blockHash: block, signers, sigs: signers.map((s) => keys[s]!.signer.sign(voteSignBytes(chainId, 5, 3, block))) };
}

function code(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConsensusError) return e.code;
    throw e;
  }
  return 'ok';
}

test('weights: total, quorum and a key; all-zero weights certify nothing', () => {
  const w = weightsOf([2, 1, 0, 1]);
  assert.equal([w.total, w.quorum, w.key], [4, 3, '2,1,0,1']);
  assert.is(weightsOf([0, 0]).quorum, Number.POSITIVE_INFINITY);
  const p = [1, 2];
  assert.is(weightsOf(p), weightsOf(p), 'one object per powers array');
});

test('a QC counts its signers in the weights it is checked in', () => {
  const certs = new CertVerifier(chainId, validators, fakeVerifier, gh);
  const bonded = certs.genesisWeights;
  const slashed = weightsOf([1, 1, 1, 0]); // validator 3 slashed to nothing: quorum 3 of 3
  const withSlashed = qc([0, 1, 3]);
  assert.is(code(() => certs.verifyQC(withSlashed, 'qc', bonded)), 'ok', '3 of 4 bonded');
  // Verified in bonded weights, it still does not pass in the slashed ones: the cache is per weights.
  assert.is(code(() => certs.verifyQC(withSlashed, 'qc', slashed)), 'bad_qc');
  assert.is(code(() => certs.verifyQC(qc([0, 1, 2]), 'qc', slashed)), 'ok');
  // A copy of a verified QC with one signature swapped is checked afresh, not passed from the cache.
  const forged = { ...withSlashed, sigs: [withSlashed.sigs[0]!, withSlashed.sigs[1]!, withSlashed.sigs[0]!] };
  assert.is(code(() => certs.verifyQC(forged, 'qc', bonded)), 'bad_signature');
});

test('a TC is counted in bonded power', () => {
  const certs = new CertVerifier(chainId, validators, fakeVerifier, gh);
  const tc = (signers: number[]): TC => ({
    round: 9, signers, highQcRounds: signers.map(() => 4), sigs: signers.map((s) => keys[s]!.signer.sign(timeoutSignBytes(chainId, 9, 4))),
  });
  assert.is(code(() => certs.verifyTC(tc([0, 1, 3]))), 'ok');
  assert.is(code(() => certs.verifyTC(tc([0, 1]))), 'bad_tc');
});

test('a QC on an unknown block steers catch-up only with valid votes from someone honest', () => {
  const certs = new CertVerifier(chainId, validators, fakeVerifier, gh);
  assert.ok(certs.plausibleQC(qc([0, 1])), 'two of four: at least one is honest');
  assert.not.ok(certs.plausibleQC(qc([3])), 'one of four could be the faulty one alone');
  assert.not.ok(certs.plausibleQC({ ...qc([0, 1]), round: 99 }), 'votes for another round');
  assert.not.ok(certs.plausibleQC({ ...qc([0, 1]), signers: [1, 0] }), 'malformed signers');
});

test.run();
