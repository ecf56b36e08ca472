// Deterministic in-process simulation of N consensus cores. One seeded PRNG owns the network (drop,
// delay, duplication, reordering, partitions), the clock (virtual ms), the disk (safety state is
// durable once its `persist` action is processed; the commit log only at random "fsync" points) and
// crash/restart. Byzantine validators: an equivocating, double-voting leader, Twins (two honest
// instances sharing one key), or one of two targeted attacks in which the adversary (one validator
// below a third of the power, plus the network before it heals) tries to fork the chain; they only
// succeed if honest validators break a voting rule. Invariants are checked as the run goes; any seed
// replays exactly.
import { toHex } from '../crypto/sha256.ts';
import { genesisBlock, genesisQC } from '../consensus/block.ts';
import { ConsensusCore, type Action } from '../consensus/core.ts';
import { decodeMessage, type ConsensusMessage } from '../consensus/messages.ts';
import { quorumThreshold } from '../consensus/quorum.ts';
import type { Block, ConsensusConfig, QC, SafetyState, UnsafeSwitches, Validator } from '../consensus/types.ts';
import { FakeApp } from './fake-app.ts';
import { fakeKey, fakeVerifier, realKey, realVerifier, type SimKey } from './keys.ts';
import { Prng } from './prng.ts';
import { EventQueue } from './queue.ts';

/**
 * none; equivocate: two proposals per led round (one to each half), votes for both; twins: two honest
 * instances with one key; split-vote and stale-fork: the targeted attacks described at `Attack`.
 */
export type ByzantineMode = 'none' | 'equivocate' | 'twins' | 'split-vote' | 'stale-fork';

/** The rules `breakRule` can switch off on every honest node. */
export type BreakableRule = 'skipLastVotedRoundCheck' | 'skipTcHighQcCheck' | 'commitOnOneChain';
export const BREAKABLE_RULES: readonly BreakableRule[] = ['skipLastVotedRoundCheck', 'skipTcHighQcCheck', 'commitOnOneChain'];

/**
 * A fault scenario (4 equal validators) in which breaking the rule leads to a safety violation within
 * a few seeds, while the intact protocol survives it: a double vote lets the split-vote attack certify
 * both of a leader's blocks; voting on a stale QC after a TC lets the stale-fork attack certify a
 * branch beside a committed block; under the 1-chain rule a node commits a block on its first QC,
 * which lossy links can keep from the others, who then certify a sibling after a TC.
 */
export const BREAK_SCENARIOS: Readonly<Record<BreakableRule, SimFaults>> = {
  skipLastVotedRoundCheck: { byzantine: 'split-vote', maxDelayMs: 40 },
  skipTcHighQcCheck: { byzantine: 'stale-fork', maxDelayMs: 40 },
  commitOnOneChain: { dropRate: 0.2, maxDelayMs: 100 },
};

export interface SimFaults {
  readonly dropRate?: number;
  readonly dupRate?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly partitions?: boolean;
  readonly crashes?: boolean;
  readonly byzantine?: ByzantineMode;
  /** Validators that are down for the whole run (never start; counted as faulty, not checked). */
  readonly down?: readonly number[];
  /** A validator killed for good at a virtual time (counted as faulty); stats.maxGapAfterKillMs measures the effect. */
  readonly killAt?: { readonly validator: number; readonly atMs: number };
  /** Protocol-breaking switches applied to the honest nodes (to show that the checks catch bugs). */
  readonly unsafe?: UnsafeSwitches;
}

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Maximum events processed. */
  readonly steps?: number;
  /** Virtual duration (ms). Faults stop at 60% of it; liveness is checked after that. */
  readonly durationMs?: number;
  /** A fault description, or 'random' to derive one from the seed. */
  readonly faults?: SimFaults | 'random';
  readonly realSignatures?: boolean;
  readonly epochLength?: number;
  readonly timeoutBaseMs?: number;
  /** Voting powers; default: all 1 (or random 1..4 with faults 'random'). */
  readonly powers?: readonly number[];
  /** After faults heal, every honest node must commit a new block within this many virtual ms. */
  readonly livenessBoundMs?: number;
  /** Protocol-breaking switches for honest nodes, combined with the faults (also with 'random'). */
  readonly unsafeHonest?: UnsafeSwitches;
  /** Shorthand for unsafeHonest: {[breakRule]: true} (merged with unsafeHonest). */
  readonly breakRule?: BreakableRule;
  /** Leader pacing (ms) between entering a round and proposing. */
  readonly blockIntervalMs?: number;
}

