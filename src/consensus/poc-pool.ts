// PoC items (commits and answers) waiting to be included: from this validator's prover and gossiped
// by the others. One slot per validator and kind (an answer per epoch): an item is kept only if it
// is signed by the validator it names, and only the first one for its slot, so no peer can crowd a
// validator's answer out of the pool or make proposers re-check a flood of variants. An answer is
// kept while its epoch is current, a commit until a committed block carries it. The proposer tries
// each against its parent's state and includes those that pass, never a bad block.
import { sha256, toHex } from '../crypto/sha256.ts';
import { ConsensusError } from './errors.ts';
import { decodePocItem, pocApplyDecoded, type PocBranch, type PocItem, type PocRules } from './poc-state.ts';

interface Pooled {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly item: PocItem;
}

export type PocPoolVerdict = 'added' | 'duplicate' | 'stale' | 'malformed' | 'bad_signature';

export class PocPool {
  /** slot (kind/validator[/epoch]) → the first valid item for it */
  private readonly bySlot = new Map<string, Pooled>();

  constructor(private readonly validators: number) {}

  get size(): number {
    return this.bySlot.size;
  }

  /**
   * Keep `bytes` if it decodes as a PoC item of a known validator, for the current epoch `epoch` or
   * later, signed by that validator (`verify`), and its slot is free.
   */
  add(bytes: Uint8Array, epoch: number, rules: PocRules, verify: (validator: number, message: Uint8Array, signature: Uint8Array) => boolean): PocPoolVerdict {
    let item: PocItem;
    try {
      item = decodePocItem(bytes, rules);
    } catch (e) {
      if (e instanceof ConsensusError) return 'malformed';
      throw e;
    }
    const { body, bodyBytes, signature } = item.signed;
    if (body.validator >= this.validators) return 'malformed';
    // An answer for a later epoch than the next cannot be right: nobody knows that seed yet.
    if (item.kind === 'answer' && (item.signed.body.epoch < epoch || item.signed.body.epoch > epoch + 1)) return 'stale';
    const slot = slotOf(item);
    if (this.bySlot.has(slot)) return 'duplicate';
    if (!verify(body.validator, bodyBytes, signature)) return 'bad_signature';
    this.bySlot.set(slot, { id: toHex(sha256(bytes)), bytes, item });
    return 'added';
  }

  /** Forget what a committed block carried, and answers of epochs before `epoch`. */
  prune(committed: readonly Uint8Array[], epoch: number): void {
    if (this.bySlot.size === 0) return;
    const gone = new Set(committed.map((b) => toHex(sha256(b))));
    for (const [slot, p] of this.bySlot) if (gone.has(p.id) || (p.item.kind === 'answer' && p.item.signed.body.epoch < epoch)) this.bySlot.delete(slot);
  }

  /**
   * Items that pass, in arrival order, applied one after another to `branch` as a block at `height`
   * would apply them; at most `max`, and at most `maxBytes` in total.
   */
  select(branch: PocBranch, height: number, epoch: number, epochSeed: Uint8Array, rules: PocRules, max: number, maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let cur = branch;
    let total = 0;
    for (const [slot, p] of this.bySlot) {
      if (out.length >= max) break;
      if (total + p.bytes.length > maxBytes) continue;
      try {
        cur = pocApplyDecoded(cur, p.item, 'poc', height, epoch, epochSeed, rules);
      } catch (e) {
        if (!(e instanceof ConsensusError)) throw e;
        // A commit is checked against nothing that changes (chain id, key, size): refused once,
        // refused always, and it must not hold its validator's slot against a corrected one.
        if (p.item.kind === 'commit') this.bySlot.delete(slot);
        continue;
      }
      out.push(p.bytes);
      total += p.bytes.length;
    }
    return out;
  }
}

function slotOf(item: PocItem): string {
  return item.kind === 'answer' ? `answer/${item.signed.body.validator}/${item.signed.body.epoch}` : `commit/${item.signed.body.validator}`;
}
