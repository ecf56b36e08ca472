// Weighted proposer selection, after CometBFT's algorithm (spec/consensus/proposer-selection.md),
// with exact integer rules of our own so every implementation agrees:
//   per step: (1) if max−min priority > 2P, divide every priority by ceil((max−min)/2P), truncating
//   toward zero; (2) subtract floor(sum/n) from every priority; (3) add each validator's power;
//   (4) the proposer is the highest priority, ties to the lowest index; (5) proposer −= P.
// A validator with power p proposes ≈ p/P of the rounds. Rounds of an epoch map to steps
// (round − epochStartRound − 1), so leader(round) is computable by anyone for any round.
import { encodeCanonical } from '../codec/canonical.ts';
import { sha256, toHex } from '../crypto/sha256.ts';

export class ProposerSchedule {
  readonly total: number;
  private readonly checkpoints: number[][] = [];
  private cursorStep = -1;
  private cursor: number[];
  private lastStep = -1;
  private lastLeader = -1;

  constructor(
    readonly powers: readonly number[],
    readonly initial: readonly number[],
    private readonly checkpointEvery = 256,
    private readonly maxCheckpoints = 4096,
  ) {
    let t = 0;
    for (const p of powers) t += p;
    // An all-zero schedule would never elect anyone; fall back to equal weights.
    this.powers = t > 0 ? powers : powers.map(() => 1);
    this.total = t > 0 ? t : powers.length;
    this.cursor = [...initial];
    this.checkpoints.push([...initial]);
  }

  private step(prio: number[]): number {
    const n = prio.length;
    const window = 2 * this.total;
    let max = -Infinity;
    let min = Infinity;
    for (const x of prio) {
      if (x > max) max = x;
      if (x < min) min = x;
    }
    if (max - min > window) {
      const ratio = Math.ceil((max - min) / window);
      for (let i = 0; i < n; i++) prio[i] = Math.trunc(prio[i]! / ratio);
    }
    let sum = 0;
    for (const x of prio) sum += x;
    const avg = Math.floor(sum / n);
    let best = 0;
    for (let i = 0; i < n; i++) {
      prio[i] = prio[i]! - avg + this.powers[i]!;
      if (prio[i]! > prio[best]!) best = i;
    }
    prio[best] = prio[best]! - this.total;
    return best;
  }

  /** Proposer chosen at step `s` (s ≥ 0). Checkpoints every `checkpointEvery` steps keep random access cheap. */
  leaderAt(s: number): number {
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`step must be a non-negative integer, got ${s}`);
    if (s === this.lastStep) return this.lastLeader;
    if (s <= this.cursorStep) {
      const c = Math.min(Math.floor(s / this.checkpointEvery), this.checkpoints.length - 1);
      this.cursor = [...this.checkpoints[c]!];
      this.cursorStep = c * this.checkpointEvery - 1;
    }
    let leader = -1;
    while (this.cursorStep < s) {
      leader = this.step(this.cursor);
      this.cursorStep++;
      const next = this.cursorStep + 1;
      if (next % this.checkpointEvery === 0 && next / this.checkpointEvery === this.checkpoints.length && this.checkpoints.length < this.maxCheckpoints) {
        this.checkpoints.push([...this.cursor]);
      }
    }
    this.lastStep = s;
    this.lastLeader = leader;
    return leader;
  }
}

/**
 * Initial priorities of an epoch's schedule from its random seed: validator i starts at
 * (u32 of SHA-256([tag, seed, i]) mod P), so the epoch's randomness rotates who goes first while
 * the long-run frequencies stay proportional to power.
 */
export function initialPriorities(seed: Uint8Array, powers: readonly number[]): number[] {
  let total = 0;
  for (const p of powers) total += p;
  if (total <= 0) total = powers.length;
  return powers.map((_, i) => {
    const h = sha256(encodeCanonical(['numchain/leader-seed/v1', seed, i]));
    const u = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
    return u % total;
  });
}

/** What leader selection reads from a branch's chain state (see chain-state.ts). */
export interface LeaderInputs {
  readonly epochInfo: { readonly epoch: number; readonly startRound: number; readonly seed: Uint8Array; readonly powers: readonly number[] };
  /** validator i does not lead rounds ≤ benchedUntil[i] (it missed a turn on this branch) */
  readonly benchedUntil: readonly number[];
}

/**
 * Rounds a validator sits out after a round it led produced no block on the branch: 10 per validator,
 * so a crashed validator costs one round timeout per ~10n rounds instead of one per ~n.
 */
export function benchRounds(validators: number): number {
  return 10 * validators;
}

/**
 * The leader of a round on a branch: the weighted round-robin's choice for the round, unless that
 * validator is benched; then the next validator in the schedule (steps k+1, k+2, ...) that is not.
 * If every candidate within 2n steps is benched, the schedule's own choice (never no leader).
 * Only liveness depends on this: a proposal is checked against the leader of its parent's state, so
 * all honest nodes agree per branch, and safety never depends on who proposes.
 */
export class LeaderSelector {
  private readonly schedules = new Map<string, { readonly schedule: ProposerSchedule; readonly memo: Map<number, number> }>();

  leaderOf(st: LeaderInputs, round: number): number {
    const info = st.epochInfo;
    const key = `${info.epoch}/${info.startRound}/${toHex(info.seed)}/${info.powers.join(',')}`;
    let s = this.schedules.get(key);
    if (s === undefined) {
      if (this.schedules.size >= 16) this.schedules.clear();
      s = { schedule: new ProposerSchedule(info.powers, initialPriorities(info.seed, info.powers)), memo: new Map() };
      this.schedules.set(key, s);
    }
    // Substitutes look a few steps ahead, and the next round steps back again: without the memo each
    // step back would replay up to a checkpoint interval of the schedule.
    const at = (step: number): number => {
      let v = s.memo.get(step);
      if (v === undefined) {
        if (s.memo.size >= 4096) s.memo.clear();
        v = s.schedule.leaderAt(step);
        s.memo.set(step, v);
      }
      return v;
    };
    const k = Math.max(0, round - info.startRound - 1);
    const first = at(k);
    if (!((st.benchedUntil[first] ?? 0) >= round)) return first;
    for (let j = 1; j <= 2 * info.powers.length; j++) {
      const c = at(k + j);
      if (!((st.benchedUntil[c] ?? 0) >= round)) return c;
    }
    return first;
  }
}