export interface SimStats {
  events: number;
  virtualMs: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesDropped: number;
  commits: number;
  maxHeight: number;
  minHonestHeight: number;
  rounds: number;
  timeouts: number;
  tcsFormed: number;
  evidence: number;
  slashingEvents: number;
  crashes: number;
  equivocations: number;
  syncBlocks: number;
  faults: string;
  /** The targeted attack, once triggered: '<mode> round R victim V' ('' if none). */
  attack: string;
  /** With faults.killAt: the longest time an honest node went without a commit after the kill. */
  maxGapAfterKillMs: number;
}

export interface SimResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly violations: string[];
  readonly stats: SimStats;
}

interface Instance {
  readonly id: number;
  readonly index: number;
  readonly honest: boolean;
  readonly unsafe: UnsafeSwitches | undefined;
  core: ConsensusCore;
  app: FakeApp;
  alive: boolean;
  incarnation: number;
  durableSafety: SafetyState | null;
  log: { block: Block; qc: QC }[];
  syncedLen: number;
  /** Durable store of uncommitted blocks (persistBlock), pruned up to the synced log height. */
  blockStore: Map<string, Block>;
  timerGen: number;
  lastHeight: number;
  lastCommitAt: number;
}

type SimEvent =
  | { at: number; seq: number; kind: 'deliver'; to: number; from: number; bytes: Uint8Array }
  | { at: number; seq: number; kind: 'timer'; inst: number; gen: number }
  | { at: number; seq: number; kind: 'restart'; inst: number }
  | { at: number; seq: number; kind: 'partition' }
  | { at: number; seq: number; kind: 'heal' }
  | { at: number; seq: number; kind: 'kill'; validator: number };

const NODE_CYCLE = [4, 1, 4, 2, 5, 3, 7, 4, 10, 6];

/** Validator count the runner uses for a seed (covers 1..10, weighted towards 4). */
export function nodesForSeed(seed: number): number {
  return NODE_CYCLE[seed % NODE_CYCLE.length]!;
}

type NoSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

/**
 * A targeted attack in the style of Twins (Bano et al.): routing depends on the round a message
 * belongs to. Both attacks wait until an honest victim V is about to commit a block B (B of round
 * `round` − 1 and a block of `round` extending it), deliver the votes of `round` to V only, so that V
 * alone commits B, and then cut V off (messages of later rounds, and catch-up) until the network
 * heals. The other honest nodes and the Byzantine one are still a quorum; they then try to certify
 * and commit a block beside B:
 * - split-vote: the Byzantine node leads round `round` − 1 and shows both of its blocks X and Y to
 *   everyone; votes for X reach V only, votes for Y everyone else, and V leads `round`. V extends X
 *   and commits it; the others, holding a QC for Y of the same round, extend Y after the TC of
 *   `round`. Honest nodes never vote for both X and Y, so at most one of the two QCs can form.
 * - stale-fork: after cutting V off, the Byzantine node votes for nothing until, leading a round after
 *   a TC, it proposes a block extending B's parent (unsafe.staleQcFork). The TC reports B's QC, so
 *   correct nodes refuse it.
 */
interface Attack {
  readonly mode: 'split-vote' | 'stale-fork';
  readonly round: number;
  readonly victim: number;
  /** split-vote: the Byzantine blocks of round − 1, first seen first (votes for [0] go to V only). */
  readonly blocks: string[];
  /** stale-fork: the Byzantine node has made its fork proposal and votes again. */
  forked: boolean;
}

/** The round a message belongs to for routing; catch-up and evidence belong to none (Infinity). */
function messageRound(m: ConsensusMessage): number {
  switch (m.type) {
    case 'proposal': return m.block.header.round;
    case 'vote':
    case 'timeout': return m.round;
    case 'cert': return Math.max(m.qc.round, m.tc?.round ?? 0);
    default: return Number.POSITIVE_INFINITY;
  }
}

