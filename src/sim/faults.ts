// What can go wrong in a simulated run: the fault description, the one a seed derives, and its
// one-line summary. The simulator (simulator.ts) interprets it; nothing here has behaviour.
import type { UnsafeSwitches } from '../consensus/types.ts';
import type { Prng } from './prng.ts';

/**
 * none; equivocate: two proposals per led round (one to each half), votes for both; twins: two honest
 * instances with one key, each talking to its own part of the network; split-vote and stale-fork: the
 * targeted attacks of simulator.ts; poison-tc, sync-inject and far-future: malicious message content
 * (adversary.ts).
 */
export type ByzantineMode = 'none' | 'equivocate' | 'twins' | 'split-vote' | 'stale-fork' | 'poison-tc' | 'sync-inject' | 'far-future';

/** The rules `breakRule` can switch off on every honest node. */
export type BreakableRule = 'skipLastVotedRoundCheck' | 'skipTcHighQcCheck' | 'commitOnOneChain';
export const BREAKABLE_RULES: readonly BreakableRule[] = ['skipLastVotedRoundCheck', 'skipTcHighQcCheck', 'commitOnOneChain'];

export interface SimFaults {
  readonly dropRate?: number;
  readonly dupRate?: number;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly partitions?: boolean;
  /** Partitions cut single directions (A hears B, B does not hear A), and every directed link has its own extra delay. */
  readonly asymmetric?: boolean;
  /** Crash and restart single nodes, at any point of an action list. */
  readonly crashes?: boolean;
  /** Cut the power of every node at once (after a TC, or at random), losing what was not synced; all restart. */
  readonly powerCuts?: boolean;
  /** Every node's clock runs at its own rate (±5 %) from its own offset. */
  readonly clockSkew?: boolean;
  readonly byzantine?: ByzantineMode;
  /** How many validators behave as `byzantine` (default 1; capped so that their power stays below a third). */
  readonly byzantineCount?: number;
  /**
   * Twins-style schedule: messages of round fromRound + k cross only within one group of
   * partitions[k] (catch-up always crosses). Groups list validator indices; an empty list is no partition.
   */
  readonly roundPartitions?: { readonly fromRound: number; readonly partitions: readonly (readonly (readonly number[])[])[] };
  /** Validators that are down for the whole run (never start; counted as faulty, not checked). */
  readonly down?: readonly number[];
  /** A validator killed for good at a virtual time (counted as faulty); stats.maxGapAfterKillMs measures the effect. */
  readonly killAt?: { readonly validator: number; readonly atMs: number };
  /** Protocol-breaking switches applied to the honest nodes (to show that the checks catch bugs). */
  readonly unsafe?: UnsafeSwitches;
}

/**
 * A fault scenario (4 equal validators) in which breaking the rule leads to a safety violation within
 * a few seeds, while the intact protocol survives it: a double vote lets the split-vote attack certify
 * both of a leader's blocks; voting on a stale QC after a TC lets the stale-fork attack certify a
 * branch beside a committed block; under the 1-chain rule a node commits a block on its first QC,
 * which lossy links (20 % loss, up to 200 ms delay) can keep from the others, who then certify a
 * sibling after a TC.
 */
export const BREAK_SCENARIOS: Readonly<Record<BreakableRule, SimFaults>> = {
  skipLastVotedRoundCheck: { byzantine: 'split-vote', maxDelayMs: 40 },
  skipTcHighQcCheck: { byzantine: 'stale-fork', maxDelayMs: 40 },
  commitOnOneChain: { dropRate: 0.2, maxDelayMs: 200 },
};

/** The scenario classes a random seed picks from, each with the faults that make it bite. */
export const SCENARIO_CLASSES = ['classic', 'power-cut', 'byzantine-content', 'twins-schedule', 'skewed'] as const;
export type ScenarioClass = (typeof SCENARIO_CLASSES)[number];

const CLASSIC_BYZ: readonly ByzantineMode[] = ['none', 'equivocate', 'twins', 'split-vote', 'stale-fork'];
const CONTENT_BYZ: readonly ByzantineMode[] = ['poison-tc', 'sync-inject', 'far-future'];

