// Votes and timeouts collected into certificates. Both are counted in bonded power (certs.ts), so a
// QC can form before its block arrives. Bounded: a few rounds at a time, a few blocks per round;
// when full, the round furthest from ours is forgotten, so votes or timeouts signed for rounds far
// ahead (a faulty validator may sign any round) never crowd out those of the round being decided.
import { toHex } from '../crypto/sha256.ts';
import type { Weights } from './certs.ts';
import { signedPower } from './quorum.ts';
import type { QC, TC } from './types.ts';

interface VoteBucket {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly sigs: Map<number, Uint8Array>;
  done: boolean;
}

interface TimeoutBucket {
  /** voter → the (verified) high QC it timed out with, and its signature over (round, highQC.round) */
  readonly entries: Map<number, { readonly highQC: QC; readonly sig: Uint8Array }>;
  done: boolean;
}

export interface AggregationLimits {
  readonly maxAggregationRounds: number;
  readonly maxFutureRounds: number;
}

export class Aggregator {
  private readonly votes = new Map<number, Map<string, VoteBucket>>();
  private readonly timeouts = new Map<number, TimeoutBucket>();

  constructor(
    private readonly weights: Weights,
    private readonly limits: AggregationLimits,
    /** counts a vote or timeout that was not kept */
    private readonly dropped: () => void,
  ) {}

  /** Forget what can no longer matter once `round` is entered (votes of the round before can still complete its QC). */
  enterRound(round: number): void {
    for (const k of this.votes.keys()) if (k < round - 1) this.votes.delete(k);
    for (const k of this.timeouts.keys()) if (k < round) this.timeouts.delete(k);
  }

  /** A verified vote; returns the QC it completes, if any (once per block and round). */
  addVote(current: number, voter: number, round: number, height: number, blockHash: Uint8Array, sig: Uint8Array): QC | null {
    if (round < current - 1 || round > current + this.limits.maxFutureRounds) {
      this.dropped();
      return null;
    }
    let byBlock = this.votes.get(round);
    if (byBlock === undefined) {
      if (!this.makeRoom(this.votes, round, current)) return null;
      byBlock = new Map();
      this.votes.set(round, byBlock);
    }
    const k = toHex(blockHash);
    let bucket = byBlock.get(k);
    if (bucket === undefined) {
      if (byBlock.size >= this.weights.powers.length * 2) {
        this.dropped();
        return null;
      }
      bucket = { height, blockHash, sigs: new Map(), done: false };
      byBlock.set(k, bucket);
    }
    if (bucket.height !== height || bucket.sigs.has(voter) || bucket.done) return null;
    bucket.sigs.set(voter, sig);
    const signers = [...bucket.sigs.keys()].sort((a, b) => a - b);
    if (signedPower(this.weights.powers, signers, 'votes') < this.weights.quorum) return null;
    bucket.done = true;
    const sigs = bucket.sigs;
    return { round, height, blockHash, signers, sigs: signers.map((s) => sigs.get(s)!) };
  }

  /**
   * A verified timeout with its verified high QC. Returns the TC it completes (carrying the QC of
   * the highest round its signers reported), or the power timed out so far in that round; null when
   * not kept.
   */
  addTimeout(current: number, voter: number, round: number, highQC: QC, sig: Uint8Array): { readonly tc: TC | null; readonly power: number } | null {
    if (round < current || round > current + this.limits.maxFutureRounds) return null;
    let bucket = this.timeouts.get(round);
    if (bucket === undefined) {
      if (!this.makeRoom(this.timeouts, round, current)) return null;
      bucket = { entries: new Map(), done: false };
      this.timeouts.set(round, bucket);
    }
    if (bucket.entries.has(voter) || bucket.done) return null;
    bucket.entries.set(voter, { highQC, sig });
    const signers = [...bucket.entries.keys()].sort((a, b) => a - b);
    const power = signedPower(this.weights.powers, signers, 'timeouts');
    if (power < this.weights.quorum) return { tc: null, power };
    bucket.done = true;
    const entries = signers.map((s) => bucket.entries.get(s)!);
    let top = entries[0]!.highQC;
    for (const e of entries) if (e.highQC.round > top.round) top = e.highQC;
    return { tc: { round, signers, highQcRounds: entries.map((e) => e.highQC.round), sigs: entries.map((e) => e.sig), highQC: top }, power };
  }

  /** Room for one more round in `map`: the round furthest from `current` goes; false when `round` is the furthest. */
  private makeRoom(map: Map<number, unknown>, round: number, current: number): boolean {
    if (map.size < this.limits.maxAggregationRounds) return true;
    const dist = (r: number) => Math.abs(r - current);
    let far = round;
    for (const r of map.keys()) if (dist(r) > dist(far)) far = r;
    this.dropped();
    if (far === round) return false;
    map.delete(far);
    return true;
  }
}
