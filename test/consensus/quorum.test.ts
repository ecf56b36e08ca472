import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasQuorum, maxFaultyPower, quorumThreshold, signedPower } from '../../src/consensus/quorum.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';

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

test.run();
