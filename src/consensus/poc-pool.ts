// PoC items (commits and answers) waiting to be included: from this validator's prover and gossiped
// by the others. Bounded by count and bytes; an answer is kept only while its epoch is current, a
// commit until a committed block carries it. The proposer tries each against its parent's state and
// includes those that pass, so an item that can never pass costs one check per proposal until its
// epoch ends, never a bad block.
import { toHex } from '../crypto/sha256.ts';
import { sha256 } from '../crypto/sha256.ts';
import { ConsensusError } from './errors.ts';
import { peekPocItem, pocApplyItem, type PocBranch, type PocItem, type PocRules } from './poc-state.ts';

interface Pooled {
  readonly bytes: Uint8Array;
  readonly item: PocItem;
}

export type PocPoolVerdict = 'added' | 'duplicate' | 'full' | 'stale' | 'malformed';

export class PocPool {
  private readonly byId = new Map<string, Pooled>();
  private bytes = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** Keep `bytes` if it decodes as a PoC item for the current epoch or later (`epoch`). */
  add(bytes: Uint8Array, epoch: number, rules: PocRules): PocPoolVerdict {
    let item: PocItem;
    try {
      item = peekPocItem(bytes, rules);
    } catch (e) {
      if (e instanceof ConsensusError) return 'malformed';
      throw e;
    }
    if (item.kind === 'answer' && item.epoch < epoch) return 'stale';
    const id = toHex(sha256(bytes));
    if (this.byId.has(id)) return 'duplicate';
    if (this.byId.size >= this.maxItems || this.bytes + bytes.length > this.maxBytes) return 'full';
    this.byId.set(id, { bytes, item });
    this.bytes += bytes.length;
    return 'added';
  }

  /** Forget what a committed block carried, and answers of epochs before `epoch`. */
  prune(committed: readonly Uint8Array[], epoch: number): void {
    for (const b of committed) this.remove(toHex(sha256(b)));
    for (const [id, p] of this.byId) if (p.item.kind === 'answer' && p.item.epoch < epoch) this.remove(id);
  }

  /**
   * Items that pass, in arrival order, applied one after another to `branch` as a block at `height`
   * would apply them; at most `max`, and at most `maxBytes` in total.
   */
  select(branch: PocBranch, height: number, epoch: number, epochSeed: Uint8Array, rules: PocRules, max: number, maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let cur = branch;
    let total = 0;
    for (const p of this.byId.values()) {
      if (out.length >= max) break;
      if (total + p.bytes.length > maxBytes) continue;
      try {
        cur = pocApplyItem(cur, p.bytes, 'poc', height, epoch, epochSeed, rules);
      } catch (e) {
        if (e instanceof ConsensusError) continue;
        throw e;
      }
      out.push(p.bytes);
      total += p.bytes.length;
    }
    return out;
  }

  private remove(id: string): void {
    const p = this.byId.get(id);
    if (p === undefined) return;
    this.byId.delete(id);
    this.bytes -= p.bytes.length;
  }
}
