// Engine benchmark: ma.wasm through the public wrapper (MaEngine.apply / root) against the plain
// TypeScript reference (src/engine/reference.ts), measured in the same process, in interleaved rounds
// (the order flips every round so neither side always runs on a warmer machine). Medians over rounds.
//
//   node --import tsx bench/engine.ts [--rounds N]      (npm run bench)
//
// Prints a table, PASS/FAIL per target, and finally one JSON line {"bench":"engine",...}. Exits 0.
import { performance } from 'node:perf_hooks';
import { loadEngine, engineSha256Hex } from '../src/host/node-loader.ts';
import { ReferenceEngine } from '../src/engine/reference.ts';
import { DEFAULT_MA_PARAMS, type MaOp } from '../src/engine/types.ts';
import { Rng, randomOp } from './lib/random-ops.ts';
import { fmtRate, fmtTime, jsonLine, median, passes, sig, table, verdicts, type Target } from './lib/report.ts';

interface Impl {
  apply(op: MaOp): void;
  root(): Uint8Array;
}

const KINDS = ['add', 'decay', 'mix', 'clip'] as const;
type Kind = (typeof KINDS)[number];

const argRounds = process.argv.indexOf('--rounds');
const ROUNDS = Math.max(7, argRounds > 0 ? Number(process.argv[argRounds + 1]) || 0 : 11);
const WARMUP_ROUNDS = 2;
const OPS_PER_ROUND = 30_000; // per op kind and implementation
const ONE_ROW_SAMPLES = 200; // roots after one changed row, per round
const FULL_SAMPLES = 3; // roots after every row changed, per round

const params = DEFAULT_MA_PARAMS;
const engine = await loadEngine(params);
const reference = new ReferenceEngine(params);
const impls: Record<'engine' | 'reference', Impl> = { engine, reference };
const rows = engine.rowCount;
const B = engine.bound;

// Identical, pre-generated inputs for both sides: timing covers apply() only, not op construction.
const rng = new Rng(20240611);
const opsByKind = Object.fromEntries(
  KINDS.map((k) => [k, Array.from({ length: 4096 }, () => randomOp(rng, params, B, k))]),
) as Record<Kind, MaOp[]>;
// Start from a busy tensor so decay and mix do real rounding work.
for (let r = 0; r < rows; r++) {
  const op = randomOp(rng, params, B, 'add');
  engine.apply(op);
  reference.apply(op);
}
engine.root();
reference.root();

/** One op per row, each changing nothing but marking the row as changed (decay by exactly 1). */
const touchRow: MaOp[] = Array.from({ length: rows }, (_, r) => ({
  op: 'decay',
  shard: Math.floor(r / (params.layers * params.slots)),
  layer: Math.floor(r / params.slots) % params.layers,
  slot: r % params.slots,
  factor: params.q,
}));

function opsPerSecond(impl: Impl, ops: readonly MaOp[]): number {
  const n = OPS_PER_ROUND;
  const m = ops.length;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) impl.apply(ops[i % m]);
  const ms = performance.now() - t0;
  return n / (ms / 1000);
}

/** Mean milliseconds of root() when exactly one row changed since the previous root. */
function rootAfterOneRow(impl: Impl, seed: number): number {
  let ms = 0;
  for (let i = 0; i < ONE_ROW_SAMPLES; i++) {
    impl.apply(touchRow[(seed * 7919 + i * 613) % rows]);
    const t0 = performance.now();
    impl.root();
    ms += performance.now() - t0;
  }
  return ms / ONE_ROW_SAMPLES;
}

/** Milliseconds of root() when every row changed since the previous root. */
function rootAfterAllRows(impl: Impl): number[] {
  const out: number[] = [];
  for (let s = 0; s < FULL_SAMPLES; s++) {
    for (const op of touchRow) impl.apply(op);
    const t0 = performance.now();
    impl.root();
    out.push(performance.now() - t0);
  }
  return out;
}

type Side = 'engine' | 'reference';
const samples = {
  ops: { engine: {} as Record<Kind, number[]>, reference: {} as Record<Kind, number[]> },
  oneRow: { engine: [] as number[], reference: [] as number[] },
  allRows: { engine: [] as number[], reference: [] as number[] },
};
for (const side of ['engine', 'reference'] as const) for (const k of KINDS) samples.ops[side][k] = [];

