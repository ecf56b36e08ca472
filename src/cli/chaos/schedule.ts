// The fault schedule of a chaos run, derived from its seed alone, so a run that finds a violation
// can be replayed with the same faults in the same order (timing still depends on the machine).
// Faults never overlap: each one is injected, held, healed, then the network gets a quiet gap to
// commit again. With 4 validators, one down keeps a quorum and two down stalls it; both are drawn.
// Network faults act on the relays every peer link runs through (run.ts): `partition` cuts one
// validator off from the others, or splits them 2/2 (no side has a quorum); `slow` holds every byte
// on one validator's links 50–200 ms each way.

export type FaultKind = 'kill' | 'pause' | 'restart' | 'two-down' | 'partition' | 'slow';

export interface Fault {
  /** ms after the run starts that the fault is injected */
  readonly atMs: number;
  readonly kind: FaultKind;
  readonly nodes: readonly number[];
  /** ms the fault is held before it is healed (0 for a restart: it heals itself) */
  readonly holdMs: number;
  /** slow: one-way delay added on each of the nodes' links, ms */
  readonly delayMs?: number;
}

export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'restart', 'two-down', 'partition', 'slow'];

/** For a partition: the two sides. One node listed isolates it; two split the network 2/2. */
export function partitionSides(f: Fault, nodes: number): [number[], number[]] {
  const a = [...f.nodes];
  const b: number[] = [];
  for (let i = 0; i < nodes; i++) if (!a.includes(i)) b.push(i);
  return [a, b];
}

/** mulberry32: a small seeded generator; Math.random would make a failing run unrepeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly nodes: number;
  /** shortest and longest hold, ms */
  readonly holdMs?: readonly [number, number];
  /** shortest and longest quiet gap after a heal, ms */
  readonly gapMs?: readonly [number, number];
}

export function makeSchedule(o: ScheduleOptions): Fault[] {
  const rnd = prng(o.seed);
  const [hMin, hMax] = o.holdMs ?? [2_000, 8_000];
  const [gMin, gMax] = o.gapMs ?? [3_000, 8_000];
  const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const out: Fault[] = [];
  let t = between(gMin, gMax);
  for (;;) {
    const kind = FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!;
    const a = Math.floor(rnd() * o.nodes);
    let nodes = [a];
    const pair = (): number[] => [a, (a + 1 + Math.floor(rnd() * (o.nodes - 1))) % o.nodes].sort((x, y) => x - y);
    if (kind === 'two-down') nodes = pair();
    if (kind === 'partition' && rnd() < 0.5) nodes = pair();
    const delayMs = kind === 'slow' ? between(50, 200) : undefined;
    const holdMs = kind === 'restart' ? 0 : between(hMin, hMax);
    if (t + holdMs > o.durationMs) break;
    out.push({ atMs: t, kind, nodes, holdMs, ...(delayMs === undefined ? {} : { delayMs }) });
    t += holdMs + between(gMin, gMax);
  }
  return out;
}

export function describeFault(f: Fault): string {
  const who = f.nodes.map((n) => `v${n}`).join('+');
  const hold = f.kind === 'restart' ? '' : ` for ${(f.holdMs / 1000).toFixed(1)} s`;
  const what = {
    kill: 'kill -9, restart',
    pause: 'SIGSTOP, SIGCONT',
    restart: 'SIGTERM, restart',
    'two-down': 'kill -9 both, restart',
    partition: f.nodes.length === 1 ? 'cut off from the others' : 'split 2/2 from the others',
    slow: `+${f.delayMs ?? 0} ms one way on its links`,
  }[f.kind];
  return `t+${(f.atMs / 1000).toFixed(1)} s ${f.kind} ${who} (${what})${hold}`;
}