function randomFaults(rng: Prng, n: number): SimFaults {
  const byz: ByzantineMode[] = ['none', 'equivocate', 'twins', 'split-vote', 'stale-fork'];
  return {
    dropRate: [0, 0.02, 0.1, 0.25][rng.int(0, 3)]!,
    dupRate: [0, 0.05][rng.int(0, 1)]!,
    minDelayMs: 1,
    maxDelayMs: [20, 100, 400][rng.int(0, 2)]!,
    partitions: rng.chance(0.5),
    crashes: rng.chance(0.5),
    byzantine: n >= 4 ? byz[rng.int(0, byz.length - 1)]! : 'none',
  };
}

function describe(f: SimFaults): string {
  const broken = Object.entries(f.unsafe ?? {}).filter(([, on]) => on === true).map(([k]) => k);
  return `drop=${f.dropRate ?? 0} dup=${f.dupRate ?? 0} delay=${f.minDelayMs ?? 1}-${f.maxDelayMs ?? 20} part=${f.partitions === true ? 1 : 0} crash=${f.crashes === true ? 1 : 0} byz=${f.byzantine ?? 'none'}${f.down?.length ? ` down=${f.down.join(',')}` : ''}${f.killAt ? ` kill=${f.killAt.validator}@${f.killAt.atMs}` : ''}${broken.length > 0 ? ` broken=${broken.join(',')}` : ''}`;
}

