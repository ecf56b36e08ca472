// The TypeScript reference implementation against the independent vectors, and against ma.wasm on
// seeded random op streams (valid and invalid ops, edge values, several parameter sets).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, randomOp } from '../../bench/lib/random-ops.ts';
import { MaEngine, toHex } from '../../src/engine/engine.ts';
import { ReferenceEngine, roundHalfEven } from '../../src/engine/reference.ts';
import { DEFAULT_MA_PARAMS, MaError, type MaOp, type MaParams } from '../../src/engine/types.ts';
import { engineFrom, readVectors, VECTOR_NAMES } from './helpers.ts';

test('roundHalfEven rounds exact halves to the even neighbour, everything else to nearest', () => {
  const cases: Array<[number, number]> = [
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4],
    [2.4999999999999996, 2], [2.5000000000000004, 3], [-2.5000000000000004, -3], [0.49999999999999994, 0],
    [7, 7], [-7, -7], [4503599627370495.5, 4503599627370496], [4503599627370494.5, 4503599627370494],
  ];
  for (const [x, want] of cases) assert.is(roundHalfEven(x), want, `roundHalfEven(${x})`);
  // The case that makes Math.round wrong for this spec.
  assert.is.not(Math.round(2.5), roundHalfEven(2.5));
});

for (const name of VECTOR_NAMES) {
  test(`reference: every root of ${name} matches the vectors; incremental equals full recomputation`, () => {
    const v = readVectors(name);
    assert.is(v.ops.length, v.roots.length);
    const r = new ReferenceEngine(v.params);
    for (let i = 0; i < v.ops.length; i++) {
      r.apply(v.ops[i]);
      const got = toHex(r.root());
      if (got !== v.roots[i]) assert.unreachable(`${name}.jsonl line ${i + 2}: root ${got}, expected ${v.roots[i]}`);
      if (i % 500 === 0) assert.is(toHex(r.fullRoot()), got, `full root after line ${i + 2}`);
    }
    assert.is(toHex(r.fullRoot()), v.roots[v.roots.length - 1]);
  });
}

test('reference: the all-zero genesis root equals the engine genesis root', () => {
  const r = new ReferenceEngine(DEFAULT_MA_PARAMS);
  const e = engineFrom('ma.wasm', DEFAULT_MA_PARAMS);
  assert.is(toHex(r.root()), e.rootHex());
  assert.is(toHex(r.fullRoot()), e.rootHex());
});

/** Some invalid ops: each must be rejected by both implementations with the same code. */
function invalidOp(rng: Rng, p: MaParams, bound: number): MaOp {
  const at = { shard: rng.int(0, p.shards - 1), layer: rng.int(0, p.layers - 1), slot: rng.int(0, p.slots - 1) };
  const vec = Array.from({ length: p.dim }, () => rng.int(-bound, bound));
  const badAt = rng.int(0, p.dim - 1);
  const cases: unknown[] = [
    { op: 'clip', ...at, shard: p.shards, bound: 0 },
    { op: 'clip', ...at, layer: -1, bound: 0 },
    { op: 'decay', ...at, slot: 0.5 },
    { op: 'add', ...at, vec: vec.slice(1) },
    { op: 'add', ...at, vec: vec.map((x, i) => (i === badAt ? bound + 1 : x)) },
    { op: 'add', ...at, vec: vec.map((x, i) => (i === badAt ? 0.5 : x)) },
    { op: 'add', ...at, vec: vec.map((x, i) => (i === badAt ? 2 ** 32 : x)) },
    { op: 'add', ...at, vec: vec.map((x, i) => (i === badAt ? String(x) : x)) },
    { op: 'decay', ...at, factor: p.q + 1 },
    { op: 'mix', ...at, src: p.slots, alpha: 0 },
    { op: 'mix', ...at, src: 0, alpha: -1 },
    { op: 'clip', ...at, bound: bound + 1 },
    { op: 'shift', ...at },
    // Values that ToInt32 would silently turn into valid coordinates or parameters inside wasm.
    { op: 'clip', ...at, shard: 2 ** 32 + at.shard, bound: 0 },
    { op: 'decay', ...at, factor: 1.5 },
    { op: 'mix', ...at, src: String(at.slot), alpha: 0 },
    { op: 'mix', ...at, src: 0, alpha: 2 ** 32 + 1 },
    { op: 'clip', ...at, bound: NaN },
    { op: 'add', ...at, vec: null },
    { op: 'add', ...at, vec: vec.map((x, i) => (i === badAt ? undefined : x)) },
  ];
  return rng.pick(cases) as MaOp;
}

function codeOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (x) {
    if (!(x instanceof MaError)) throw x;
    return `${x.code} (${x.field})`;
  }
}

function crossCheck(p: MaParams, seed: number, count: number): void {
  const rng = new Rng(seed);
  const r = new ReferenceEngine(p);
  const e: MaEngine = engineFrom('ma.wasm', p);
  assert.is(r.bound, e.bound, 'B');
  for (let i = 0; i < count; i++) {
    const op = rng.int(0, 19) === 0 ? invalidOp(rng, p, r.bound) : randomOp(rng, p, r.bound);
    const re = codeOf(() => r.apply(op));
    const ee = codeOf(() => e.apply(op));
    if (re !== ee) assert.unreachable(`seed ${seed} op ${i} ${JSON.stringify(op)}: reference ${re}, engine ${ee}`);
    // Roots only now and then, so that several changed rows are folded into one incremental root.
    if (rng.int(0, 3) === 0) {
      const a = toHex(r.root());
      const b = e.rootHex();
      if (a !== b) assert.unreachable(`seed ${seed} op ${i} ${JSON.stringify(op)}: roots differ`);
    }
  }
  for (let row = 0; row < r.rowCount; row++) {
    const slot = row % p.slots;
    const layer = Math.floor(row / p.slots) % p.layers;
    const shard = Math.floor(row / (p.slots * p.layers));
    assert.equal(Array.from(e.readRow({ shard, layer, slot })), Array.from(r.row(row)), `seed ${seed}: row ${row}`);
    if (toHex(r.leafHash(row)) !== toHex(e.leafHash(row))) assert.unreachable(`seed ${seed}: leaf ${row} differs`);
  }
  assert.is(toHex(r.fullRoot()), e.rootHex());
}

test('reference and ma.wasm agree on a random stream with default parameters', () => {
  crossCheck(DEFAULT_MA_PARAMS, 1, 3000);
});

test('reference and ma.wasm agree on odd shapes (non-power-of-two rows, tiny dim)', () => {
  crossCheck({ shards: 3, layers: 5, slots: 7, dim: 3, q: 1000, decay: 0.37, clip: 1.5 }, 2, 3000);
  crossCheck({ shards: 1, layers: 1, slots: 1, dim: 1, q: 1, decay: 0.5, clip: 3 }, 3, 300);
});

test('reference and ma.wasm agree where products saturate: B near 2^31 and a growing genesis decay', () => {
  // B = round(2047.999 × 2^20) ≈ 2^31 − 1049; decay 1.75 pushes values past B, mix and decay must clamp.
  crossCheck({ shards: 2, layers: 2, slots: 4, dim: 16, q: 1 << 20, decay: 1.75, clip: 2047.999 }, 4, 2000);
  crossCheck({ shards: 1, layers: 3, slots: 5, dim: 8, q: 3, decay: 1e300, clip: 5 }, 5, 1000);
});

test.run();