const started = performance.now();
for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
  const keep = round >= WARMUP_ROUNDS;
  const order: Side[] = round % 2 === 0 ? ['engine', 'reference'] : ['reference', 'engine'];
  for (const k of KINDS) {
    for (const side of order) {
      const v = opsPerSecond(impls[side], opsByKind[k]);
      if (keep) samples.ops[side][k].push(v);
    }
  }
  for (const side of order) impls[side].root();
  for (const side of order) {
    const v = rootAfterOneRow(impls[side], round);
    if (keep) samples.oneRow[side].push(v);
  }
  for (const side of order) {
    const v = rootAfterAllRows(impls[side]);
    if (keep) samples.allRows[side].push(...v);
  }
}
const seconds = (performance.now() - started) / 1000;

// Both sides saw the same ops; a differing root would make every number above meaningless.
const sameRoot = Buffer.from(engine.root()).equals(Buffer.from(reference.root()));

const opMedian = (side: Side, k: Kind): number => median(samples.ops[side][k]);
const ratio = (k: Kind): number => opMedian('engine', k) / opMedian('reference', k);
const oneRow = { engine: median(samples.oneRow.engine), reference: median(samples.oneRow.reference) };
const allRows = { engine: median(samples.allRows.engine), reference: median(samples.allRows.reference) };

const tableRows: string[][] = [
  ...KINDS.map((k) => [`${k} (ops/s)`, fmtRate(opMedian('engine', k)), fmtRate(opMedian('reference', k)), `${ratio(k).toFixed(2)}×`]),
  ['root, 1 row changed', fmtTime(oneRow.engine), fmtTime(oneRow.reference), `${(oneRow.reference / oneRow.engine).toFixed(2)}×`],
  [`root, all ${rows} rows changed`, fmtTime(allRows.engine), fmtTime(allRows.reference), `${(allRows.reference / allRows.engine).toFixed(2)}×`],
];

const targets: Target[] = [
  { name: 'decay vs reference', value: ratio('decay'), op: '>=', limit: 1.5, unit: '×' },
  { name: 'mix vs reference', value: ratio('mix'), op: '>=', limit: 1.3, unit: '×' },
  { name: 'add vs reference', value: ratio('add'), op: '>=', limit: 0.8, unit: '×' },
  { name: 'root after one changed row', value: oneRow.engine * 1000, op: '<=', limit: 30, unit: 'µs' },
  { name: `full root, ${rows} rows`, value: allRows.engine, op: '<=', limit: 10, unit: 'ms' },
];

console.log(`engine benchmark: ${params.shards}×${params.layers}×${params.slots} rows × dim ${params.dim}, ` +
  `${ROUNDS} rounds (+${WARMUP_ROUNDS} warm-up), medians; ma.wasm sha256 ${engineSha256Hex().slice(0, 16)}…`);
console.log('');
console.log(table(['measure', 'ma.wasm (MaEngine)', 'TS reference', 'speed-up'], tableRows));
console.log('');
console.log(verdicts(targets));
console.log('');
if (!sameRoot) console.log('WARNING: engine and reference ended with different roots; the comparison is invalid');
console.log(`${targets.filter(passes).length}/${targets.length} targets pass; ${seconds.toFixed(1)} s`);
console.log(jsonLine('engine', {
  rows,
  dim: params.dim,
  rounds: ROUNDS,
  node: process.version,
  ops_per_s: Object.fromEntries(KINDS.map((k) => [k, { engine: sig(opMedian('engine', k)), reference: sig(opMedian('reference', k)), ratio: sig(ratio(k), 3) }])),
  root_one_row_us: { engine: sig(oneRow.engine * 1000), reference: sig(oneRow.reference * 1000), ratio: sig(oneRow.reference / oneRow.engine, 3) },
  root_all_rows_ms: { engine: sig(allRows.engine), reference: sig(allRows.reference), ratio: sig(allRows.reference / allRows.engine, 3) },
  same_root: sameRoot,
  pass: Object.fromEntries(targets.map((t) => [t.name, passes(t)])),
  all_pass: targets.every(passes),
  seconds: sig(seconds, 3),
}));
