// Equivocation detection and the pool of evidence waiting to be put on chain. Both are bounded:
// the detector remembers one signed statement per (kind, validator, round) for a window of rounds,
// the pool holds at most `maxPool` items; what either drops is counted.
import { toHex } from '../crypto/sha256.ts';
import { bytesEqual, compareBytes, evidenceKey } from './block.ts';
import type { Evidence, SignedBlockRef } from './types.ts';

export class EquivocationDetector {
  /** round → "kind/validator" → first statement seen. */
  private readonly byRound = new Map<number, Map<string, SignedBlockRef>>();
  private count = 0;
  dropped = 0;

  constructor(
    private readonly windowRounds: number,
    private readonly maxEntries: number,
  ) {}

  /** Record a verified signed statement; returns evidence if it conflicts with an earlier one. */
  observe(kind: 'vote' | 'proposal', validator: number, round: number, ref: SignedBlockRef): Evidence | null {
    const key = `${kind}/${validator}`;
    let m = this.byRound.get(round);
    const prev = m?.get(key);
    if (prev === undefined) {
      if (this.count >= this.maxEntries) {
        this.dropped++;
        return null;
      }
      if (m === undefined) {
        m = new Map();
        this.byRound.set(round, m);
      }
      m.set(key, ref);
      this.count++;
      return null;
    }
    if (bytesEqual(prev.blockHash, ref.blockHash)) return null;
    const [a, b] = compareBytes(prev.blockHash, ref.blockHash) < 0 ? [prev, ref] : [ref, prev];
    return {
      kind, validator, round,
      a: { height: a.height, blockHash: a.blockHash, sig: a.sig },
      b: { height: b.height, blockHash: b.blockHash, sig: b.sig },
    };
  }

  /** Forget statements for rounds below currentRound − window. */
  prune(currentRound: number): void {
    const min = currentRound - this.windowRounds;
    for (const [r, m] of this.byRound) {
      if (r < min) {
        this.count -= m.size;
        this.byRound.delete(r);
      }
    }
  }

  get size(): number {
    return this.count;
  }
}

export class EvidencePool {
  private readonly items = new Map<string, Evidence>();
  dropped = 0;
  private readonly known = new Set<string>();

  constructor(
    private readonly maxPool: number,
    private readonly windowRounds: number,
  ) {}

  /**
   * Adds evidence unless already pending; returns true if it is new. One validator that equivocates
   * in every round fills at most `perValidator` places, so it can never keep another's evidence out.
   */
  add(e: Evidence, perValidator = 4): boolean {
    const key = evidenceKey(e);
    if (this.items.has(key) || this.known.has(key)) return false;
    let mine = 0;
    for (const x of this.items.values()) if (x.validator === e.validator) mine++;
    if (this.items.size >= this.maxPool || mine >= perValidator) {
      this.dropped++;
      return false;
    }
    this.items.set(key, e);
    return true;
  }

  /**
   * Evidence not already on the proposing branch (`onChain` keys), oldest rounds first, within the
   * window a block of `currentRound` may carry: a faulty validator can equivocate in rounds ahead of
   * ours, and that evidence waits until its round has come (chain-state.ts refuses it before).
   */
  select(onChain: ReadonlySet<string>, currentRound: number, limit: number): Evidence[] {
    const min = currentRound - this.windowRounds;
    return [...this.items.values()]
      .filter((e) => e.round >= min && e.round <= currentRound && !onChain.has(evidenceKey(e)))
      .sort((x, y) => x.round - y.round || x.validator - y.validator || (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : 0))
      .slice(0, limit);
  }

  /** Evidence committed on chain leaves the pool for good (bounded memory of committed keys). */
  markCommitted(e: Evidence): void {
    const key = evidenceKey(e);
    this.items.delete(key);
    if (this.known.size >= this.maxPool * 16) this.known.clear();
    this.known.add(key);
  }

  expire(currentRound: number): void {
    const min = currentRound - this.windowRounds;
    for (const [k, e] of this.items) if (e.round < min) this.items.delete(k);
  }

  pending(): Evidence[] {
    return [...this.items.values()];
  }

  has(kind: 'vote' | 'proposal', validator: number, round: number): boolean {
    return this.items.has(`${kind}/${validator}/${round}`) || this.known.has(`${kind}/${validator}/${round}`);
  }
}

export function evidenceId(e: Evidence): string {
  return `${evidenceKey(e)}/${toHex(e.a.blockHash).slice(0, 8)}`;
}