/** The faults seed `rng` stands for (n validators), drawn in a fixed order so a seed replays exactly. */
export function randomFaults(rng: Prng, n: number, cls: ScenarioClass): SimFaults {
  const base: SimFaults = {
    dropRate: [0, 0.02, 0.1, 0.25][rng.int(0, 3)]!,
    dupRate: [0, 0.05][rng.int(0, 1)]!,
    minDelayMs: 1,
    maxDelayMs: [20, 100, 400][rng.int(0, 2)]!,
    partitions: rng.chance(0.5),
    crashes: rng.chance(0.5),
  };
  switch (cls) {
    case 'classic':
      return { ...base, byzantine: n >= 4 ? CLASSIC_BYZ[rng.int(0, CLASSIC_BYZ.length - 1)]! : 'none' };
    case 'power-cut':
      // A whole-cluster power cut hurts most while rounds time out: one validator down, partitions.
      return { ...base, partitions: true, powerCuts: true, down: n >= 4 ? [rng.int(0, n - 1)] : [], byzantine: 'none' };
    case 'byzantine-content': {
      const byzantine = n >= 4 ? CONTENT_BYZ[rng.int(0, CONTENT_BYZ.length - 1)]! : 'none';
      return { ...base, byzantine, byzantineCount: Math.max(1, Math.floor((n - 1) / 3)) };
    }
    case 'twins-schedule':
      return { ...base, partitions: false, byzantine: n >= 4 ? 'twins' : 'none', roundPartitions: enumeratedSchedule(rng.int(0, 1 << 30), n, 3, 4) };
    case 'skewed':
      return { ...base, asymmetric: true, clockSkew: true, partitions: true, byzantine: n >= 4 ? CLASSIC_BYZ[rng.int(0, 2)]! : 'none' };
  }
}

/**
 * The `index`-th schedule (mod the number of schedules) of `rounds` consecutive rounds from `fromRound`,
 * each round either unpartitioned or split in two groups (the one holding validator 0 and the rest):
 * (2^(n−1))^rounds schedules in all, as in Twins' enumeration of partition scenarios.
 */
export function enumeratedSchedule(index: number, n: number, rounds: number, fromRound: number): SimFaults['roundPartitions'] {
  const options = 1 << (n - 1); // 0: no partition; k > 0: validator i (i ≥ 1) sits with 0 iff bit i−1 of k is clear
  const partitions: number[][][] = [];
  let rest = index;
  for (let r = 0; r < rounds; r++) {
    const k = rest % options;
    rest = Math.floor(rest / options);
    if (k === 0) {
      partitions.push([]);
      continue;
    }
    const a = [0];
    const b: number[] = [];
    for (let i = 1; i < n; i++) ((k >> (i - 1)) & 1 ? b : a).push(i);
    partitions.push([a, b]);
  }
  return { fromRound, partitions };
}

/** One line naming every fault, for failure reports. */
export function describeFaults(f: SimFaults): string {
  const broken = Object.entries(f.unsafe ?? {}).filter(([, on]) => on === true).map(([k]) => k);
  const flags = [
    `drop=${f.dropRate ?? 0}`, `dup=${f.dupRate ?? 0}`, `delay=${f.minDelayMs ?? 1}-${f.maxDelayMs ?? 20}`,
    `part=${f.partitions === true ? 1 : 0}`, `crash=${f.crashes === true ? 1 : 0}`, `byz=${f.byzantine ?? 'none'}`,
  ];
  if ((f.byzantineCount ?? 1) > 1) flags.push(`byzCount=${f.byzantineCount}`);
  if (f.powerCuts === true) flags.push('powerCuts=1');
  if (f.asymmetric === true) flags.push('asym=1');
  if (f.clockSkew === true) flags.push('skew=1');
  if (f.roundPartitions !== undefined) {
    flags.push(`schedule=${f.roundPartitions.fromRound}:${f.roundPartitions.partitions.map((p) => (p.length === 0 ? '-' : p.map((g) => g.join('')).join('|'))).join(',')}`);
  }
  if (f.down?.length) flags.push(`down=${f.down.join(',')}`);
  if (f.killAt) flags.push(`kill=${f.killAt.validator}@${f.killAt.atMs}`);
  if (broken.length > 0) flags.push(`broken=${broken.join(',')}`);
  return flags.join(' ');
}
