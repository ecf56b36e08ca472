// Deterministic in-process simulation of N validators. One seeded PRNG owns the network (drop,
// delay, duplication, reordering, partitions, asymmetric links; network.ts), every node's clock
// (virtual ms, optionally skewed), every disk (sim-disk.ts: unsynced writes lost, torn appends),
// crashes of one node at any point of its work, power cuts of every node at once, and a signature
// pool that answers late. Validators run the real replica driver with the real ChainApp and engine
// (replica-node.ts) or, as a fast mode, the bare core with a fake app (core-node.ts). Byzantine
// validators (faults.ts): an equivocating, double-voting leader, Twins (two honest instances sharing
// one key, each talking to its own part of the network), the targeted attacks of targeted-attack.ts,
// and up to f validators sending malicious content (adversary.ts). The invariants are in checks.ts.
// Any seed replays exactly.
import { genesisBlock } from '../consensus/block.ts';
import { decodeMessage, encodeMessage, type ConsensusMessage, type MessageType } from '../consensus/messages.ts';
import type { ConsensusConfig, UnsafeSwitches, Validator } from '../consensus/types.ts';
import { MaEngine } from '../engine/engine.ts';
import type { MaParams } from '../engine/types.ts';
import { makeAdversary, type Adversary } from './adversary.ts';
import { SimChecks } from './checks.ts';
import { SimClients } from './clients.ts';
import { CoreNode } from './core-node.ts';
import { describeFaults, randomFaults, SCENARIO_CLASSES, type BreakableRule, type ScenarioClass, type SimFaults } from './faults.ts';
import { fakeKey, fakeVerifier, realKey, realVerifier, type SimKey } from './keys.ts';
import { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import { EventQueue } from './queue.ts';
import { ReplicaNode } from './replica-node.ts';
import { Crash } from './sim-disk.ts';
import type { SimHost, SimNode } from './sim-node.ts';
import { messageRound, TargetedAttack } from './targeted-attack.ts';
import { simPocConfig, simPocParams, simReplica, type PocSimBehaviour } from './poc-world.ts';

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
  /**
   * How validators run: the real replica driver with the real ChainApp and engine (needs `wasm`,
   * the compiled ma.wasm), or the bare core with a fake app (fast). Default: replica when `wasm` is given.
   */
  readonly mode?: 'replica' | 'core';
  readonly wasm?: WebAssembly.Module;
  /**
   * Proof of capacity (replica mode): what each validator does with its challenges, by index.
   * Implies real Ed25519 keys (PoC items are checked with ZIP-215 like on a real chain).
   */
  readonly poc?: readonly PocSimBehaviour[];
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
  /** Client transactions submitted (replica mode). */
  txsSubmitted: number;
  /** Torn appends the simulated disks cut after crashes (replica mode). */
  tornTails: number;
  faults: string;
  /** The targeted attack, once triggered: '<mode> round R victim V' ('' if none). */
  attack: string;
  /** What the malicious-content adversary sent (e.g. 'poisonedTcs=12'), '' if none. */
  adversary: string;
  /** With faults.killAt: the longest time an honest node went without a commit after the kill. */
  maxGapAfterKillMs: number;
  /** PoC epoch outcomes committed, as 'validator:outcome' → count (first honest node's view). */
  pocOutcomes: Record<string, number>;
  /** Leader weights of the last epoch the first honest node entered (PoC runs). */
  leaderWeights: readonly number[];
}

export interface SimResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly violations: string[];
  readonly stats: SimStats;
}

type SimEvent =
  | { at: number; seq: number; kind: 'deliver'; to: number; from: number; wire: MessageType | 'txs'; bytes: Uint8Array }
  | { at: number; seq: number; kind: 'call'; fire: () => void; owner: SimNode | undefined }
  | { at: number; seq: number; kind: 'restart'; inst: number }
  | { at: number; seq: number; kind: 'partition' }
  | { at: number; seq: number; kind: 'heal' }
  | { at: number; seq: number; kind: 'kill'; validator: number }
  | { at: number; seq: number; kind: 'powercut' }
  | { at: number; seq: number; kind: 'adversary' }
  | { at: number; seq: number; kind: 'client' };

