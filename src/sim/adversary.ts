// Byzantine validators that send malicious content, each with only its own keys: what an attacker
// holding up to f validator keys can put on the wire. They run next to their own (honest-code) core,
// watch what reaches them, and inject crafted messages through the simulated network.
// - poison-tc: the coalition assembles TCs from f + 1 honest timeouts and its own timeouts claiming a
//   high QC of round − 1, and sends them before the honest TC forms;
// - sync-inject: uncertified blocks (siblings with valid headers and roots) pushed as unsolicited
//   sync responses, and forged answers to real sync requests;
// - far-future: votes, timeouts and proposals for rounds ahead of everyone, within and far beyond
//   the aggregation window.
import { makeBlock, proposalSignBytes, timeoutSignBytes, voteSignBytes } from '../consensus/block.ts';
import { epochOf } from '../consensus/chain-state.ts';
import type { ConsensusCore } from '../consensus/core.ts';
import type { ConsensusMessage } from '../consensus/messages.ts';
import { quorumThreshold } from '../consensus/quorum.ts';
import type { Block, BlockHeader, QC, Signer, TC } from '../consensus/types.ts';
import type { ExecResult } from '../consensus/app.ts';
import type { Prng } from './prng.ts';

export interface ByzantineNode {
  readonly index: number;
  readonly signer: Signer;
  readonly core: ConsensusCore;
  readonly app: { execute(parent: Uint8Array, height: number, txs: readonly Uint8Array[]): ExecResult };
}

export interface AdversaryContext {
  readonly chainId: string;
  readonly powers: readonly number[];
  /** Validator indices the adversary holds the keys of. */
  readonly byzantine: readonly number[];
  readonly epochLength: number;
  readonly rng: Prng;
  /** A live instance of Byzantine validator `index`, or null while it is down. */
  node(index: number): ByzantineNode | null;
  /**
   * Send `msg` from Byzantine validator `from` through the simulated network; `urgent`: with the
   * shortest delay (the adversary may also control the network's timing, as in the BFT model).
   */
  inject(from: number, to: number | 'all', msg: ConsensusMessage, urgent?: boolean): void;
}

export interface Adversary {
  /** A message reached Byzantine validator `to` from `from`. */
  observe(to: number, from: number, msg: ConsensusMessage): void;
  /** Called every tickMs of virtual time, for the whole run. */
  tick(): void;
  /** Whether the adversary keeps its own core's message to itself (it sends its own version instead). */
  suppresses(msg: ConsensusMessage): boolean;
  readonly tickMs: number;
  /** What it has sent, for the run's stats. */
  readonly sent: Record<string, number>;
}

export function makeAdversary(mode: 'poison-tc' | 'sync-inject' | 'far-future', ctx: AdversaryContext): Adversary {
  switch (mode) {
    case 'poison-tc': return new TcPoisoner(ctx);
    case 'sync-inject': return new SyncInjector(ctx);
    case 'far-future': return new FarFuture(ctx);
  }
}

/** The best (highest-round) QC the coalition holds: its members' own and any it has been shown. */
function bestQc(ctx: AdversaryContext, seen: QC | null): QC | null {
  let best = seen;
  for (const i of ctx.byzantine) {
    const q = ctx.node(i)?.core.highestQC;
    if (q !== undefined && (best === null || q.round > best.round)) best = q;
  }
  return best;
}

class TcPoisoner implements Adversary {
  readonly tickMs = 1_000_000;
  readonly sent: Record<string, number> = { poisonedTcs: 0 };
  private readonly timeouts = new Map<number, Map<number, { readonly hqc: QC; readonly sig: Uint8Array }>>();
  private readonly done = new Set<number>();
  private seenQc: QC | null = null;
  private readonly byzPower: number;
  private readonly quorum: number;

