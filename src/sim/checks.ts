// The invariants a simulated run is held to, checked as it goes and at its end: no conflicting
// commits, equal state roots, consecutive heights per node, no transaction applied twice on the
// committed chain, no honest key signing conflicting messages (ledger.ts), evidence against every
// validator an honest node saw equivocate, no honest validator penalised, and liveness after the
// faults heal.
import type { ConsensusMessage } from '../consensus/messages.ts';
import type { Note } from '../consensus/ready.ts';
import type { Block } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import { SignatureLedger } from './ledger.ts';
import type { SimNode } from './sim-node.ts';

interface NodeTrack {
  lastHeight: number;
  lastCommitAt: number;
}

export class SimChecks {
  readonly violations: string[] = [];
  safetyBroken = false;
  readonly ledger = new SignatureLedger();
  commits = 0;
  maxHeight = 0;
  slashingEvents = 0;
  maxGapAfterKillMs = 0;
  private readonly committed = new Map<number, { hash: string; root: string }>();
  /** txid → height it was applied at, on the committed chain */
  private readonly applied = new Map<string, number>();
  private readonly track = new Map<number, NodeTrack>();
  private readonly equivocations = new Map<string, Set<string>>(); // kind/validator/round → block hashes sent
  private readonly seenByHonest = new Map<string, Set<string>>(); // instance:incarnation:key → hashes delivered
  private readonly equivSeenByOne = new Set<string>();
  private readonly evidenceKnown = new Set<string>();
  /** height → digest of the consensus state (epoch, leader weights, RANDAO, PoC) honest nodes reached */
  private readonly consensusStates = new Map<number, string>();
  /** epoch/validator → PoC outcome honest nodes committed */
  private readonly pocOutcomes = new Map<string, string>();
  /** validators whose PoC behaviour is honest: a 'wrong' outcome for one is a bug */
  pocHonest: (validator: number) => boolean = () => true;

  constructor(
    private readonly isByz: (validator: number) => boolean,
    private readonly killAt: { readonly validator: number; readonly atMs: number } | undefined,
  ) {}

  violation(s: string): void {
    if (s.startsWith('SAFETY')) this.safetyBroken = true;
    if (this.violations.length < 20) this.violations.push(s);
  }

  private trackOf(node: SimNode): NodeTrack {
    let t = this.track.get(node.id);
    if (t === undefined) this.track.set(node.id, (t = { lastHeight: 0, lastCommitAt: 0 }));
    return t;
  }

  /** A node is coming back: it continues from the height it will recover (its durable log). */
  restarting(node: SimNode): void {
    this.trackOf(node).lastHeight = node.durableHeight;
  }

  lastHeight(node: SimNode): number {
    return this.trackOf(node).lastHeight;
  }

  lastCommitAt(node: SimNode): number {
    return this.trackOf(node).lastCommitAt;
  }

  onCommit(node: SimNode, block: Block, stateRoot: Uint8Array | undefined, appliedTxids: readonly string[], now: number): void {
    if (!node.honest) return;
    const h = block.header.height;
    const hash = toHex(block.hash);
    const t = this.trackOf(node);
    this.commits++;
    if (h !== t.lastHeight + 1) this.violation(`node ${node.index} committed height ${h} after ${t.lastHeight}`);
    t.lastHeight = h;
    if (this.killAt !== undefined && now > this.killAt.atMs) this.maxGapAfterKillMs = Math.max(this.maxGapAfterKillMs, now - Math.max(t.lastCommitAt, this.killAt.atMs));
    t.lastCommitAt = now;
    if (stateRoot === undefined || toHex(stateRoot) !== toHex(block.header.stateRoot)) this.violation(`node ${node.index} state root at height ${h} differs from the block's`);
    const prev = this.committed.get(h);
    if (prev === undefined) {
      this.committed.set(h, { hash, root: toHex(block.header.stateRoot) });
      for (const id of appliedTxids) {
        const at = this.applied.get(id);
        if (at !== undefined) this.violation(`SAFETY: transaction ${id.slice(0, 12)} applied at heights ${at} and ${h}`);
        else this.applied.set(id, h);
      }
    } else {
      if (prev.hash !== hash) this.violation(`SAFETY: conflicting commits at height ${h}: ${prev.hash.slice(0, 12)} vs ${hash.slice(0, 12)} (node ${node.index})`);
      if (prev.root !== toHex(block.header.stateRoot)) this.violation(`state roots differ at height ${h}`);
    }
    if (h > this.maxHeight) this.maxHeight = h;
  }

  /**
   * The consensus state an honest node reached at `height`: a pure function of the chain, so every
   * honest node must reach the same one (the same leader weights above all).
   */
  onConsensusState(node: SimNode, height: number, digest: string): void {
    if (!node.honest) return;
    const prev = this.consensusStates.get(height);
    if (prev === undefined) this.consensusStates.set(height, digest);
    else if (prev !== digest) this.violation(`SAFETY: honest nodes computed different consensus states (leader weights) at height ${height} (node ${node.index})`);
  }

