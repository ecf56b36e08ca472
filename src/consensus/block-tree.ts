// The blocks a core holds: the committed tip and its uncommitted descendants (each with the
// consensus state after it), a bounded window of committed blocks for serving catch-up, the QCs
// seen per block, and proposals waiting for their parent. Every map is bounded by the limits.
import { toHex } from '../crypto/sha256.ts';
import type { ChainState } from './chain-state.ts';
import type { ProposalMsg } from './messages.ts';
import type { Block, ConsensusLimits, QC } from './types.ts';

export interface Entry {
  readonly block: Block;
  readonly state: ChainState;
}

type Limits = Pick<ConsensusLimits, 'maxPendingBlocks' | 'maxCommittedCache' | 'maxOrphans'>;

export class BlockTree {
  private tree = new Map<string, Entry>();
  private readonly committed = new Map<string, Block>();
  private readonly qcs = new Map<string, QC>();
  private readonly orphans = new Map<string, { from: number; msg: ProposalMsg }[]>();
  private orphanCount = 0;

  constructor(private readonly limits: Limits, tip: Entry) {
    this.tree.set(toHex(tip.block.hash), tip);
    this.committed.set(toHex(tip.block.hash), tip.block);
  }

  get(hash: Uint8Array | string): Entry | undefined {
    return this.tree.get(typeof hash === 'string' ? hash : toHex(hash));
  }

  has(hash: Uint8Array | string): boolean {
    return this.tree.has(typeof hash === 'string' ? hash : toHex(hash));
  }

  /** Uncommitted blocks held (the tip not counted). */
  get pending(): number {
    return this.tree.size - 1;
  }

  /** Whether one more uncommitted block fits. */
  get full(): boolean {
    return this.tree.size >= this.limits.maxPendingBlocks + 1;
  }

  add(entry: Entry): void {
    this.tree.set(toHex(entry.block.hash), entry);
  }

  /** The tree is just `tip` (a restart's replay, an imported snapshot). */
  resetTo(tip: Entry): void {
    this.tree = new Map([[toHex(tip.block.hash), tip]]);
  }

  /** Keep only the committed tip and its descendants; orphans at or below it are dropped. */
  pruneTo(tip: Entry): void {
    const tipHeight = tip.block.header.height;
    const entries = [...this.tree.values()].sort((a, b) => a.block.header.height - b.block.header.height);
    const keep = new Map<string, Entry>([[toHex(tip.block.hash), tip]]);
    for (const e of entries) {
      if (e.block.header.height <= tipHeight) continue;
      if (keep.has(toHex(e.block.header.parentHash))) keep.set(toHex(e.block.hash), e);
    }
    this.tree = keep;
    for (const k of [...this.orphans.keys()]) {
      const list = this.orphans.get(k)!;
      const alive = list.filter((o) => o.msg.block.header.height > tipHeight);
      this.orphanCount -= list.length - alive.length;
      if (alive.length === 0) this.orphans.delete(k);
      else this.orphans.set(k, alive);
    }
  }

  /**
   * The blocks from just above `tip` up to `target` (certified by `qc`), in height order, each with
   * the QC that certifies it (its child's justify); null when `target` does not extend `tip`.
   */
  chainTo(target: Entry, qc: QC, tip: Entry): { readonly entry: Entry; readonly qc: QC }[] | null {
    const chain: { entry: Entry; qc: QC }[] = [];
    let cur: Entry | undefined = target;
    let q = qc;
    while (cur !== undefined && cur.block.header.height > tip.block.header.height) {
      chain.push({ entry: cur, qc: q });
      q = cur.block.header.justify;
      cur = this.get(cur.block.header.parentHash);
    }
    return cur === tip ? chain.reverse() : null;
  }

  cacheCommitted(b: Block): void {
    this.committed.set(toHex(b.hash), b);
    while (this.committed.size > this.limits.maxCommittedCache) {
      const first = this.committed.keys().next().value;
      if (first === undefined) break;
      this.committed.delete(first);
    }
  }

  /** A block held here, uncommitted or in the committed window (what catch-up can be served from). */
  block(hash: string): Block | undefined {
    return this.tree.get(hash)?.block ?? this.committed.get(hash);
  }

  /** The lowest committed height still in the window (tipHeight + 1 when none is). */
  lowestCachedHeight(tipHeight: number): number {
    const first = this.committed.values().next().value;
    return first === undefined ? tipHeight + 1 : first.header.height;
  }

  rememberQC(qc: QC): void {
    const k = toHex(qc.blockHash);
    if (this.qcs.has(k)) return;
    if (this.qcs.size >= this.limits.maxCommittedCache + this.limits.maxPendingBlocks) {
      const first = this.qcs.keys().next().value;
      if (first !== undefined) this.qcs.delete(first);
    }
    this.qcs.set(k, qc);
  }

  qcOf(hash: Uint8Array | string): QC | undefined {
    return this.qcs.get(typeof hash === 'string' ? hash : toHex(hash));
  }

  /** A proposal whose parent is not here yet; false when no room is left (it is dropped). */
  addOrphan(from: number, msg: ProposalMsg): boolean {
    if (this.orphanCount >= this.limits.maxOrphans) return false;
    const k = toHex(msg.block.header.parentHash);
    const list = this.orphans.get(k) ?? [];
    list.push({ from, msg });
    this.orphans.set(k, list);
    this.orphanCount++;
    return true;
  }

  /** The proposals that were waiting for `parent`, no longer held here. */
  takeOrphans(parent: string): readonly { from: number; msg: ProposalMsg }[] {
    const list = this.orphans.get(parent);
    if (list === undefined) return [];
    this.orphans.delete(parent);
    this.orphanCount -= list.length;
    return list;
  }
}
