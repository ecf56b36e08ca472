// Leader weight from proven capacity and reliability (docs/poc-pop.md, "Weight"), as a pure
// per-validator state machine that every node steps at the same blocks:
//   * `commit` (a verified commit tx) records a pending commitment;
//   * `answer` records the first counted answer of the epoch (its verdict and height);
//   * `closeEpoch` at the epoch boundary turns the epoch's record into one outcome (ontime, late,
//     missed, wrong, or none without a commitment in force), moves reliability, and puts a pending
//     commitment in force for the next epoch.
// `leaderWeight` then reads the state as it stands after the close: changes made during epoch e rule
// epoch e + 1, so every proposal in an epoch is judged against one schedule. Leader weight only:
// voting power never depends on it.
import type { PocParams } from './params.ts';
import type { Commitment } from './verify.ts';

export type EpochOutcome = 'ontime' | 'late' | 'missed' | 'wrong' | 'none';

export interface PocValidatorState {
  /** commitment challenged in the current epoch */
  readonly active: Commitment | null;
  /** commitment that takes effect at the next epoch boundary */
  readonly pending: Commitment | null;
  /** reliability in permille, [0, 1000] */
  readonly rel: number;
  /** verdict of the first counted answer of the current epoch ('wrong' or 'answered'), with its height */
  readonly answer: { readonly wrong: boolean; readonly height: number } | null;
  /** a commitment was ever in force (reliability starts at 1000 only with the first one) */
  readonly everCommitted: boolean;
}

export const INITIAL_STATE: PocValidatorState = Object.freeze({ active: null, pending: null, rel: 0, answer: null, everCommitted: false });

export function commit(s: PocValidatorState, c: Commitment): PocValidatorState {
  return { ...s, pending: c };
}

/** Record the first counted answer of the epoch; later ones are refused as `replayed` before they get here. */
export function answer(s: PocValidatorState, wrong: boolean, height: number): PocValidatorState {
  if (s.answer !== null) return s;
  return { ...s, answer: { wrong, height } };
}

/** The outcome of the epoch, given its last on-time height (epoch start + D). */
export function outcomeOf(s: PocValidatorState, deadline: number): EpochOutcome {
  if (s.active === null) return 'none';
  if (s.answer === null) return 'missed';
  if (s.answer.wrong) return 'wrong';
  return s.answer.height <= deadline ? 'ontime' : 'late';
}

export function nextReliability(rel: number, o: EpochOutcome, p: PocParams): number {
  switch (o) {
    case 'ontime':
      return Math.min(1000, rel + p.recoverPermille);
    case 'late':
      return Math.max(0, rel - p.latePenaltyPermille);
    case 'missed':
      return Math.max(0, rel - p.missPenaltyPermille);
    case 'wrong':
      return Math.max(0, rel - p.wrongPenaltyPermille);
    case 'none':
      return rel;
  }
}

/**
 * Step at the epoch boundary. Reliability starts at 1000 with a validator's first commitment only:
 * re-committing keeps the reliability earned so far, so a new root cannot wash out faults.
 */
export function closeEpoch(s: PocValidatorState, deadline: number, p: PocParams): { state: PocValidatorState; outcome: EpochOutcome } {
  const outcome = outcomeOf(s, deadline);
  let rel = nextReliability(s.rel, outcome, p);
  let active = s.active;
  if (s.pending !== null) {
    if (!s.everCommitted) rel = 1000;
    active = s.pending;
  }
  return { state: { active, pending: null, rel, answer: null, everCommitted: active !== null }, outcome };
}

/** min(1000, 1000·C / target) with a commitment in force, else 0. */
export function capacityPermille(s: PocValidatorState, p: PocParams): number {
  if (s.active === null) return 0;
  return Math.min(1000, Math.floor((1000 * s.active.chunks) / p.targetChunks));
}

/** floor(effective · (F + (1000 − F) · cap · rel / 10⁶) / 1000), in exact integer arithmetic. */
export function leaderWeight(effective: number, s: PocValidatorState, p: PocParams): number {
  if (!Number.isSafeInteger(effective) || effective < 0) throw new RangeError('effective power must be a non-negative safe integer');
  const F = BigInt(p.floorPermille);
  const cap = BigInt(capacityPermille(s, p));
  const rel = BigInt(s.rel);
  // effective · (F·10⁶ + (1000 − F)·cap·rel) / 10⁹, one floor at the end
  return Number((BigInt(effective) * (F * 1_000_000n + (1000n - F) * cap * rel)) / 1_000_000_000n);
}