  constructor(private readonly ctx: AdversaryContext) {
    this.byzPower = ctx.byzantine.reduce((s, i) => s + ctx.powers[i]!, 0);
    this.quorum = quorumThreshold(ctx.powers.reduce((a, b) => a + b, 0));
  }

  observe(_to: number, from: number, msg: ConsensusMessage): void {
    const q = msg.type === 'timeout' || msg.type === 'vote' ? msg.highQC : msg.type === 'cert' ? msg.qc : null;
    if (q !== null && (this.seenQc === null || q.round > this.seenQc.round)) this.seenQc = q;
    if (msg.type !== 'timeout' || this.ctx.byzantine.includes(from) || msg.voter !== from || this.done.has(msg.round)) return;
    let m = this.timeouts.get(msg.round);
    if (m === undefined) {
      if (this.timeouts.size >= 64) this.timeouts.delete(Math.min(...this.timeouts.keys()));
      m = new Map();
      this.timeouts.set(msg.round, m);
    }
    m.set(msg.voter, { hqc: msg.highQC, sig: msg.sig });
    let honest = 0;
    for (const v of m.keys()) honest += this.ctx.powers[v]!;
    if (honest + this.byzPower < this.quorum) return;
    this.done.add(msg.round);
    this.poison(msg.round, m);
  }

  /** A TC for `round` in which every coalition member claims a high QC of round − 1. */
  private poison(round: number, honest: Map<number, { readonly hqc: QC; readonly sig: Uint8Array }>): void {
    const entries = new Map<number, { hqcRound: number; sig: Uint8Array }>();
    for (const [v, e] of honest) entries.set(v, { hqcRound: e.hqc.round, sig: e.sig });
    let sender = -1;
    for (const i of this.ctx.byzantine) {
      const node = this.ctx.node(i);
      if (node === null) continue;
      sender = i;
      entries.set(i, { hqcRound: round - 1, sig: node.signer.sign(timeoutSignBytes(this.ctx.chainId, round, round - 1)) });
    }
    const qc = bestQc(this.ctx, this.seenQc);
    if (sender < 0 || qc === null) return;
    const signers = [...entries.keys()].sort((a, b) => a - b);
    // It must attach a QC of the highest round claimed; the best it has is lower than round − 1
    // whenever the poisoning matters, so the TC is refused wherever TCs are checked.
    const tc: TC = {
      round, signers, highQcRounds: signers.map((s) => entries.get(s)!.hqcRound), sigs: signers.map((s) => entries.get(s)!.sig), highQC: qc,
    };
    this.sent.poisonedTcs!++;
    this.ctx.inject(sender, 'all', { type: 'cert', qc, tc }, true);
  }

  tick(): void {}

  // Its members' honest timeouts would let the honest TC form as early as the poisoned one, and
  // their proposals would carry their own honest TCs.
  suppresses(msg: ConsensusMessage): boolean {
    return msg.type === 'timeout' || msg.type === 'proposal';
  }
}

/** A block with a valid header and roots extending `parent` (certified by `justify`) in `round`, which nobody certified. */
function siblingBlock(node: ByzantineNode, ctx: AdversaryContext, justify: QC, round: number, parentRound: number): Block | null {
  const proposer = node.core.leaderFor(justify.blockHash, round);
  if (proposer === null || round <= parentRound) return null;
  const height = justify.height + 1;
  const txs = [ctx.rng.bytes(16)];
  let exec: ExecResult;
  try {
    exec = node.app.execute(justify.blockHash, height, txs);
  } catch {
    return null;
  }
  const header: BlockHeader = {
    chainId: ctx.chainId, height, round, parentHash: justify.blockHash, proposer, timestamp: 0, txRoot: exec.txRoot, stateRoot: exec.stateRoot,
    justify, tc: null, epoch: epochOf(height, ctx.epochLength), randao: { commit: null, reveal: null }, evidence: [],
  };
  return makeBlock(header, txs);
}