export function runSimulation(opts: SimOptions): SimResult {
  const rng = new Prng(opts.seed);
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new RangeError('nodes must be 1..10');
  const f0: SimFaults = opts.faults === 'random' ? randomFaults(rng, n) : opts.faults ?? {};
  const unsafeHonest: UnsafeSwitches | undefined = opts.breakRule !== undefined ? { ...opts.unsafeHonest, [opts.breakRule]: true } : opts.unsafeHonest;
  const faults: SimFaults = unsafeHonest !== undefined ? { ...f0, unsafe: unsafeHonest } : f0;
  const duration = opts.durationMs ?? 12_000;
  const healAt = Math.floor(duration * 0.6);
  const maxSteps = opts.steps ?? 400_000;
  const base = opts.timeoutBaseMs ?? 200;
  const livenessBound = opts.livenessBoundMs ?? Math.floor(duration * 0.4) - 1;
  const powers = opts.powers ?? (opts.faults === 'random' ? Array.from({ length: n }, () => rng.int(1, 4)) : Array.from({ length: n }, () => 1));
  const total = powers.reduce((a, b) => a + b, 0);
  // The Byzantine validator is the lowest-power one, and only if its power stays below a third.
  let byzIndex = -1;
  if ((faults.byzantine ?? 'none') !== 'none') {
    let lo = 0;
    powers.forEach((p, i) => { if (p < powers[lo]!) lo = i; });
    if (3 * powers[lo]! < total) byzIndex = lo;
  }
  const keys: SimKey[] = powers.map((_, i) => (opts.realSignatures === true ? realKey(opts.seed, i) : fakeKey(opts.seed, i)));
  const verifier = opts.realSignatures === true ? realVerifier : fakeVerifier;
  const validators: Validator[] = keys.map((k, i) => ({ publicKey: k.publicKey, power: powers[i]! }));
  const chainId = `sim-${opts.seed}`;
  const genesisRoot = new Uint8Array(32);
  const genesis = genesisBlock(chainId, 0, genesisRoot, validators);
  const baseConfig = (self: number, unsafe: UnsafeSwitches | undefined): ConsensusConfig => ({
    chainId, validators, self, genesis: { timeMs: 0, stateRoot: genesisRoot }, epochLength: opts.epochLength ?? 8, timeoutBaseMs: base,
    blockIntervalMs: opts.blockIntervalMs ?? 20, limits: { maxSyncBlocks: 16 }, unsafe,
  });

  const violations: string[] = [];
  let safetyBroken = false;
  const violation = (s: string) => {
    if (s.startsWith('SAFETY')) safetyBroken = true;
    if (violations.length < 20) violations.push(s);
  };
  const stats: SimStats = {
    events: 0, virtualMs: 0, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0, commits: 0, maxHeight: 0, minHonestHeight: 0, rounds: 0,
    timeouts: 0, tcsFormed: 0, evidence: 0, slashingEvents: 0, crashes: 0, equivocations: 0, syncBlocks: 0, faults: describe(faults),
    attack: '',
    maxGapAfterKillMs: 0,
  };

  const queue = new EventQueue<SimEvent>();
  let seq = 0;
  let now = 0;
  const push = (e: NoSeq<SimEvent>) => queue.push({ ...e, seq: seq++ } as SimEvent);

  const instances: Instance[] = [];
  const makeCore = (inst: { index: number; unsafe: UnsafeSwitches | undefined; durableSafety: SafetyState | null; log: { block: Block; qc: QC }[] }, appRng: Prng) => {
    const app = new FakeApp(genesis.hash, genesisRoot, appRng);
    const core = new ConsensusCore(baseConfig(inst.index, inst.unsafe), app, keys[inst.index]!.signer, verifier, inst.durableSafety, { block: genesis, qc: genesisQC(genesis.hash) });
    for (const { block, qc } of inst.log) {
      const r = app.execute(block.header.parentHash, block.header.height, block.txs);
      app.attach(r.id, block.hash);
      core.replayCommitted(block, qc);
    }
    return { core, app };
  };
  const addInstance = (index: number, honest: boolean, unsafe: UnsafeSwitches | undefined) => {
    const proto = { index, unsafe, durableSafety: null, log: [] };
    const { core, app } = makeCore(proto, rng.fork());
    instances.push({ id: instances.length, index, honest, unsafe, core, app, alive: true, incarnation: 0, durableSafety: null, log: [], syncedLen: 0, blockStore: new Map(), timerGen: 0, lastHeight: 0, lastCommitAt: 0 });
  };
  const down = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (faults.down?.includes(i) === true) {
      addInstance(i, false, undefined);
      instances[instances.length - 1]!.alive = false;
      down.add(instances.length - 1);
    } else if (faults.killAt?.validator === i) addInstance(i, false, undefined); // faulty: never checked, even before its kill
    else if (i === byzIndex && faults.byzantine === 'equivocate') addInstance(i, false, { equivocateProposals: true, doubleVote: true });
    else if (i === byzIndex && faults.byzantine === 'split-vote') addInstance(i, false, { equivocateProposals: true, equivocateToAll: true, doubleVote: true });
    // It votes for its own stale block, which its own (correct) TC rule would forbid.
    else if (i === byzIndex && faults.byzantine === 'stale-fork') addInstance(i, false, { staleQcFork: true, skipTcHighQcCheck: true });
    else if (i === byzIndex && faults.byzantine === 'twins') {
      addInstance(i, false, undefined);
      addInstance(i, false, undefined);
    } else addInstance(i, true, faults.unsafe);
  }
  const byIndex = (i: number) => instances.filter((x) => x.index === i);

  // ---- global invariant state ----
  const committed = new Map<number, { hash: string; root: string }>();
  const equivocations = new Map<string, Set<string>>(); // kind/validator/round → block hashes sent
  const seenByHonest = new Map<string, Set<string>>(); // instance:incarnation:key → hashes delivered
  const equivSeenByOne = new Set<string>();
  const evidenceKnown = new Set<string>();
  let partition: Set<number> | null = null;

  const faultPhase = () => now < healAt;
  const crashProb = faults.crashes === true ? 0.003 : 0;

  const attackMode = byzIndex >= 0 && (faults.byzantine === 'split-vote' || faults.byzantine === 'stale-fork') ? faults.byzantine : null;
  let attack: Attack | null = null;
  const quorum = quorumThreshold(total);
  // The victim must be honest, and the rest must still be a quorum together with the Byzantine node;
  // for stale-fork the honest rest must not be one on its own (else it certifies past B without it).
  const victimFits = (v: number) => v !== byzIndex && total - powers[v]! >= quorum && (attackMode !== 'stale-fork' || total - powers[v]! - powers[byzIndex]! < quorum);
  // Lets the chain grow a little first, so that the fork is not just beside genesis.
  const attackFromRound = 3;

  const maybeStartAttack = (from: Instance, m: ConsensusMessage) => {
    if (attack !== null || attackMode === null || m.type !== 'proposal') return;
    const h = m.block.header;
    if (h.round < attackFromRound) return;
    if (attackMode === 'split-vote') {
      if (from.honest) return;
      const v = from.core.leaderFor(m.block.hash, h.round + 1);
      if (v === null || !victimFits(v)) return;
      attack = { mode: attackMode, round: h.round + 1, victim: v, blocks: [], forked: false };
    } else {
      if (h.tc !== null || h.justify.round !== h.round - 1) return;
      let v = -1;
      for (let i = 0; i < n; i++) if (victimFits(i) && (v < 0 || powers[i]! < powers[v]!)) v = i;
      if (v < 0) return;
      attack = { mode: attackMode, round: h.round, victim: v, blocks: [], forked: false };
    }
    stats.attack = `${attack.mode} round ${attack.round} victim ${attack.victim}`;
  };

  /** Whether the adversary drops message `m` from `from` to `to` (it has already started). */
  const attackDrops = (a: Attack, from: Instance, to: Instance, m: ConsensusMessage): boolean => {
    const r = messageRound(m);
    if (r > a.round) {
      if (from.index === a.victim || to.index === a.victim) return true;
      // Until its fork the Byzantine node neither adds its vote to a QC nor sees one form: with no QC
      // above B's, the others cannot commit B themselves, and its stale QC stays that of B's parent.
      return a.mode === 'stale-fork' && !a.forked && m.type === 'vote' && (from.index === byzIndex || to.index === byzIndex);
    }
    // A QC relayed on its own carries what the votes carried: the adversary routes it like them.
    const voted = m.type === 'vote' ? m.blockHash : m.type === 'cert' && m.tc === null ? m.qc.blockHash : null;
    if (voted === null) return false;
    if (r === a.round) return to.index !== a.victim;
    if (r === a.round - 1 && a.mode === 'split-vote') {
      const h = toHex(voted);
      if (h === a.blocks[0]) return to.index !== a.victim;
      if (h === a.blocks[1]) return to.index === a.victim;
    }
    return false;
  };

  // split-vote: V's block of round R carries QC(X); the others must form QC(Y) first, or (equal rounds:
  // the first one stays) they keep QC(X) as their high QC and extend X. Holding V's proposal for the
  // longest message delay lets the votes for Y arrive first.
  const attackHoldMs = (a: Attack, from: Instance, m: ConsensusMessage): number =>
    a.mode === 'split-vote' && m.type === 'proposal' && from.index === a.victim && m.block.header.round === a.round ? faults.maxDelayMs ?? 20 : 0;

  const send = (from: Instance, to: number | 'all', bytes: Uint8Array, kind: string) => {
    // Before the attack starts only proposals can start it; decoding everything would slow the sweep.
    const adversary = attackMode !== null && faultPhase() && (attack !== null || kind === 'proposal');
    const decoded = adversary || (!from.honest && (kind === 'proposal' || kind === 'vote')) ? decodeMessage(bytes) : null;
    if (adversary && decoded !== null) {
      maybeStartAttack(from, decoded);
      const a: Attack | null = attack;
      if (a !== null && decoded.type === 'proposal' && !from.honest) {
        const h = decoded.block.header;
        if (a.mode === 'split-vote' && h.round === a.round - 1 && !a.blocks.includes(toHex(decoded.block.hash))) a.blocks.push(toHex(decoded.block.hash));
        if (a.mode === 'stale-fork' && h.round > a.round && h.tc !== null) a.forked = true;
      }
    }
    if (!from.honest && (kind === 'proposal' || kind === 'vote')) {
      const m = decoded!;
      if (m.type === 'proposal' || m.type === 'vote') {
        const round = m.type === 'proposal' ? m.block.header.round : m.round;
        const hash = toHex(m.type === 'proposal' ? m.block.hash : m.blockHash);
        const key = `${m.type}/${from.index}/${round}`;
        const set = equivocations.get(key) ?? new Set<string>();
        set.add(hash);
        equivocations.set(key, set);
      }
    }
    const targets = to === 'all' ? instances.filter((x) => x.index !== from.index) : byIndex(to);
    for (const t of targets) {
      stats.messagesSent++;
      if (faultPhase()) {
        if (attack !== null && decoded !== null && attackDrops(attack, from, t, decoded)) { stats.messagesDropped++; continue; }
        if (rng.chance(faults.dropRate ?? 0)) { stats.messagesDropped++; continue; }
        if (partition !== null && partition.has(from.index) !== partition.has(t.index)) { stats.messagesDropped++; continue; }
      }
      const lo = faults.minDelayMs ?? 1;
      const hi = faultPhase() ? faults.maxDelayMs ?? 20 : Math.min(faults.maxDelayMs ?? 20, 50);
      const hold = attack !== null && decoded !== null && faultPhase() ? attackHoldMs(attack, from, decoded) : 0;
      push({ at: now + hold + rng.int(lo, hi), kind: 'deliver', to: t.id, from: from.index, bytes });
      if (faultPhase() && rng.chance(faults.dupRate ?? 0)) push({ at: now + rng.int(lo, hi * 2), kind: 'deliver', to: t.id, from: from.index, bytes });
    }
  };

  const crash = (inst: Instance) => {
    inst.alive = false;
    inst.timerGen++;
    inst.log.length = inst.syncedLen; // commit-log writes that were never fsynced are lost
    stats.crashes++;
    push({ at: Math.min(now + rng.int(base, base * 10), healAt), kind: 'restart', inst: inst.id });
  };

  const restart = (inst: Instance) => {
    if (inst.alive) return;
    const { core, app } = makeCore(inst, rng.fork());
    inst.core = core;
    inst.app = app;
    inst.alive = true;
    inst.incarnation++;
    inst.lastHeight = inst.log.length;
    apply(inst, core.restoreBlocks([...inst.blockStore.values()], now));
    if (inst.alive) apply(inst, core.start(now));
  };

  const apply = (inst: Instance, actions: Action[]) => {
    // A crash may strike between any two actions: everything after it never happens, and the
    // persist it interrupts (if any) never became durable.
    const cut = inst.honest && faultPhase() && rng.chance(crashProb) ? rng.int(0, actions.length) : -1;
    for (let i = 0; i < actions.length; i++) {
      if (i === cut) { crash(inst); return; }
      const a = actions[i]!;
      switch (a.type) {
        case 'persist':
          inst.durableSafety = a.safety;
          break;
        case 'persistBlock':
          inst.blockStore.set(toHex(a.block.hash), a.block);
          break;
        case 'send':
          send(inst, a.to, a.bytes, a.kind);
          break;
        case 'setTimer':
          inst.timerGen++;
          push({ at: Math.max(a.at, now), kind: 'timer', inst: inst.id, gen: inst.timerGen });
          break;
        case 'commit': {
          const h = a.block.header.height;
          const hash = toHex(a.block.hash);
          const root = inst.app.rootOf(a.block.hash);
          if (!inst.honest) break;
          stats.commits++;
          if (h !== inst.lastHeight + 1) violation(`node ${inst.index} committed height ${h} after ${inst.lastHeight}`);
          inst.lastHeight = h;
          if (faults.killAt !== undefined && now > faults.killAt.atMs) stats.maxGapAfterKillMs = Math.max(stats.maxGapAfterKillMs, now - Math.max(inst.lastCommitAt, faults.killAt.atMs));
          inst.lastCommitAt = now;
          if (root === undefined || toHex(root) !== toHex(a.block.header.stateRoot)) violation(`node ${inst.index} state root at height ${h} differs from the block's`);
          const prev = committed.get(h);
          if (prev === undefined) committed.set(h, { hash, root: toHex(a.block.header.stateRoot) });
          else {
            if (prev.hash !== hash) violation(`SAFETY: conflicting commits at height ${h}: ${prev.hash.slice(0, 12)} vs ${hash.slice(0, 12)} (node ${inst.index})`);
            if (prev.root !== toHex(a.block.header.stateRoot)) violation(`state roots differ at height ${h}`);
          }
          if (h > stats.maxHeight) stats.maxHeight = h;
          inst.log.push({ block: a.block, qc: a.qc });
          if (rng.chance(0.3)) {
            inst.syncedLen = inst.log.length;
            for (const [k, b] of inst.blockStore) if (b.header.height <= inst.syncedLen) inst.blockStore.delete(k);
          }
          break;
        }
        case 'evidence':
          if (inst.honest) evidenceKnown.add(`${a.evidence.kind}/${a.evidence.validator}/${a.evidence.round}`);
          break;
        case 'slashing':
          stats.slashingEvents++;
          // Quorum weights follow slashing; that is safe only because an honest validator is never
          // slashed (docs/consensus.md, "Quorum weights").
          if (a.event.validator !== byzIndex) violation(`honest validator ${a.event.validator} slashed (${a.event.kind}) at height ${a.event.height}`);
          break;
        case 'state_root_mismatch':
          if (inst.honest) violation(`node ${inst.index} saw a state-root mismatch at height ${a.height}`);
          break;
        case 'log':
          if (a.level === 'error' && inst.honest) violation(`node ${inst.index}: ${a.msg}`);
          break;
      }
    }
    if (cut === actions.length) crash(inst);
  };

  const trackDelivery = (to: Instance, fromIndex: number, bytes: Uint8Array) => {
    if (!to.honest || fromIndex !== byzIndex) return;
    const m = decodeMessage(bytes);
    if (m.type !== 'proposal' && m.type !== 'vote') return;
    const round = m.type === 'proposal' ? m.block.header.round : m.round;
    if (round + 32 < to.core.currentRound) return; // beyond the detector's window when it arrived
    const key = `${m.type}/${fromIndex}/${round}`;
    const k = `${to.id}:${to.incarnation}:${key}`;
    const set = seenByHonest.get(k) ?? new Set<string>();
    set.add(toHex(m.type === 'proposal' ? m.block.hash : m.blockHash));
    seenByHonest.set(k, set);
    if (set.size >= 2) equivSeenByOne.add(key);
  };

  // ---- schedule faults and start ----
  if (faults.partitions === true) {
    for (let t = rng.int(base, base * 5); t < healAt; t += rng.int(base * 5, base * 20)) push({ at: t, kind: 'partition' });
  }
  push({ at: healAt, kind: 'heal' });
  if (faults.killAt !== undefined) push({ at: faults.killAt.atMs, kind: 'kill', validator: faults.killAt.validator });
  for (const inst of instances) if (inst.alive) apply(inst, inst.core.start(0));

  // After a safety violation the run has made its point; stop rather than simulate a forked chain.
  while (stats.events < maxSteps && !safetyBroken) {
    const e = queue.pop();
    if (e === undefined || e.at > duration) break;
    now = e.at;
    stats.events++;
    switch (e.kind) {
      case 'deliver': {
        const inst = instances[e.to]!;
        if (!inst.alive) { stats.messagesDropped++; break; }
        // A process killed with messages still in flight: some of its last sends never arrive (its
        // sockets are reset), so peers can disagree about its last block or vote.
        if (faults.killAt !== undefined && e.from === faults.killAt.validator && now >= faults.killAt.atMs && rng.chance(0.5)) { stats.messagesDropped++; break; }
        stats.messagesDelivered++;
        trackDelivery(inst, e.from, e.bytes);
        apply(inst, inst.core.onMessage(e.from, e.bytes, now));
        break;
      }
      case 'timer': {
        const inst = instances[e.inst]!;
        if (inst.alive && inst.timerGen === e.gen) apply(inst, inst.core.onTimer(now));
        break;
      }
      case 'restart':
        restart(instances[e.inst]!);
        break;
      case 'partition': {
        if (partition !== null) { partition = null; break; }
        const side = new Set<number>();
        for (let i = 0; i < n; i++) if (rng.chance(0.5)) side.add(i);
        partition = side;
        break;
      }
      case 'kill':
        for (const inst of instances) {
          if (inst.index !== e.validator) continue;
          inst.alive = false;
          inst.timerGen++;
          down.add(inst.id);
        }
        break;
      case 'heal':
        partition = null;
        for (const inst of instances) if (!inst.alive && !down.has(inst.id)) restart(inst);
        break;
    }
  }
  stats.virtualMs = now;

  // ---- end-of-run checks ----
  for (const [key, hashes] of equivocations) if (hashes.size >= 2) stats.equivocations++;
  for (const key of equivSeenByOne) {
    if (!evidenceKnown.has(key)) violation(`no honest node produced evidence for equivocation ${key} that an honest node received`);
  }
  const honest = instances.filter((x) => x.honest);
  stats.minHonestHeight = Math.min(...honest.map((x) => x.lastHeight));
  if (!safetyBroken && (now >= healAt + livenessBound || queue.size === 0)) {
    for (const inst of honest) {
      if (inst.lastCommitAt <= healAt || inst.lastCommitAt > healAt + livenessBound) {
        const later = inst.lastCommitAt > healAt;
        if (!later) violation(`LIVENESS: node ${inst.index} committed nothing within ${livenessBound} ms after faults healed (height ${inst.lastHeight})`);
      }
    }
  }
  for (const inst of instances) {
    const m = inst.core.metrics;
    stats.rounds = Math.max(stats.rounds, inst.core.currentRound);
    stats.timeouts += m.timeouts;
    stats.tcsFormed += m.tcsFormed;
    stats.evidence += m.evidenceFound;
    stats.syncBlocks += m.syncBlocksApplied;
  }
  return { ok: violations.length === 0, seed: opts.seed, violations, stats };
}
