// Which simulated messages cross and how late: partitions (two sides, or single directions cut when
// links are asymmetric), a Twins-style partition schedule by message round, the private halves of
// the network that each of a pair of twins talks to, and a fixed extra delay per directed link.
// Random drops, duplicates and base delays stay in the simulator, which owns the PRNG order.
import type { SimFaults } from './faults.ts';
import type { Prng } from './prng.ts';

export interface Endpoint {
  /** Instance id (twins share a validator index, not an id). */
  readonly id: number;
  readonly index: number;
}

export class SimNetwork {
  private side: Set<number> | null = null;
  private readonly cut = new Set<string>();
  private readonly linkDelay: number[][];
  /** twin instance id → the validator indices it exchanges messages with */
  private readonly twinGroups = new Map<number, Set<number>>();
  private twins: { readonly ids: readonly [number, number]; readonly others: readonly number[] } | null = null;

  constructor(
    private readonly rng: Prng,
    private readonly n: number,
    private readonly faults: SimFaults,
  ) {
    const extra = faults.asymmetric === true ? Math.floor((faults.maxDelayMs ?? 20) / 2) : 0;
    this.linkDelay = Array.from({ length: n }, () => Array.from({ length: n }, () => (extra > 0 ? rng.int(0, extra) : 0)));
  }

  /** Twins: instances `ids` share one key; each talks to its own random half of `others` (re-drawn at each partition event). */
  setTwins(ids: readonly [number, number], others: readonly number[]): void {
    this.twins = { ids, others };
    this.splitTwins();
  }

  private splitTwins(): void {
    if (this.twins === null) return;
    const [a, b] = this.twins.ids;
    const ga = new Set<number>();
    const gb = new Set<number>();
    for (const i of this.twins.others) (this.rng.chance(0.5) ? ga : gb).add(i);
    this.twinGroups.set(a, ga);
    this.twinGroups.set(b, gb);
  }

  /** A partition event: alternately start one and end it. */
  togglePartition(): void {
    if (this.side !== null || this.cut.size > 0) {
      this.side = null;
      this.cut.clear();
      return;
    }
    this.splitTwins();
    if (this.faults.asymmetric === true) {
      for (let i = 0; i < this.n; i++) for (let j = 0; j < this.n; j++) if (i !== j && this.rng.chance(0.25)) this.cut.add(`${i}>${j}`);
      return;
    }
    const side = new Set<number>();
    for (let i = 0; i < this.n; i++) if (this.rng.chance(0.5)) side.add(i);
    this.side = side;
  }

  heal(): void {
    this.side = null;
    this.cut.clear();
  }

  /** Whether partitions keep a message of `round` from `from` to `to` (only asked while faults are active). */
  blocks(from: Endpoint, to: Endpoint, round: number): boolean {
    if (this.side !== null && this.side.has(from.index) !== this.side.has(to.index)) return true;
    if (this.cut.has(`${from.index}>${to.index}`)) return true;
    const sched = this.faults.roundPartitions;
    if (sched !== undefined && Number.isFinite(round)) {
      const groups = sched.partitions[round - sched.fromRound];
      if (groups !== undefined && groups.length > 0 && !groups.some((g) => g.includes(from.index) && g.includes(to.index))) return true;
    }
    return false;
  }

  /** Whether a twin's private half of the network keeps the message from crossing (while faults are active). */
  twinBlocks(from: Endpoint, to: Endpoint): boolean {
    const gf = this.twinGroups.get(from.id);
    if (gf !== undefined && !gf.has(to.index)) return true;
    const gt = this.twinGroups.get(to.id);
    return gt !== undefined && !gt.has(from.index);
  }

  extraDelay(from: number, to: number): number {
    return this.linkDelay[from]?.[to] ?? 0;
  }
}
