// Leader weight (docs/poc-pop.md, "Weight"): the formula in integers, reliability moving with each
// epoch's outcome (missed / late / wrong lower it, on-time answers restore it), the recovery path,
// and commitments taking effect only at the next epoch boundary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_POC_PARAMS as D } from '../../src/poc/params.ts';
import type { Commitment } from '../../src/poc/verify.ts';
import { answer, capacityPermille, closeEpoch, commit, INITIAL_STATE, leaderWeight, outcomeOf, type EpochOutcome, type PocValidatorState } from '../../src/poc/weight.ts';

const cm = (chunks: number, n = 0): Commitment => ({ root: new Uint8Array(32).fill(n), chunks, commitNonce: n });
const DEADLINE = 150; // epoch start 100 + D 50

/** Step one epoch with the given outcome (by recording the matching answer or none). */
function epoch(s: PocValidatorState, o: 'ontime' | 'late' | 'missed' | 'wrong'): { state: PocValidatorState; outcome: EpochOutcome } {
  if (o === 'ontime') s = answer(s, false, 120);
  if (o === 'late') s = answer(s, false, 170);
  if (o === 'wrong') s = answer(s, true, 120);
  return closeEpoch(s, DEADLINE, D);
}

function committed(chunks = D.targetChunks): PocValidatorState {
  return closeEpoch(commit(INITIAL_STATE, cm(chunks)), DEADLINE, D).state;
}

test('no commitment: floor weight, outcome none, answers change nothing', () => {
  assert.is(leaderWeight(1_000_000, INITIAL_STATE, D), 100_000);
  const r = closeEpoch(answer(INITIAL_STATE, true, 1), DEADLINE, D);
  assert.is(r.outcome, 'none');
  assert.is(r.state.rel, 0);
});

test('a commitment takes effect at the next boundary, with full reliability the first time', () => {
  const s = commit(INITIAL_STATE, cm(1024));
  assert.is(s.active, null, 'pending during the epoch it was committed in');
  assert.is(leaderWeight(1_000_000, s, D), 100_000);
  const t = committed();
  assert.equal(t.active, cm(1024));
  assert.is(t.rel, 1000);
  assert.is(leaderWeight(1_000_000, t, D), 1_000_000);
});

test('the formula: capacity factor and exact integer rounding', () => {
  const half = committed(512);
  assert.is(capacityPermille(half, D), 500);
  // 1000 · (100 + 900 · 500 · 1000 / 10⁶) / 1000 = 550
  assert.is(leaderWeight(1000, half, D), 550);
  assert.is(capacityPermille(committed(4096), D), 1000, 'capped at the target');
  assert.is(capacityPermille(committed(1), D), 0, 'rounds down');
  // one floor at the end: 7 · (100·10⁶ + 900·333·1000) / 10⁹ = 2.7979 → 2
  assert.is(leaderWeight(7, committed(341), D), 2);
  // large bonds stay exact (no float): 2^53 − 1 with full weight
  assert.is(leaderWeight(Number.MAX_SAFE_INTEGER, committed(), D), Number.MAX_SAFE_INTEGER);
  assert.throws(() => leaderWeight(-1, committed(), D), (e: unknown) => e instanceof RangeError);
});

test('outcomes: missed, late, wrong lower reliability by their penalties; on time restores it; floors and caps hold', () => {
  const s = committed();
  const step = (o: Parameters<typeof epoch>[1]) => epoch(s, o);
  assert.equal([step('ontime').outcome, step('late').outcome, step('missed').outcome, step('wrong').outcome], ['ontime', 'late', 'missed', 'wrong']);
  assert.is(step('ontime').state.rel, 1000, 'capped at 1000');
  assert.is(step('late').state.rel, 750);
  assert.is(step('missed').state.rel, 500);
  assert.is(step('wrong').state.rel, 0);
  assert.is(epoch(epoch(epoch(s, 'missed').state, 'missed').state, 'missed').state.rel, 0, 'floored at 0');
  // the weight follows: full, 0.775, 0.55, floor
  assert.equal((['ontime', 'late', 'missed', 'wrong'] as const).map((o) => leaderWeight(1000, step(o).state, D)), [1000, 775, 550, 100]);
  // the first counted answer decides; an answer at the deadline is on time, one block later is late
  assert.is(outcomeOf(answer(answer(s, false, 150), true, 151), DEADLINE), 'ontime');
  assert.is(outcomeOf(answer(s, false, 151), DEADLINE), 'late');
});

test('recovery: from 0 to full in four clean epochs; intermittent availability settles low', () => {
  let s = epoch(committed(), 'wrong').state;
  const rels: number[] = [s.rel];
  for (let i = 0; i < 4; i++) rels.push((s = epoch(s, 'ontime').state).rel);
  assert.equal(rels, [0, 250, 500, 750, 1000]);
  // one miss every other epoch: −500 + 250 per two epochs, down to 0 and held there
  let t = committed();
  for (let i = 0; i < 20; i++) t = epoch(t, i % 2 ? 'ontime' : 'missed').state;
  assert.ok(t.rel <= 250, String(t.rel));
});

test('re-committing keeps the reliability earned (a new root does not wash out faults) and takes effect next epoch', () => {
  let s = epoch(committed(), 'missed').state;
  assert.is(s.rel, 500);
  s = commit(s, cm(2048, 1));
  assert.equal(s.active, cm(1024), 'the open challenge is still against the old root');
  const r = epoch(s, 'ontime');
  assert.equal(r.state.active, cm(2048, 1));
  assert.is(r.state.rel, 750, 'earned on the old root, not reset to 1000');
});

test.run();
