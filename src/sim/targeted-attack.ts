// A targeted attack in the style of Twins (Bano et al.): routing depends on the round a message
// belongs to. Both attacks wait until an honest victim V is about to commit a block B (B of round
// `round` − 1 and a block of `round` extending it), deliver the votes of `round` to V only, so that V
// alone commits B, and then cut V off (messages of later rounds, and catch-up) until the network
// heals. The other honest nodes and the Byzantine one are still a quorum; they then try to certify
// and commit a block beside B:
// - split-vote: the Byzantine node leads round `round` − 1 and shows both of its blocks X and Y to
//   everyone; votes for X reach V only, votes for Y everyone else, and V leads `round`. V extends X
//   and commits it; the others, holding a QC for Y of the same round, extend Y after the TC of
//   `round`. Honest nodes never vote for both X and Y, so at most one of the two QCs can form.
// - stale-fork: after cutting V off, the Byzantine node votes for nothing until, leading a round after
//   a TC, it proposes a block extending B's parent (unsafe.staleQcFork). The TC reports B's QC, so
//   correct nodes refuse it.
import { toHex } from '../crypto/sha256.ts';
import type { ConsensusCore } from '../consensus/core.ts';
import type { ConsensusMessage } from '../consensus/messages.ts';
import { quorumThreshold } from '../consensus/quorum.ts';

export type TargetedMode = 'split-vote' | 'stale-fork';

/** The sender or receiver of a routed message, as the attack sees it. */
export interface Party {
  readonly index: number;
  readonly honest: boolean;
  readonly core: ConsensusCore;
}

/** The round a message belongs to for routing; catch-up and evidence belong to none (Infinity). */
export function messageRound(m: ConsensusMessage): number {
  switch (m.type) {
    case 'proposal': return m.block.header.round;
    case 'vote':
    case 'timeout': return m.round;
    case 'cert': return Math.max(m.qc.round, m.tc?.round ?? 0);
    default: return Number.POSITIVE_INFINITY;
  }
}

// Lets the chain grow a little first, so that the fork is not just beside genesis.
const ATTACK_FROM_ROUND = 3;

export class TargetedAttack {
  /** Once started: '<mode> round R victim V'. */
  description = '';
  private round = -1;
  private victim = -1;
  /** split-vote: the Byzantine blocks of round − 1, first seen first (votes for [0] go to V only). */
  private readonly blocks: string[] = [];
  /** stale-fork: the Byzantine node has made its fork proposal and votes again. */
  private forked = false;
  private readonly total: number;
  private readonly quorum: number;

  constructor(
    readonly mode: TargetedMode,
    private readonly byz: number,
    private readonly powers: readonly number[],
    /** split-vote: how long V's proposal is held (the longest message delay). */
    private readonly holdMs: number,
  ) {
    this.total = powers.reduce((a, b) => a + b, 0);
    this.quorum = quorumThreshold(this.total);
  }

  get started(): boolean {
    return this.round >= 0;
  }

  // The victim must be honest, and the rest must still be a quorum together with the Byzantine node;
  // for stale-fork the honest rest must not be one on its own (else it certifies past B without it).
  private victimFits(v: number): boolean {
    const rest = this.total - this.powers[v]!;
    return v !== this.byz && rest >= this.quorum && (this.mode !== 'stale-fork' || rest - this.powers[this.byz]! < this.quorum);
  }

  /** Every message sent while faults are active (proposals only until the attack starts). */
  onSend(from: Party, m: ConsensusMessage): void {
    if (!this.started) this.maybeStart(from, m);
    if (!this.started || m.type !== 'proposal' || from.honest) return;
    const h = m.block.header;
    if (this.mode === 'split-vote' && h.round === this.round - 1 && !this.blocks.includes(toHex(m.block.hash))) this.blocks.push(toHex(m.block.hash));
    if (this.mode === 'stale-fork' && h.round > this.round && h.tc !== null) this.forked = true;
  }

  private maybeStart(from: Party, m: ConsensusMessage): void {
    if (m.type !== 'proposal') return;
    const h = m.block.header;
    if (h.round < ATTACK_FROM_ROUND) return;
    if (this.mode === 'split-vote') {
      if (from.honest) return;
      const v = from.core.leaderFor(m.block.hash, h.round + 1);
      if (v === null || !this.victimFits(v)) return;
      this.begin(h.round + 1, v);
    } else {
      if (h.tc !== null || h.justify.round !== h.round - 1) return;
      let v = -1;
      for (let i = 0; i < this.powers.length; i++) if (this.victimFits(i) && (v < 0 || this.powers[i]! < this.powers[v]!)) v = i;
      if (v >= 0) this.begin(h.round, v);
    }
  }

  private begin(round: number, victim: number): void {
    this.round = round;
    this.victim = victim;
    this.description = `${this.mode} round ${round} victim ${victim}`;
  }

  /** Whether the adversary drops `m` from `from` to `to`. */
  drops(from: Party, to: Party, m: ConsensusMessage): boolean {
    if (!this.started) return false;
    const r = messageRound(m);
    if (r > this.round) {
      if (from.index === this.victim || to.index === this.victim) return true;
      // Until its fork the Byzantine node neither adds its vote to a QC nor sees one form: with no QC
      // above B's, the others cannot commit B themselves, and its stale QC stays that of B's parent.
      return this.mode === 'stale-fork' && !this.forked && m.type === 'vote' && (from.index === this.byz || to.index === this.byz);
    }
    // A QC relayed on its own carries what the votes carried: the adversary routes it like them.
    const voted = m.type === 'vote' ? m.blockHash : m.type === 'cert' && m.tc === null ? m.qc.blockHash : null;
    if (voted === null) return false;
    if (r === this.round) return to.index !== this.victim;
    if (r === this.round - 1 && this.mode === 'split-vote') {
      const h = toHex(voted);
      if (h === this.blocks[0]) return to.index !== this.victim;
      if (h === this.blocks[1]) return to.index === this.victim;
    }
    return false;
  }

  // split-vote: V's block of round R carries QC(X); the others must form QC(Y) first, or (equal rounds:
  // the first one stays) they keep QC(X) as their high QC and extend X. Holding V's proposal for the
  // longest message delay lets the votes for Y arrive first.
  hold(from: Party, m: ConsensusMessage): number {
    return this.started && this.mode === 'split-vote' && m.type === 'proposal' && from.index === this.victim && m.block.header.round === this.round ? this.holdMs : 0;
  }
}