/** Small enough that every node's engine is cheap, with every op kind and a non-power-of-two row count. */
export const SIM_MA_PARAMS: MaParams = Object.freeze({ shards: 3, layers: 2, slots: 4, dim: 8, q: 256, decay: 0.9, clip: 4 });

/** Run a node's input; a crash point reached inside it (the node is down now) ends it quietly. */
function survive(input: () => void): void {
  try {
    input();
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
  }
}

/** Lets every promise continuation that an event started run before the next event (replica mode). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

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

export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const rng = new Prng(opts.seed);
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new RangeError('nodes must be 1..10');
  const mode = opts.mode ?? (opts.wasm !== undefined ? 'replica' : 'core');
  if (mode === 'replica' && opts.wasm === undefined) throw new RangeError('replica mode needs the compiled engine (opts.wasm)');
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
  const byzMode = faults.byzantine ?? 'none';
  const targeted = byzMode === 'split-vote' || byzMode === 'stale-fork';
  const byzantine = byzMode === 'none' ? [] : pickByzantine(powers, targeted ? 1 : faults.byzantineCount ?? 1);
  const isByz = (i: number) => byzantine.includes(i);
  const realSigs = opts.realSignatures === true || opts.poc !== undefined;
  if (opts.poc !== undefined && (mode !== 'replica' || opts.poc.length !== n)) throw new RangeError('poc needs replica mode and one behaviour per validator');
  const keys: SimKey[] = powers.map((_, i) => (realSigs ? realKey(opts.seed, i) : fakeKey(opts.seed, i)));
  const verifier = realSigs ? realVerifier : fakeVerifier;
  const validators: Validator[] = keys.map((k, i) => ({ publicKey: k.publicKey, power: powers[i]! }));
  const chainId = `sim-${opts.seed}`;
  const epochLength = opts.epochLength ?? 8;
  // Replica mode: the genesis state root is the real engine's all-zero tensor root.
  const genesisRoot = mode === 'replica' ? (await MaEngine.instantiate(opts.wasm!, SIM_MA_PARAMS)).root() : new Uint8Array(32);
  const genesis = genesisBlock(chainId, 0, genesisRoot, validators);
  const chain = { chainId, txWindow: 100, maxTxsPerBlock: 64, maxBlockBytes: 1 << 20, maxTxBytes: 1024 };
  const pocParams = opts.poc !== undefined ? simPocParams(epochLength) : null;
  const pocConfig = pocParams === null ? {} : {
    poc: {
      ...simPocConfig(pocParams, chain.maxTxBytes, SIM_MA_PARAMS.dim),
      // Each node answers these from its own app (replica-node.ts).
      targetOf: (): never => { throw new Error('PoC targetOf is the node\'s'); },
      rowIndex: (): never => { throw new Error('PoC rowIndex is the node\'s'); },
    },
  };
  const config = (self: number, unsafe: UnsafeSwitches | undefined): ConsensusConfig => ({
    chainId, validators, self, genesis: { timeMs: 0, stateRoot: genesisRoot }, epochLength, timeoutBaseMs: base,
    blockIntervalMs: opts.blockIntervalMs ?? 20, limits: { maxSyncBlocks: 16, maxTxsPerBlock: chain.maxTxsPerBlock }, unsafe, ...pocConfig,
  });
  const replicas = opts.poc?.map((b, i) => simReplica(chainId, keys[i]!.publicKey, pocParams!, b)) ?? null;

  const checks = new SimChecks(isByz, faults.killAt);
  if (opts.poc !== undefined) checks.pocHonest = (v) => opts.poc![v] === 'honest';
  const stats: SimStats = {
    events: 0, virtualMs: 0, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0, commits: 0, maxHeight: 0, minHonestHeight: 0, rounds: 0,
    timeouts: 0, tcsFormed: 0, evidence: 0, slashingEvents: 0, crashes: 0, powerCuts: 0, equivocations: 0, syncBlocks: 0, signedChecked: 0,
    txsSubmitted: 0, tornTails: 0, faults: describeFaults(faults), attack: '', adversary: '', maxGapAfterKillMs: 0, pocOutcomes: {}, leaderWeights: [],
  };

  const queue = new EventQueue<SimEvent>();
  let seq = 0;
  let now = 0;
  const push = (e: NoSeq<SimEvent>): number => {
    const s = seq++;
    queue.push({ ...e, seq: s } as SimEvent);
    return s;
  };
  const cancelled = new Set<number>();
  const net = new SimNetwork(rng, n, faults);
  const faultPhase = () => now < healAt;
  const crashProb = faults.crashes === true ? 0.003 : 0;
  const attack = targeted && byzantine.length > 0 ? new TargetedAttack(byzMode, byzantine[0]!, powers, faults.maxDelayMs ?? 20) : null;
  let adversary: Adversary | null = null;
  let powerCutPending = false;
  let heightAtHeal = 0;
  const down = new Set<number>();
  const instances: SimNode[] = [];
  const byIndex = (i: number) => instances.filter((x) => x.index === i);

  const host: SimHost = {
    now: () => now,
    rng,
    send: (from, to, kind, bytes) => send(from, to, kind, bytes),
    schedule: (at, fire, owner) => push({ at: Math.max(at, now), kind: 'call', fire, owner }),
    cancel: (h) => { if (h >= 0) cancelled.add(h); },
    committed: (node, block, _qc, root, applied) => checks.onCommit(node, block, root, applied, now),
    note: (node, note) => checks.onNote(node, note),
    consensusState: (node, height, digest) => checks.onConsensusState(node, height, digest),
    died: (node, restartAfter) => {
      stats.crashes++;
      push({ at: Math.min(now + restartAfter, healAt), kind: 'restart', inst: node.id });
    },
  };

  const send = (from: SimNode, to: number | 'all', kind: MessageType | 'txs', bytes: Uint8Array, known?: ConsensusMessage, urgent = false) => {
    if (kind === 'txs') {
      for (const t of to === 'all' ? instances.filter((x) => x.index !== from.index) : byIndex(to)) {
        if (faultPhase() && (rng.chance(faults.dropRate ?? 0) || net.blocks(from, t, Number.POSITIVE_INFINITY))) continue;
        push({ at: now + rng.int(faults.minDelayMs ?? 1, Math.min(faults.maxDelayMs ?? 20, 50)), kind: 'deliver', to: t.id, from: from.index, wire: kind, bytes });
      }
      return;
    }
    // Before the attack starts only proposals can start it; decoding everything would slow the sweep.
    const routed = attack !== null && faultPhase() && (attack.started || kind === 'proposal');
    const watched = adversary !== null && !from.honest && isByz(from.index);
    const signed = kind === 'proposal' || kind === 'vote' || kind === 'timeout';
    const decoded = known ?? (routed || watched || (signed && (from.honest || kind !== 'timeout')) ? decodeMessage(bytes) : null);
    if (watched && known === undefined && decoded !== null && adversary!.suppresses(decoded)) return;
    if (routed && decoded !== null) attack.onSend(from, decoded);
    if (decoded !== null) checks.onSend(from, decoded);
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
      push({ at, kind: 'deliver', to: t.id, from: from.index, wire: kind, bytes });
      if (faultPhase() && rng.chance(faults.dupRate ?? 0)) push({ at: now + rng.int(lo, hi * 2), kind: 'deliver', to: t.id, from: from.index, wire: kind, bytes });
    }
  };

  const addInstance = (index: number, honest: boolean, unsafe: UnsafeSwitches | undefined) => {
    const id = instances.length;
    const clock = faults.clockSkew === true ? { offset: rng.int(0, 100_000), rate: rng.int(950, 1050) } : { offset: 0, rate: 1000 };
    const common = { id, index, honest, clock, config: config(index, unsafe), signer: keys[index]!.signer, verifier };
    instances.push(mode === 'replica'
      ? new ReplicaNode({
        ...common, validators: n, wasm: opts.wasm!, ma: SIM_MA_PARAMS, chain, genesisHash: genesis.hash, snapshotEvery: 25, poolLateMs: faults.maxDelayMs ?? 20,
        ...(replicas !== null ? { poc: { replica: replicas[index]!, behaviour: opts.poc![index]! } } : {}),
      }, host)
      : new CoreNode({ ...common, genesis, genesisRoot }, host));
  };
  for (let i = 0; i < n; i++) {
    if (faults.down?.includes(i) === true) {
      addInstance(i, false, undefined);
      down.add(instances.length - 1);
    } else if (faults.killAt?.validator === i) addInstance(i, false, undefined); // faulty: never checked, even before its kill
    else if (isByz(i) && byzMode === 'equivocate') addInstance(i, false, { equivocateProposals: true, doubleVote: true });
    else if (isByz(i) && byzMode === 'split-vote') addInstance(i, false, { equivocateProposals: true, equivocateToAll: true, doubleVote: true });
    // It votes for its own stale block, which its own (correct) TC rule would forbid.
    else if (isByz(i) && byzMode === 'stale-fork') addInstance(i, false, { staleQcFork: true, skipTcHighQcCheck: true });
    else if (isByz(i) && byzMode === 'twins') {
      addInstance(i, false, undefined);
      addInstance(i, false, undefined);
      net.setTwins([instances.length - 2, instances.length - 1], powers.map((_, j) => j).filter((j) => j !== i));
    } else addInstance(i, !isByz(i), faults.unsafe);
  }

  if (byzMode === 'poison-tc' || byzMode === 'sync-inject' || byzMode === 'far-future') {
    adversary = makeAdversary(byzMode, {
      chainId, powers, byzantine, epochLength, rng: rng.fork(),
      node: (i) => {
        const inst = instances.find((x) => x.index === i && x.alive);
        return inst === undefined ? null : { index: i, signer: keys[i]!.signer, core: inst.core, app: inst.app };
      },
      inject: (from, to, msg, urgent) => {
        const inst = instances.find((x) => x.index === from && x.alive);
        if (inst !== undefined) send(inst, to, msg.type, encodeMessage(msg), msg, urgent === true);
      },
    });
    push({ at: adversary.tickMs, kind: 'adversary' });
  }
  const clients = mode === 'replica' ? new SimClients(chainId, SIM_MA_PARAMS, rng.fork()) : null;
  if (clients !== null) push({ at: 50, kind: 'client' });

  /** Give an honest node a crash point somewhere in the input it is about to take (faults permitting). */
  const maybeArmCrash = (inst: SimNode) => {
    if (inst.honest && faultPhase() && rng.chance(crashProb)) inst.armCrash(rng.int(base, base * 10));
  };
  /** After an input: an armed crash nothing reached strikes now; a TC just formed may trigger a power cut. */
  const afterInput = (inst: SimNode, tcs: number) => {
    inst.settleCrash?.();
    // A power cut right after a TC formed: the moment a whole-cluster restart is hardest to survive.
    if (faults.powerCuts === true && faultPhase() && !powerCutPending && stats.powerCuts < MAX_POWER_CUTS && inst.alive && inst.core.metrics.tcsFormed > tcs && rng.chance(0.3)) {
      powerCutPending = true;
      push({ at: now + rng.int(0, faults.maxDelayMs ?? 20), kind: 'powercut' });
    }
  };

  // ---- schedule faults and start ----
  if (faults.partitions === true) {
    for (let t = rng.int(base, base * 5); t < healAt; t += rng.int(base * 5, base * 20)) push({ at: t, kind: 'partition' });
  }
  if (faults.powerCuts === true) push({ at: rng.int(base * 5, healAt), kind: 'powercut' });
  push({ at: healAt, kind: 'heal' });
  if (faults.killAt !== undefined) push({ at: faults.killAt.atMs, kind: 'kill', validator: faults.killAt.validator });
  for (const inst of instances) {
    if (down.has(inst.id)) inst.crash();
    await inst.start();
  }
  const asynchronous = instances.some((x) => x.asynchronous);

  // After a safety violation the run has made its point; stop rather than simulate a forked chain.
  while (stats.events < maxSteps && !checks.safetyBroken) {
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
        if (e.wire !== 'txs') {
          const watch = (inst.honest && isByz(e.from)) || (adversary !== null && !inst.honest && isByz(inst.index));
          const m = watch ? decodeMessage(e.bytes) : null;
          if (m !== null && inst.honest) checks.onDelivered(inst, e.from, m);
          // Byzantine validators keep attacking after the network heals: liveness must hold despite them.
          if (m !== null && !inst.honest && adversary !== null) adversary.observe(inst.index, e.from, m);
        }
        const tcs = inst.core.metrics.tcsFormed;
        maybeArmCrash(inst);
        survive(() => inst.deliver(e.from, e.wire, e.bytes));
        if (asynchronous) await settle();
        afterInput(inst, tcs);
        break;
      }
      case 'call': {
        if (cancelled.delete(e.seq)) break;
        const owner = e.owner !== undefined && e.owner.alive ? e.owner : null;
        const tcs = owner?.core.metrics.tcsFormed ?? 0;
        if (owner !== null) maybeArmCrash(owner);
        survive(e.fire);
        if (asynchronous) await settle();
        if (owner !== null) afterInput(owner, tcs);
        break;
      }
      case 'restart': {
        const inst = instances[e.inst]!;
        if (inst.alive || down.has(inst.id)) break;
        checks.restarting(inst);
        await inst.restart();
        break;
      }
      case 'partition':
        net.togglePartition();
        break;
      case 'powercut': {
        powerCutPending = false;
        if (!faultPhase() || stats.powerCuts >= MAX_POWER_CUTS) break;
        stats.powerCuts++;
        // Every node at once; they come back at about the same time, as after a power cut.
        const back = rng.int(base, base * 3);
        for (const inst of instances) {
          if (!inst.alive) continue;
          inst.crash();
          host.died(inst, back + rng.int(0, 20));
        }
        break;
      }
      case 'adversary':
        if (adversary !== null) {
          adversary.tick();
          push({ at: now + adversary.tickMs, kind: 'adversary' });
        }
        break;
      case 'client': {
        const alive = instances.filter((x) => x.alive && x.honest);
        if (clients !== null && alive.length > 0) {
          const target = alive[rng.int(0, alive.length - 1)]!;
          target.submit?.(clients.batch(rng.int(1, 4), target.committedHeight + 60));
          if (asynchronous) await settle();
        }
        push({ at: now + rng.int(20, 80), kind: 'client' });
        break;
      }
      case 'kill':
        for (const inst of instances) {
          if (inst.index !== e.validator) continue;
          inst.crash();
          down.add(inst.id);
        }
        break;
      case 'heal':
        heightAtHeal = Math.max(0, ...instances.filter((x) => x.honest).map((x) => checks.lastHeight(x)));
        net.heal();
        for (const inst of instances) {
          if (inst.alive || down.has(inst.id)) continue;
          checks.restarting(inst);
          await inst.restart();
        }
        break;
    }
  }
  stats.virtualMs = now;
  stats.attack = attack?.description ?? '';
  stats.adversary = adversary === null ? '' : Object.entries(adversary.sent).map(([k, v]) => `${k}=${v}`).join(' ');
  stats.signedChecked = checks.ledger.recorded;
  stats.txsSubmitted = clients?.submitted ?? 0;
  for (const inst of instances) if (inst instanceof ReplicaNode) stats.tornTails += inst.disk.tornTails;

  // ---- end-of-run checks ----
  const honest = instances.filter((x) => x.honest);
  stats.equivocations = checks.finish(honest, healAt, heightAtHeal, livenessBound, now, duration, stats.events);
  stats.commits = checks.commits;
  stats.maxHeight = checks.maxHeight;
  stats.slashingEvents = checks.slashingEvents;
  stats.maxGapAfterKillMs = checks.maxGapAfterKillMs;
  stats.pocOutcomes = checks.pocOutcomeCounts();
  const firstHonest = instances.find((x) => x.honest);
  if (opts.poc !== undefined && firstHonest !== undefined) stats.leaderWeights = [...firstHonest.core.committedState.epochInfo.powers];
  stats.minHonestHeight = Math.min(...honest.map((x) => checks.lastHeight(x)));
  for (const inst of instances) {
    const m = inst.core.metrics;
    stats.rounds = Math.max(stats.rounds, inst.core.currentRound);
    stats.timeouts += m.timeouts;
    stats.tcsFormed += m.tcsFormed;
    stats.evidence += m.evidenceFound;
    stats.syncBlocks += m.syncBlocksApplied;
  }
  return { ok: checks.violations.length === 0, seed: opts.seed, violations: checks.violations, stats };
}
