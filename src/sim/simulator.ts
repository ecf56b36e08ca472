// Deterministic in-process simulation of N consensus cores. One seeded PRNG owns the network (drop,
// delay, duplication, reordering, partitions), the clock (virtual ms), the disk (safety state is
// durable once its `persist` action is processed; the commit log only at random "fsync" points) and
// crash/restart. Byzantine validators: an equivocating, double-voting leader, or Twins (two honest
// instances sharing one key). Invariants are checked as the run goes; any seed replays exactly.
import { toHex } from '../crypto/sha256.ts';
import { genesisBlock, genesisQC } from '../consensus/block.ts';
import { ConsensusCore, type Action } from '../consensus/core.ts';
import { decodeMessage } from '../consensus/messages.ts';
import type { Block, ConsensusConfig, QC, SafetyState, UnsafeSwitches, Validator } from '../consensus/types.ts';
import { FakeApp } from './fake-app.ts';
import { fakeKey, fakeVerifier, realKey, realVerifier, type SimKey } from './keys.ts';
import { Prng } from './prng.ts';
import { EventQueue } from './queue.ts';

export type ByzantineMode = 'none' | 'equivocate' | 'twins';

export interface SimFaults {
  readonly dropRate?: number;
  readonly dupRate?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly partitions?: boolean;
  readonly crashes?: boolean;
  readonly byzantine?: ByzantineMode;
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
  | { at: number; seq: number; kind: 'heal' };

const NODE_CYCLE = [4, 1, 4, 2, 5, 3, 7, 4, 10, 6];

/** Validator count the runner uses for a seed (covers 1..10, weighted towards 4). */
export function nodesForSeed(seed: number): number {
  return NODE_CYCLE[seed % NODE_CYCLE.length]!;
}

type NoSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

function randomFaults(rng: Prng, n: number): SimFaults {
  const byz: ByzantineMode[] = ['none', 'equivocate', 'twins'];
  return {
    dropRate: [0, 0.02, 0.1, 0.25][rng.int(0, 3)]!,
    dupRate: [0, 0.05][rng.int(0, 1)]!,
    minDelayMs: 1,
    maxDelayMs: [20, 100, 400][rng.int(0, 2)]!,
    partitions: rng.chance(0.5),
    crashes: rng.chance(0.5),
    byzantine: n >= 4 ? byz[rng.int(0, 2)]! : 'none',
  };
}

function describe(f: SimFaults): string {
  return `drop=${f.dropRate ?? 0} dup=${f.dupRate ?? 0} delay=${f.minDelayMs ?? 1}-${f.maxDelayMs ?? 20} part=${f.partitions === true ? 1 : 0} crash=${f.crashes === true ? 1 : 0} byz=${f.byzantine ?? 'none'}`;
}

export function runSimulation(opts: SimOptions): SimResult {
  const rng = new Prng(opts.seed);
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new RangeError('nodes must be 1..10');
  const f0: SimFaults = opts.faults === 'random' ? randomFaults(rng, n) : opts.faults ?? {};
  const faults: SimFaults = opts.unsafeHonest !== undefined ? { ...f0, unsafe: opts.unsafeHonest } : f0;
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
  for (let i = 0; i < n; i++) {
    if (i === byzIndex && faults.byzantine === 'equivocate') addInstance(i, false, { equivocateProposals: true, doubleVote: true });
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

  const send = (from: Instance, to: number | 'all', bytes: Uint8Array, kind: string) => {
    if (!from.honest && (kind === 'proposal' || kind === 'vote')) {
      const m = decodeMessage(bytes);
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
        if (rng.chance(faults.dropRate ?? 0)) { stats.messagesDropped++; continue; }
        if (partition !== null && partition.has(from.index) !== partition.has(t.index)) { stats.messagesDropped++; continue; }
      }
      const lo = faults.minDelayMs ?? 1;
      const hi = faultPhase() ? faults.maxDelayMs ?? 20 : Math.min(faults.maxDelayMs ?? 20, 50);
      push({ at: now + rng.int(lo, hi), kind: 'deliver', to: t.id, from: from.index, bytes });
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
  for (const inst of instances) apply(inst, inst.core.start(0));

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
      case 'heal':
        partition = null;
        for (const inst of instances) if (!inst.alive) restart(inst);
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