  /** PoC outcomes by 'validator:outcome', each epoch counted once. */
  pocOutcomeCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, o] of this.pocOutcomes) {
      const k = `${key.split('/')[1]}:${o}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  onNote(node: SimNode, n: Note): void {
    switch (n.type) {
      case 'poc_outcome': {
        if (!node.honest) break;
        const o = n.outcome;
        const key = `${o.epoch}/${o.validator}`;
        const prev = this.pocOutcomes.get(key);
        if (prev !== undefined && prev !== o.outcome) this.violation(`SAFETY: honest nodes disagree on validator ${o.validator}'s PoC outcome in epoch ${o.epoch}: ${prev} vs ${o.outcome}`);
        this.pocOutcomes.set(key, o.outcome);
        if (o.outcome === 'wrong' && this.pocHonest(o.validator)) this.violation(`validator ${o.validator} answers its PoC challenges honestly, but its answer in epoch ${o.epoch} was judged wrong`);
        break;
      }
      case 'evidence':
        if (node.honest) this.evidenceKnown.add(`${n.evidence.kind}/${n.evidence.validator}/${n.evidence.round}`);
        break;
      case 'slashing':
        this.slashingEvents++;
        // Penalties are for provable faults only: an honest validator must never be penalised.
        if (!this.isByz(n.event.validator)) this.violation(`honest validator ${n.event.validator} penalised (${n.event.kind}) at height ${n.event.height}`);
        break;
      case 'state_root_mismatch':
        if (node.honest) this.violation(`node ${node.index} saw a state-root mismatch at height ${n.height}`);
        break;
      case 'log':
        if (n.level === 'error' && node.honest) this.violation(`node ${node.index}: ${n.msg}`);
        break;
    }
  }

  /** A signed message leaving `from` (honest: into the ledger; faulty: its equivocations counted). */
  onSend(from: SimNode, m: ConsensusMessage): void {
    if (from.honest) {
      this.ledger.record(from.index, m);
      return;
    }
    if (m.type !== 'proposal' && m.type !== 'vote') return;
    const round = m.type === 'proposal' ? m.block.header.round : m.round;
    const key = `${m.type}/${from.index}/${round}`;
    const set = this.equivocations.get(key) ?? new Set<string>();
    set.add(toHex(m.type === 'proposal' ? m.block.hash : m.blockHash));
    this.equivocations.set(key, set);
  }

  /** A faulty validator's signed message reached honest node `to`. */
  onDelivered(to: SimNode, fromIndex: number, m: ConsensusMessage): void {
    if (m.type !== 'proposal' && m.type !== 'vote') return;
    const round = m.type === 'proposal' ? m.block.header.round : m.round;
    // Beyond the detector's window when it arrived, either way.
    const current = to.core.currentRound;
    if (round + 32 < current || round > current + 32) return;
    const key = `${m.type}/${fromIndex}/${round}`;
    const k = `${to.id}:${to.incarnation}:${key}`;
    const set = this.seenByHonest.get(k) ?? new Set<string>();
    set.add(toHex(m.type === 'proposal' ? m.block.hash : m.blockHash));
    this.seenByHonest.set(k, set);
    if (set.size >= 2) this.equivSeenByOne.add(key);
  }

  /** End of run. Returns the number of equivocations the faulty validators sent. */
  finish(honest: readonly SimNode[], healAt: number, heightAtHeal: number, livenessBound: number, now: number, duration: number, events: number): number {
    for (const c of this.ledger.conflicts) this.violation(`SAFETY: honest key signed conflicting messages: ${c}`);
    let equivocations = 0;
    for (const [, hashes] of this.equivocations) if (hashes.size >= 2) equivocations++;
    // Per validator: evidence pools are bounded per validator, so one that equivocates in every round
    // is caught a few times, not once per round.
    const caught = new Set([...this.evidenceKnown].map((k) => k.split('/')[1]));
    for (const key of this.equivSeenByOne) {
      const v = key.split('/')[1];
      if (!caught.has(v)) this.violation(`no honest node produced evidence against validator ${v} for equivocation ${key} that an honest node received`);
    }
    if (!this.safetyBroken && now < duration) this.violation(`the run stopped after ${events} events at ${now} of ${duration} virtual ms (steps limit): a message storm?`);
    if (!this.safetyBroken && now >= healAt + livenessBound) {
      for (const node of honest) {
        const t = this.trackOf(node);
        if (t.lastCommitAt <= healAt) this.violation(`LIVENESS: node ${node.index} committed nothing within ${livenessBound} ms after faults healed (height ${t.lastHeight})`);
        // Healed, every honest node catches up with the highest height any of them had reached, and goes beyond it.
        else if (t.lastHeight <= heightAtHeal) this.violation(`LIVENESS: node ${node.index} ended at height ${t.lastHeight}, not above the ${heightAtHeal} reached before faults healed`);
      }
    }
    return equivocations;
  }
}
