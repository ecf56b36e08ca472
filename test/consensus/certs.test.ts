import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisHash, genesisQC, timeoutSignBytes, voteSignBytes } from '../../src/consensus/block.ts';
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

test('weights: total and quorum', () => {
  const w = weightsOf([2, 1, 0, 1]);
  assert.equal([w.total, w.quorum], [4, 3]);
});

test('a QC is counted in bonded power, whatever was penalised since', () => {
  const certs = new CertVerifier(chainId, validators, fakeVerifier, gh);
  assert.is(code(() => certs.verifyQC(qc([0, 1, 3]))), 'ok', '3 of 4 bonded');
  assert.is(code(() => certs.verifyQC(qc([0, 1]))), 'bad_qc', '2 of 4 is no quorum');
  // A copy of a verified QC with one signature swapped is checked afresh, not passed from the cache.
  const good = qc([0, 1, 3]);
  const forged = { ...good, sigs: [good.sigs[0]!, good.sigs[1]!, good.sigs[0]!] };
  assert.is(code(() => certs.verifyQC(forged)), 'bad_signature');
});

/** A TC of round 9 whose signers report `highs`, carrying `top` as its QC. */
function tc(signers: number[], highs: number[], top: QC): TC {
  return { round: 9, signers, highQcRounds: highs, sigs: signers.map((s, i) => keys[s]!.signer.sign(timeoutSignBytes(chainId, 9, highs[i]!))), highQC: top };
}

test('a TC is counted in bonded power and carries a valid QC of its highest reported round', () => {
  const certs = new CertVerifier(chainId, validators, fakeVerifier, gh);
  const q5 = qc([0, 1, 2]); // round 5
  assert.is(code(() => certs.verifyTC(tc([0, 1, 3], [5, 4, 5], q5))), 'ok');
  assert.is(code(() => certs.verifyTC(tc([0, 1], [5, 5], q5))), 'bad_tc', 'no quorum');
  // Two faulty signers claim round 8, which no QC backs: the TC must carry a QC of round 8, and has none.
  assert.is(code(() => certs.verifyTC(tc([0, 2, 3], [5, 8, 8], q5))), 'bad_tc', 'claims above the QC it carries');
  assert.is(code(() => certs.verifyTC(tc([0, 1, 3], [4, 4, 4], q5))), 'bad_tc', 'a QC above every claim');
  const unsigned = { ...q5, signers: [0, 1], sigs: q5.sigs.slice(0, 2) };
  assert.is(code(() => certs.verifyTC(tc([0, 1, 3], [5, 4, 5], unsigned))), 'bad_qc', 'its QC must be a quorum');
  const g = genesisQC(gh);
  assert.is(code(() => certs.verifyTC(tc([0, 1, 3], [0, 0, 0], g))), 'ok', 'no QC yet: the genesis QC');
});

test.run();
