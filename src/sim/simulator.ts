// Deterministic in-process simulation of N consensus cores. One seeded PRNG owns the network (drop,
// delay, duplication, reordering, partitions, asymmetric links; network.ts), every node's clock
// (virtual ms, optionally skewed), the disk (safety state is durable once its `persist` action is
// processed; the commit log only at random "fsync" points), crashes of one node at any point of an
// action list, and power cuts of every node at once. Byzantine validators (faults.ts): an
// equivocating, double-voting leader, Twins (two honest instances sharing one key, each talking to
// its own part of the network), the targeted attacks of targeted-attack.ts, and up to f validators
// sending malicious content (adversary.ts). Invariants are checked as the run goes: no conflicting
// commits, equal state roots, no honest key signing two conflicting messages (ledger.ts), evidence
// for every equivocation an honest node saw, no honest validator penalised; and after the faults
// heal every honest node commits again. Any seed replays exactly.
import { toHex } from '../crypto/sha256.ts';
import { genesisBlock, genesisQC } from '../consensus/block.ts';
import { ConsensusCore, type Action } from '../consensus/core.ts';
import { decodeMessage, encodeMessage, type ConsensusMessage } from '../consensus/messages.ts';
import type { Block, ConsensusConfig, QC, SafetyState, UnsafeSwitches, Validator } from '../consensus/types.ts';
import { makeAdversary, type Adversary } from './adversary.ts';
import { FakeApp } from './fake-app.ts';
import { describeFaults, randomFaults, SCENARIO_CLASSES, type BreakableRule, type ScenarioClass, type SimFaults } from './faults.ts';
import { fakeKey, fakeVerifier, realKey, realVerifier, type SimKey } from './keys.ts';
import { SignatureLedger } from './ledger.ts';
import { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import { EventQueue } from './queue.ts';
import { messageRound, TargetedAttack } from './targeted-attack.ts';

export { BREAK_SCENARIOS, BREAKABLE_RULES, SCENARIO_CLASSES, type BreakableRule, type ByzantineMode, type ScenarioClass, type SimFaults } from './faults.ts';

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Maximum events processed. */
  readonly steps?: number;
  /** Virtual duration (ms). Faults stop at 60% of it; liveness is checked after that. */
  readonly durationMs?: number;
  /** A fault description, or 'random' to derive one from the seed (of the seed's scenario class). */
  readonly faults?: SimFaults | 'random';
  /** With faults 'random': the scenario class to draw from (default classForSeed(seed)). */
  readonly scenario?: ScenarioClass;
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
  powerCuts: number;
  equivocations: number;
  syncBlocks: number;
  /** Signed votes, timeouts and proposals of honest validators checked for conflicts. */
  signedChecked: number;
  faults: string;
  /** The targeted attack, once triggered: '<mode> round R victim V' ('' if none). */
  attack: string;
  /** What the malicious-content adversary sent (e.g. 'poisonedTcs=12'), '' if none. */
  adversary: string;
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
  /** Local clock: offset + now × rate / 1000. */
  readonly clock: { readonly offset: number; readonly rate: number };
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
  | { at: number; seq: number; kind: 'kill'; validator: number }
  | { at: number; seq: number; kind: 'powercut' }
  | { at: number; seq: number; kind: 'adversary' };

const NODE_CYCLE = [4, 1, 4, 2, 5, 3, 7, 4, 10, 6];

/** Validator count the runner uses for a seed (covers 1..10, weighted towards 4). */
export function nodesForSeed(seed: number): number {
  return NODE_CYCLE[seed % NODE_CYCLE.length]!;
}

/** The scenario class of a random-fault seed: 'classic' half the time, each other class equally often. */
export function classForSeed(seed: number): ScenarioClass {
  const k = Math.floor(seed / NODE_CYCLE.length) % (2 * (SCENARIO_CLASSES.length - 1));
  return k < SCENARIO_CLASSES.length - 1 ? 'classic' : SCENARIO_CLASSES[k - SCENARIO_CLASSES.length + 2]!;
}

type NoSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

const MAX_POWER_CUTS = 4;

/**
 * The Byzantine validators: the lowest-power ones, up to `count`, while their power stays below a
 * third of the total (lowest index first among equals).
 */
function pickByzantine(powers: readonly number[], count: number): number[] {
  const total = powers.reduce((a, b) => a + b, 0);
  const order = powers.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: number[] = [];
  let power = 0;
  for (const [p, i] of order) {
    if (out.length >= count || 3 * (power + p) >= total) break;
    out.push(i);
    power += p;
  }
  return out;
}

export function runSimulation(opts: SimOptions): SimResult {
  const rng = new Prng(opts.seed);
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new RangeError('nodes must be 1..10');
  const f0: SimFaults = opts.faults === 'random' ? randomFaults(rng, n, opts.scenario ?? classForSeed(opts.seed)) : opts.faults ?? {};
  const unsafeHonest: UnsafeSwitches | undefined = opts.breakRule !== undefined ? { ...opts.unsafeHonest, [opts.breakRule]: true } : opts.unsafeHonest;
  let faults: SimFaults = unsafeHonest !== undefined ? { ...f0, unsafe: unsafeHonest } : f0;
  const duration = opts.durationMs ?? 12_000;
  const healAt = Math.floor(duration * 0.6);
  const maxSteps = opts.steps ?? 400_000;
  const base = opts.timeoutBaseMs ?? 200;
  const livenessBound = opts.livenessBoundMs ?? Math.floor(duration * 0.4) - 1;
  const powers = opts.powers ?? (opts.faults === 'random' ? Array.from({ length: n }, () => rng.int(1, 4)) : Array.from({ length: n }, () => 1));
  // A seed's down validator must stay below a third of the power drawn for it, or nothing could commit.
  const downPower = (faults.down ?? []).reduce((a, i) => a + (powers[i] ?? 0), 0);
  if (opts.faults === 'random' && 3 * downPower >= powers.reduce((a, b) => a + b, 0)) faults = { ...faults, down: [] };
  const mode = faults.byzantine ?? 'none';
  const targeted = mode === 'split-vote' || mode === 'stale-fork';
  const byzantine = mode === 'none' ? [] : pickByzantine(powers, targeted ? 1 : faults.byzantineCount ?? 1);
  const isByz = (i: number) => byzantine.includes(i);
  const keys: SimKey[] = powers.map((_, i) => (opts.realSignatures === true ? realKey(opts.seed, i) : fakeKey(opts.seed, i)));
  const verifier = opts.realSignatures === true ? realVerifier : fakeVerifier;
  const validators: Validator[] = keys.map((k, i) => ({ publicKey: k.publicKey, power: powers[i]! }));
  const chainId = `sim-${opts.seed}`;
  const epochLength = opts.epochLength ?? 8;
  const genesisRoot = new Uint8Array(32);
  const genesis = genesisBlock(chainId, 0, genesisRoot, validators);
  const baseConfig = (self: number, unsafe: UnsafeSwitches | undefined): ConsensusConfig => ({
    chainId, validators, self, genesis: { timeMs: 0, stateRoot: genesisRoot }, epochLength, timeoutBaseMs: base,
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
    timeouts: 0, tcsFormed: 0, evidence: 0, slashingEvents: 0, crashes: 0, powerCuts: 0, equivocations: 0, syncBlocks: 0, signedChecked: 0,
    faults: describeFaults(faults), attack: '', adversary: '', maxGapAfterKillMs: 0,
  };

  const queue = new EventQueue<SimEvent>();
  let seq = 0;
  let now = 0;
  const push = (e: NoSeq<SimEvent>) => queue.push({ ...e, seq: seq++ } as SimEvent);
  const net = new SimNetwork(rng, n, faults);

  const instances: Instance[] = [];
  const localNow = (inst: Instance) => inst.clock.offset + Math.floor((now * inst.clock.rate) / 1000);
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
    const clock = faults.clockSkew === true ? { offset: rng.int(0, 100_000), rate: rng.int(950, 1050) } : { offset: 0, rate: 1000 };
    instances.push({ id: instances.length, index, honest, unsafe, clock, core, app, alive: true, incarnation: 0, durableSafety: null, log: [], syncedLen: 0, blockStore: new Map(), timerGen: 0, lastHeight: 0, lastCommitAt: 0 });
  };
  const down = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (faults.down?.includes(i) === true) {
      addInstance(i, false, undefined);
      instances[instances.length - 1]!.alive = false;
      down.add(instances.length - 1);
    } else if (faults.killAt?.validator === i) addInstance(i, false, undefined); // faulty: never checked, even before its kill
    else if (isByz(i) && mode === 'equivocate') addInstance(i, false, { equivocateProposals: true, doubleVote: true });
    else if (isByz(i) && mode === 'split-vote') addInstance(i, false, { equivocateProposals: true, equivocateToAll: true, doubleVote: true });
    // It votes for its own stale block, which its own (correct) TC rule would forbid.
    else if (isByz(i) && mode === 'stale-fork') addInstance(i, false, { staleQcFork: true, skipTcHighQcCheck: true });
    else if (isByz(i) && mode === 'twins') {
      addInstance(i, false, undefined);
      addInstance(i, false, undefined);
      net.setTwins([instances.length - 2, instances.length - 1], powers.map((_, j) => j).filter((j) => j !== i));
    } else addInstance(i, !isByz(i), faults.unsafe);
  }
  const byIndex = (i: number) => instances.filter((x) => x.index === i);

  // ---- global invariant state ----
  const committed = new Map<number, { hash: string; root: string }>();
  const equivocations = new Map<string, Set<string>>(); // kind/validator/round → block hashes sent
  const seenByHonest = new Map<string, Set<string>>(); // instance:incarnation:key → hashes delivered
  const equivSeenByOne = new Set<string>();
  const evidenceKnown = new Set<string>();
  const ledger = new SignatureLedger();

  const faultPhase = () => now < healAt;
  const crashProb = faults.crashes === true ? 0.003 : 0;
  const attack = targeted && byzantine.length > 0 ? new TargetedAttack(mode, byzantine[0]!, powers, faults.maxDelayMs ?? 20) : null;
  let adversary: Adversary | null = null;
  let powerCutPending = false;
  let heightAtHeal = 0;

  const send = (from: Instance, to: number | 'all', bytes: Uint8Array, kind: string, known?: ConsensusMessage, urgent = false) => {
    // Before the attack starts only proposals can start it; decoding everything would slow the sweep.
    const routed = attack !== null && faultPhase() && (attack.started || kind === 'proposal');
    const signed = kind === 'proposal' || kind === 'vote' || kind === 'timeout';
    const watched = adversary !== null && !from.honest && isByz(from.index);
    const decoded = known ?? (routed || watched || (signed && (from.honest || kind !== 'timeout')) ? decodeMessage(bytes) : null);
    if (watched && known === undefined && decoded !== null && adversary!.suppresses(decoded)) return;
    if (routed && decoded !== null) attack.onSend(from, decoded);
    if (decoded !== null && from.honest) ledger.record(from.index, decoded);
    if (decoded !== null && !from.honest && (decoded.type === 'proposal' || decoded.type === 'vote')) {
      const round = decoded.type === 'proposal' ? decoded.block.header.round : decoded.round;
      const hash = toHex(decoded.type === 'proposal' ? decoded.block.hash : decoded.blockHash);
      const key = `${decoded.type}/${from.index}/${round}`;
      const set = equivocations.get(key) ?? new Set<string>();
      set.add(hash);
      equivocations.set(key, set);
    }
    const round = decoded === null ? Number.POSITIVE_INFINITY : messageRound(decoded);
    const targets = to === 'all' ? instances.filter((x) => x.index !== from.index) : byIndex(to);
    for (const t of targets) {
      stats.messagesSent++;
      if (faultPhase()) {
        if (net.twinBlocks(from, t)) { stats.messagesDropped++; continue; }
        if (attack !== null && decoded !== null && attack.drops(from, t, decoded)) { stats.messagesDropped++; continue; }
        if (rng.chance(faults.dropRate ?? 0)) { stats.messagesDropped++; continue; }
        if (net.blocks(from, t, round)) { stats.messagesDropped++; continue; }
      }
      const lo = faults.minDelayMs ?? 1;
      const hi = faultPhase() ? faults.maxDelayMs ?? 20 : Math.min(faults.maxDelayMs ?? 20, 50);
      const hold = attack !== null && decoded !== null && faultPhase() ? attack.hold(from, decoded) : 0;
      const at = urgent ? now + lo : now + hold + net.extraDelay(from.index, t.index) + rng.int(lo, hi);
      push({ at, kind: 'deliver', to: t.id, from: from.index, bytes });
      if (faultPhase() && rng.chance(faults.dupRate ?? 0)) push({ at: now + rng.int(lo, hi * 2), kind: 'deliver', to: t.id, from: from.index, bytes });
    }
  };

  const crash = (inst: Instance, restartAfter: number) => {
    inst.alive = false;
    inst.timerGen++;
    inst.log.length = inst.syncedLen; // commit-log writes that were never fsynced are lost
    stats.crashes++;
    push({ at: Math.min(now + restartAfter, healAt), kind: 'restart', inst: inst.id });
  };

  const restart = (inst: Instance) => {
    if (inst.alive) return;
    const { core, app } = makeCore(inst, rng.fork());
    inst.core = core;
    inst.app = app;
    inst.alive = true;
    inst.incarnation++;
    inst.lastHeight = inst.log.length;
    apply(inst, core.restoreBlocks([...inst.blockStore.values()], localNow(inst)));
    if (inst.alive) apply(inst, core.start(localNow(inst)));
  };

  /** Perform a core's action list; `tcs` is the core's TC count before the input (power cuts follow TCs). */
  const apply = (inst: Instance, actions: Action[], tcs = inst.core.metrics.tcsFormed) => {
    // A crash may strike between any two actions: everything after it never happens, and the
    // persist it interrupts (if any) never became durable.
    const cut = inst.honest && faultPhase() && rng.chance(crashProb) ? rng.int(0, actions.length) : -1;
    for (let i = 0; i < actions.length; i++) {
      if (i === cut) { crash(inst, rng.int(base, base * 10)); return; }
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
        case 'setTimer': {
          inst.timerGen++;
          // The core's deadline is on its own clock: the first global ms at which that clock reaches it.
          const at = Math.ceil(((a.at - inst.clock.offset) * 1000) / inst.clock.rate);
          push({ at: Math.max(at, now), kind: 'timer', inst: inst.id, gen: inst.timerGen });
          break;
        }
        case 'commit':
          onCommit(inst, a.block, a.qc);
          break;
        case 'evidence':
          if (inst.honest) evidenceKnown.add(`${a.evidence.kind}/${a.evidence.validator}/${a.evidence.round}`);
          break;
        case 'slashing':
          stats.slashingEvents++;
          // Penalties are for provable faults only: an honest validator must never be penalised.
          if (!isByz(a.event.validator)) violation(`honest validator ${a.event.validator} penalised (${a.event.kind}) at height ${a.event.height}`);
          break;
        case 'state_root_mismatch':
          if (inst.honest) violation(`node ${inst.index} saw a state-root mismatch at height ${a.height}`);
          break;
        case 'log':
          if (a.level === 'error' && inst.honest) violation(`node ${inst.index}: ${a.msg}`);
          break;
      }
    }
    if (cut === actions.length) { crash(inst, rng.int(base, base * 10)); return; }
    // A power cut right after a TC formed: the moment a whole-cluster restart is hardest to survive.
    if (faults.powerCuts === true && faultPhase() && !powerCutPending && stats.powerCuts < MAX_POWER_CUTS && inst.core.metrics.tcsFormed > tcs && rng.chance(0.3)) {
      powerCutPending = true;
      push({ at: now + rng.int(0, faults.maxDelayMs ?? 20), kind: 'powercut' });
    }
  };

  const onCommit = (inst: Instance, block: Block, qc: QC) => {
    const h = block.header.height;
    if (!inst.honest) return;
    const hash = toHex(block.hash);
    const root = inst.app.rootOf(block.hash);
    stats.commits++;
    if (h !== inst.lastHeight + 1) violation(`node ${inst.index} committed height ${h} after ${inst.lastHeight}`);
    inst.lastHeight = h;
    if (faults.killAt !== undefined && now > faults.killAt.atMs) stats.maxGapAfterKillMs = Math.max(stats.maxGapAfterKillMs, now - Math.max(inst.lastCommitAt, faults.killAt.atMs));
    inst.lastCommitAt = now;
    if (root === undefined || toHex(root) !== toHex(block.header.stateRoot)) violation(`node ${inst.index} state root at height ${h} differs from the block's`);
    const prev = committed.get(h);
    if (prev === undefined) committed.set(h, { hash, root: toHex(block.header.stateRoot) });
    else {
      if (prev.hash !== hash) violation(`SAFETY: conflicting commits at height ${h}: ${prev.hash.slice(0, 12)} vs ${hash.slice(0, 12)} (node ${inst.index})`);
      if (prev.root !== toHex(block.header.stateRoot)) violation(`state roots differ at height ${h}`);
    }
    if (h > stats.maxHeight) stats.maxHeight = h;
    inst.log.push({ block, qc });
    if (rng.chance(0.3)) {
      inst.syncedLen = inst.log.length;
      for (const [k, b] of inst.blockStore) if (b.header.height <= inst.syncedLen) inst.blockStore.delete(k);
    }
  };

  const trackDelivery = (to: Instance, fromIndex: number, m: ConsensusMessage) => {
    if (m.type !== 'proposal' && m.type !== 'vote') return;
    const round = m.type === 'proposal' ? m.block.header.round : m.round;
    // Beyond the detector's window when it arrived, either way.
    if (round + 32 < to.core.currentRound || round > to.core.currentRound + 32) return;
    const key = `${m.type}/${fromIndex}/${round}`;
    const k = `${to.id}:${to.incarnation}:${key}`;
    const set = seenByHonest.get(k) ?? new Set<string>();
    set.add(toHex(m.type === 'proposal' ? m.block.hash : m.blockHash));
    seenByHonest.set(k, set);
    if (set.size >= 2) equivSeenByOne.add(key);
  };

  if (mode === 'poison-tc' || mode === 'sync-inject' || mode === 'far-future') {
    adversary = makeAdversary(mode, {
      chainId, powers, byzantine, epochLength, rng: rng.fork(),
      node: (i) => {
        const inst = instances.find((x) => x.index === i && x.alive);
        return inst === undefined ? null : { index: i, signer: keys[i]!.signer, core: inst.core, app: inst.app };
      },
      inject: (from, to, msg, urgent) => {
        const inst = instances.find((x) => x.index === from && x.alive);
        if (inst !== undefined) send(inst, to, encodeMessage(msg), msg.type, msg, urgent === true);
      },
    });
    push({ at: adversary.tickMs, kind: 'adversary' });
  }

  // ---- schedule faults and start ----
  if (faults.partitions === true) {
    for (let t = rng.int(base, base * 5); t < healAt; t += rng.int(base * 5, base * 20)) push({ at: t, kind: 'partition' });
  }
  if (faults.powerCuts === true) push({ at: rng.int(base * 5, healAt), kind: 'powercut' });
  push({ at: healAt, kind: 'heal' });
  if (faults.killAt !== undefined) push({ at: faults.killAt.atMs, kind: 'kill', validator: faults.killAt.validator });
  for (const inst of instances) if (inst.alive) apply(inst, inst.core.start(localNow(inst)));

  // After a safety violation the run has made its point; stop rather than simulate a forked chain.
  while (stats.events < maxSteps && !safetyBroken) {
    const e = queue.pop();
    if (e === undefined || e.at > duration) {
      // Nothing more happens before the end: the run lasted its whole duration.
      now = duration;
      break;
    }
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
        const watch = (inst.honest && isByz(e.from)) || (adversary !== null && !inst.honest && isByz(inst.index));
        const m = watch ? decodeMessage(e.bytes) : null;
        if (m !== null && inst.honest) trackDelivery(inst, e.from, m);
        // Byzantine validators keep attacking after the network heals: liveness must hold despite them.
        if (m !== null && !inst.honest && adversary !== null) adversary.observe(inst.index, e.from, m);
        const tcs = inst.core.metrics.tcsFormed;
        apply(inst, inst.core.onMessage(e.from, e.bytes, localNow(inst)), tcs);
        break;
      }
      case 'timer': {
        const inst = instances[e.inst]!;
        if (inst.alive && inst.timerGen === e.gen) {
          const tcs = inst.core.metrics.tcsFormed;
          apply(inst, inst.core.onTimer(localNow(inst)), tcs);
        }
        break;
      }
      case 'restart':
        restart(instances[e.inst]!);
        break;
      case 'partition':
        net.togglePartition();
        break;
      case 'powercut': {
        powerCutPending = false;
        if (!faultPhase() || stats.powerCuts >= MAX_POWER_CUTS) break;
        stats.powerCuts++;
        // Every node at once; they come back at about the same time, as after a power cut.
        const back = rng.int(base, base * 3);
        for (const inst of instances) if (inst.alive) crash(inst, back + rng.int(0, 20));
        break;
      }
      case 'adversary':
        if (adversary !== null) {
          adversary.tick();
          push({ at: now + adversary.tickMs, kind: 'adversary' });
        }
        break;
      case 'kill':
        for (const inst of instances) {
          if (inst.index !== e.validator) continue;
          inst.alive = false;
          inst.timerGen++;
          down.add(inst.id);
        }
        break;
      case 'heal':
        heightAtHeal = Math.max(0, ...instances.filter((x) => x.honest).map((x) => x.lastHeight));
        net.heal();
        for (const inst of instances) if (!inst.alive && !down.has(inst.id)) restart(inst);
        break;
    }
  }
  stats.virtualMs = now;
  stats.attack = attack?.description ?? '';
  stats.adversary = adversary === null ? '' : Object.entries(adversary.sent).map(([k, v]) => `${k}=${v}`).join(' ');
  stats.signedChecked = ledger.recorded;

  // ---- end-of-run checks ----
  for (const c of ledger.conflicts) violation(`SAFETY: honest key signed conflicting messages: ${c}`);
  for (const [, hashes] of equivocations) if (hashes.size >= 2) stats.equivocations++;
  // Per validator: evidence pools are bounded per validator, so one that equivocates in every round
  // is caught a few times, not once per round.
  const caught = new Set([...evidenceKnown].map((k) => k.split('/')[1]));
  for (const key of equivSeenByOne) {
    if (!caught.has(key.split('/')[1])) violation(`no honest node produced evidence against validator ${key.split('/')[1]} for equivocation ${key} that an honest node received`);
  }
  const honest = instances.filter((x) => x.honest);
  stats.minHonestHeight = Math.min(...honest.map((x) => x.lastHeight));
  if (!safetyBroken && now < duration) violation(`the run stopped after ${stats.events} events at ${now} of ${duration} virtual ms (steps limit): a message storm?`);
  if (!safetyBroken && now >= healAt + livenessBound) {
    for (const inst of honest) {
      if (inst.lastCommitAt <= healAt) violation(`LIVENESS: node ${inst.index} committed nothing within ${livenessBound} ms after faults healed (height ${inst.lastHeight})`);
      // Healed, every honest node catches up with the highest height any of them had reached, and goes beyond it.
      else if (inst.lastHeight <= heightAtHeal) violation(`LIVENESS: node ${inst.index} ended at height ${inst.lastHeight}, not above the ${heightAtHeal} reached before faults healed`);
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