/** A block claiming to extend `b`, with a justify nobody signed: the tail a forged response hangs off. */
function forgedChild(b: Block): Block {
  const justify: QC = { round: b.header.round, height: b.header.height, blockHash: b.hash, signers: [], sigs: [] };
  return makeBlock({ ...b.header, height: b.header.height + 1, round: b.header.round + 1, parentHash: b.hash, justify }, []);
}

class SyncInjector implements Adversary {
  readonly tickMs = 1000;
  readonly sent: Record<string, number> = { unsolicited: 0, forgedAnswers: 0 };
  private nextRound = 0;

  constructor(private readonly ctx: AdversaryContext) {}

  observe(to: number, from: number, msg: ConsensusMessage): void {
    // Answer a real request with an uncertified sibling of the block asked for.
    if (msg.type !== 'sync_request' || this.ctx.byzantine.includes(from)) return;
    const node = this.ctx.node(to);
    const qc = node?.core.highestQC;
    if (node === null || qc === undefined || qc.height + 1 !== msg.fromHeight) return;
    const b = siblingBlock(node, this.ctx, qc, node.core.currentRound + 1 + this.ctx.rng.int(0, 8), qc.round);
    if (b === null) return;
    this.sent.forgedAnswers!++;
    this.ctx.inject(to, from, { type: 'sync_response', blocks: [b, forgedChild(b)], qc: null });
  }

  suppresses(): boolean {
    return false;
  }

  tick(): void {
    for (const i of this.ctx.byzantine) {
      const node = this.ctx.node(i);
      if (node === null) continue;
      const qc = node.core.highestQC;
      this.nextRound = Math.max(this.nextRound, node.core.currentRound + 1);
      // A burst larger than the pending-block window between two commits of the victim.
      for (let k = 0; k < 300; k++) {
        const b = siblingBlock(node, this.ctx, qc, this.nextRound++, qc.round);
        if (b === null) continue;
        this.sent.unsolicited!++;
        this.ctx.inject(i, 'all', { type: 'sync_response', blocks: [b, forgedChild(b)], qc: null });
      }
    }
  }
}

class FarFuture implements Adversary {
  readonly tickMs = 400;
  readonly sent: Record<string, number> = { futureVotes: 0, futureTimeouts: 0, futureProposals: 0 };

  constructor(private readonly ctx: AdversaryContext) {}

  observe(): void {}

  suppresses(): boolean {
    return false;
  }

  tick(): void {
    for (const i of this.ctx.byzantine) {
      const node = this.ctx.node(i);
      if (node === null) continue;
      const cur = node.core.currentRound;
      const qc = node.core.highestQC;
      const rounds = [cur + 1_000_000];
      for (let r = cur + 2; r <= cur + 70; r += this.ctx.rng.int(1, 3)) rounds.push(r);
      for (const round of rounds) {
        const sig = node.signer.sign(timeoutSignBytes(this.ctx.chainId, round, qc.round));
        this.sent.futureTimeouts!++;
        this.ctx.inject(i, 'all', { type: 'timeout', round, voter: i, highQC: qc, highTC: null, sig });
        const blockHash = this.ctx.rng.bytes(32);
        const height = qc.height + 2;
        this.sent.futureVotes!++;
        this.ctx.inject(i, 'all', { type: 'vote', round, height, blockHash, voter: i, sig: node.signer.sign(voteSignBytes(this.ctx.chainId, round, height, blockHash)), highQC: qc, highTC: null });
        if (round > cur + 64 || node.core.leaderFor(qc.blockHash, round) !== i) continue;
        const b = siblingBlock(node, this.ctx, qc, round, qc.round);
        if (b === null) continue;
        this.sent.futureProposals!++;
        this.ctx.inject(i, 'all', { type: 'proposal', block: b, sig: node.signer.sign(proposalSignBytes(this.ctx.chainId, round, b.header.height, b.hash)), highTC: null });
      }
    }
  }
}
