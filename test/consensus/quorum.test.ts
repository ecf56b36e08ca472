import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasQuorum, maxFaultyPower, quorumThreshold, signedPower } from '../../src/consensus/quorum.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { weightsOf } from '../../src/consensus/certs.ts';

test('quorum is the smallest power sum above two thirds', () => {
  const cases: [number, number][] = [[1, 1], [2, 2], [3, 3], [4, 3], [5, 4], [6, 5], [7, 5], [10, 7], [100, 67], [99, 67]];
  for (const [total, q] of cases) assert.is(quorumThreshold(total), q, `total ${total}`);
  for (let t = 1; t <= 200; t++) {
    const q = quorumThreshold(t);
    assert.ok(3 * q > 2 * t && 3 * (q - 1) <= 2 * t, `total ${t}`);
    // Two quorums overlap in more than the faulty power.
    assert.ok(2 * q - t > maxFaultyPower(t), `overlap at ${t}`);
  }
});

test('a single validator is a quorum of one', () => {
  assert.ok(hasQuorum([5], [0], 'x'));
  assert.not.ok(hasQuorum([5], [], 'x'));
});

test('weighted quorum counts power, not heads', () => {
  const powers = [10, 1, 1, 1];
  assert.ok(hasQuorum(powers, [0], 'x'), '10 of 13 > 2/3');
  assert.not.ok(hasQuorum(powers, [1, 2, 3], 'x'));
  assert.is(signedPower(powers, [0, 3], 'x'), 11);
});

test('signers must be known and strictly ascending', () => {
  for (const bad of [[1, 1], [2, 1], [4], [-1]]) {
    try {
      signedPower([1, 1, 1, 1], bad, 'qc.signers');
      assert.unreachable(`accepted ${bad}`);
    } catch (e) {
      assert.instance(e, ConsensusError);
      assert.is((e as ConsensusError).code, 'bad_quorum');
      assert.match((e as ConsensusError).message, 'qc.signers');
    }
  }
});


// The claim docs/consensus.md ("Quorum weights") rests on: when slashing lowers only faulty
// validators' weights (and faulty bonded power is below a third), a quorum counted in one such weight
// vector and a quorum counted in another still share an honest validator.
test('quorums in two slashed weight vectors still share an honest validator', () => {
  let seed = 12345;
  const rnd = (k: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % k;
  };
  const quorums = (w: readonly number[]) => {
    const q = weightsOf(w).quorum;
    const out: number[] = [];
    for (let m = 1; m < 1 << w.length; m++) {
      let p = 0;
      for (let i = 0; i < w.length; i++) if (m & (1 << i)) p += w[i]!;
      if (p >= q) out.push(m);
    }
    return out;
  };
  let checked = 0;
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + rnd(7);
    const bonded = Array.from({ length: n }, () => 1 + rnd(5));
    const total = bonded.reduce((a, b) => a + b, 0);
    let faulty = 0;
    let faultyPower = 0;
    for (let i = 0; i < n; i++) {
      if (rnd(3) === 0 && 3 * (faultyPower + bonded[i]!) < total) {
        faulty |= 1 << i;
        faultyPower += bonded[i]!;
      }
    }
    const slashed = () => bonded.map((p, i) => (faulty & (1 << i) ? rnd(p + 1) : p));
    const [a, b] = [quorums(slashed()), quorums(slashed())];
    const honest = ~faulty & ((1 << n) - 1);
    for (const qa of a) for (const qb of b) {
      assert.ok((qa & qb & honest) !== 0, `bonded ${bonded} faulty ${faulty.toString(2)}: ${qa.toString(2)} / ${qb.toString(2)}`);
      checked++;
    }
  }
  assert.ok(checked > 1000, `checked ${checked} pairs`);
});

test('lowering honest validators\' weights can split quorums (why only the faulty are slashed)', () => {
  // Seven equal validators, validator 6 faulty. If honest 0, 1 and 2 were slashed to 0 in one weight
  // vector, its quorum {3, 4, 6} and the bonded quorum {0, 1, 2, 5, 6} would share only the faulty one.
  const bonded = [1, 1, 1, 1, 1, 1, 1];
  const wrong = [0, 0, 0, 1, 1, 1, 1];
  assert.ok(signedPower(bonded, [0, 1, 2, 5, 6], 'x') >= quorumThreshold(7));
  assert.ok(signedPower(wrong, [3, 4, 6], 'x') >= quorumThreshold(4));
});
test.run();
