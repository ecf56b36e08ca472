import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisQC } from '../../src/consensus/block.ts';
import { afterTimeout, afterVote, decodeSafety, encodeSafety, initialSafety, roundTimeoutMs, safeToTimeout, safeToVote } from '../../src/consensus/safety.ts';
import type { TC } from '../../src/consensus/types.ts';

const s0 = initialSafety(genesisQC(new Uint8Array(32)));
const tc = (round: number, highs: number[]): TC => ({
  round, signers: highs.map((_, i) => i), highQcRounds: highs, sigs: highs.map(() => new Uint8Array(32)), highQC: { ...genesisQC(new Uint8Array(32)), round: Math.max(...highs) },
});

test('votes for a block that extends the previous round QC', () => {
  assert.ok(safeToVote(s0, 1, 0, null));
  assert.ok(safeToVote({ ...s0, lastVotedRound: 4 }, 5, 4, null));
});

test('never votes twice in a round or in an older round', () => {
  const s = afterVote(s0, 5, 4);
  assert.is(s.lastVotedRound, 5);
  assert.not.ok(safeToVote(s, 5, 4, null));
  assert.not.ok(safeToVote(s, 4, 3, null));
});

test('a gap in rounds needs a TC for round − 1 whose high-QC rounds the block QC covers', () => {
  assert.not.ok(safeToVote(s0, 5, 3, null), 'no TC');
  assert.not.ok(safeToVote(s0, 5, 3, tc(3, [3 - 1, 2])), 'TC for the wrong round');
  assert.ok(safeToVote(s0, 5, 3, tc(4, [3, 2, 1])));
  assert.not.ok(safeToVote(s0, 5, 2, tc(4, [3, 2, 1])), 'QC older than a high QC in the TC');
});

test('the unsafe switches really break the rules (used by the simulator tests)', () => {
  const s = afterVote(s0, 5, 4);
  assert.ok(safeToVote(s, 5, 4, null, { skipLastVotedRoundCheck: true }));
  assert.ok(safeToVote(s0, 5, 2, tc(4, [3, 2, 1]), { skipTcHighQcCheck: true }));
});

test('timing out forbids voting in that round and needs a QC not below the lock', () => {
  assert.ok(safeToTimeout(s0, 1, 0, null));
  const s = afterTimeout(s0, 1, 0);
  assert.not.ok(safeToVote(s, 1, 0, null));
  assert.ok(safeToTimeout(s, 1, 0, null), 're-sending the same timeout is allowed');
  const locked = afterVote(s0, 6, 5);
  assert.not.ok(safeToTimeout(locked, 7, 4, tc(6, [4])), 'high QC below the lock');
  assert.ok(safeToTimeout(locked, 7, 5, tc(6, [5])));
  assert.not.ok(safeToTimeout(locked, 5, 4, null), 'round below the last vote');
});

test('round timeout grows by 1.2 per round without commit, capped at 1.2^6', () => {
  assert.equal([0, 1, 2, 6, 7, 100].map((k) => roundTimeoutMs(1000, k)), [1000, 1200, 1440, 2985, 2985, 2985]);
  assert.is(roundTimeoutMs(1000, -3), 1000);
});

test('safety state round-trips through its canonical encoding', () => {
  const s = { ...afterTimeout(afterVote(s0, 3, 2), 4, 2), lastProposedRound: 3, highTC: tc(3, [2, 1]) };
  assert.equal(decodeSafety(encodeSafety(s)), s);
  assert.throws(() => decodeSafety(new Uint8Array([1, 2, 3])), (e: Error) => (e as { code?: string }).code !== undefined);
});

test.run();
