// Property tests of the engine wrapper (src/engine/engine.ts) against the TypeScript reference
// (src/engine/reference.ts): random parameters give an engine or MaError; random op sequences, valid
// or with any field replaced by a wrong value of any type, are applied by both or refused by both
// with the same MaError code, and the state roots agree after every op; snapshot import of damaged
// bytes is refused with MaError and leaves the state as it was. Nothing else is ever thrown.
import fc from 'fast-check';
import { test } from 'uvu';
import { MaEngine, toHex } from '../../src/engine/engine.ts';
import { engineModule } from '../../src/host/node-loader.ts';
import { ReferenceEngine } from '../../src/engine/reference.ts';
import { MaError, type MaOp, type MaParams } from '../../src/engine/types.ts';
import { expectTyped, fuzz, mutate, mutationArb } from './fuzz.ts';

const wasm = engineModule();

/** Small tensors (the ops are what is fuzzed), with q, decay and clip anywhere they are valid. */
const smallParamsArb: fc.Arbitrary<MaParams> = fc.record({
  shards: fc.integer({ min: 1, max: 3 }),
  layers: fc.integer({ min: 1, max: 3 }),
  slots: fc.integer({ min: 1, max: 6 }),
  dim: fc.integer({ min: 1, max: 6 }),
  q: fc.oneof(fc.constantFrom(1, 2, 256, 1024, 65536), fc.integer({ min: 1, max: 1 << 20 })),
  decay: fc.oneof(fc.constantFrom(0.5, 0.985, 1, 1.5), fc.double({ min: 1e-6, max: 4, noNaN: true })),
  clip: fc.oneof(fc.constantFrom(8, 0.5, 1e-3), fc.double({ min: 1e-6, max: 64, noNaN: true })),
});

/** A wrong value of every kind a JavaScript caller might pass. */
const wrongArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0.5, -0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, '1', '', null, undefined, true, [], {}, [1]),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constantFrom(Symbol('x'), Object.create(null), { valueOf: () => 1 }, () => 1),
);

/** Parameters that are valid and small, or have one field wrong, or describe a tensor far over 4 GiB. */
const paramsArb: fc.Arbitrary<MaParams> = fc.oneof(
  { arbitrary: smallParamsArb, weight: 3 },
  {
    arbitrary: fc.tuple(smallParamsArb, fc.constantFrom('shards', 'layers', 'slots', 'dim', 'q', 'decay', 'clip'), wrongArb).map(([p, k, v]) => ({ ...p, [k]: v }) as MaParams),
    weight: 3,
  },
  {
    arbitrary: fc.tuple(smallParamsArb, fc.integer({ min: 1 << 16, max: 2 ** 31 - 1 }), fc.integer({ min: 1 << 15, max: 2 ** 31 - 1 }), fc.constantFrom('rows', 'dim')).map(([p, a, b, which]) =>
      which === 'rows' ? { ...p, shards: a, layers: b } : { ...p, dim: Math.max(a, 1 << 28) },
    ),
    weight: 1,
  },
);

function opArb(p: MaParams): fc.Arbitrary<MaOp> {
  const idx = (n: number) => fc.oneof({ arbitrary: fc.integer({ min: 0, max: n - 1 }), weight: 9 }, { arbitrary: fc.constantFrom(n, -1), weight: 1 });
  const target = { shard: idx(p.shards), layer: idx(p.layers), slot: idx(p.slots) };
  const b = Math.round(p.clip * p.q); // about the bound: values near it and past it
  const valueArb = fc.oneof(fc.integer({ min: -Math.min(b, 2 ** 31 - 1), max: Math.min(b, 2 ** 31 - 1) }), fc.constantFrom(0, 1, -1, b, -b, b + 1, -b - 1));
  const valid = fc.oneof(
    fc.record({ op: fc.constant('add' as const), ...target, vec: fc.array(valueArb, { minLength: p.dim, maxLength: p.dim }) }),
    fc.record({ op: fc.constant('add' as const), ...target, vec: fc.array(valueArb, { minLength: p.dim, maxLength: p.dim }).map((v) => Int32Array.from(v)) }),
    fc.record({ op: fc.constant('decay' as const), ...target, factor: fc.option(fc.integer({ min: 0, max: p.q }), { nil: null }) }),
    fc.record({ op: fc.constant('decay' as const), ...target }),
    fc.record({ op: fc.constant('mix' as const), ...target, src: idx(p.slots), alpha: fc.integer({ min: 0, max: p.q }) }),
    fc.record({ op: fc.constant('clip' as const), ...target, bound: fc.oneof(fc.integer({ min: 0, max: Math.min(b, 2 ** 31 - 1) }), fc.constantFrom(b, b + 1)) }),
  );
  // One field (or one vector element, or the op name) replaced by a wrong value.
  const broken = fc.tuple(valid, fc.constantFrom('op', 'shard', 'layer', 'slot', 'vec', 'vec[]', 'factor', 'src', 'alpha', 'bound'), wrongArb, fc.nat()).map(([op, k, v, at]) => {
    const o: Record<string, unknown> = { ...op };
    if (k === 'vec[]' && 'vec' in op) {
      const vec = Array.from(op.vec as ArrayLike<number>) as unknown[];
      vec[at % vec.length] = v;
      o.vec = vec;
    } else o[k === 'vec[]' ? 'vec' : k] = v;
    return o as unknown as MaOp;
  });
  return fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: broken, weight: 2 });
}

/** The MaError code `fn` throws, or null when it returns. Anything but MaError fails the property. */
function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return expectTyped(e, MaError).code;
  }
}

test('engine: any parameters give an engine or MaError, as the reference decides', () =>
  fuzz('engine/params', 1000, fc.property(paramsArb, (p) => {
    let engine: MaEngine;
    try {
      engine = MaEngine.instantiateSync(wasm, p);
    } catch (e) {
      expectTyped(e, MaError);
      return;
    }
    const ref = new ReferenceEngine(p);
    if (engine.bound !== ref.bound || engine.rowCount !== ref.rowCount) throw new Error('bound or row count differ from the reference');
    if (toHex(engine.root()) !== toHex(ref.root())) throw new Error('genesis roots differ');
  })));

test('engine: random ops, valid or not, do what the reference does; refusals are MaError and change nothing', () =>
  fuzz('engine/ops', 500, fc.property(smallParamsArb.chain((p) => fc.tuple(fc.constant(p), fc.array(opArb(p), { minLength: 1, maxLength: 25 }))), ([p, ops]) => {
    let engine: MaEngine;
    try {
      engine = MaEngine.instantiateSync(wasm, p);
    } catch (e) {
      expectTyped(e, MaError); // clip × q too large: the params property covers it
      return;
    }
    const ref = new ReferenceEngine(p);
    ops.forEach((op, i) => {
      const before = toHex(engine.root());
      const checked = engine.check(op);
      const got = codeOf(() => engine.apply(op));
      const want = codeOf(() => ref.apply(op));
      if (got !== want) throw new Error(`op ${i}: engine says ${got ?? 'ok'}, reference ${want ?? 'ok'}`);
      if ((checked?.code ?? null) !== got) throw new Error(`op ${i}: check() says ${checked?.code ?? 'ok'}, apply() ${got ?? 'ok'}`);
      const after = toHex(engine.root());
      if (after !== toHex(ref.root())) throw new Error(`op ${i}: roots differ from the reference`);
      if (got !== null && after !== before) throw new Error(`op ${i}: a refused op changed the state`);
    });
  })));

test('engine: a damaged snapshot is refused with MaError and leaves the state as it was', () =>
  fuzz('engine/snapshot', 500, fc.property(
    smallParamsArb.chain((p) => fc.tuple(fc.constant(p), fc.array(opArb(p), { maxLength: 6 }))),
    fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
    fc.boolean(),
    ([p, ops], edits, damageRoot) => {
      let a: MaEngine;
      try {
        a = MaEngine.instantiateSync(wasm, p);
      } catch (e) {
        expectTyped(e, MaError);
        return;
      }
      for (const op of ops) codeOf(() => a.apply(op));
      const snap = a.exportSnapshot();
      const b = MaEngine.instantiateSync(wasm, p);
      const fresh = toHex(b.root());
      const tensor = damageRoot ? snap.tensor : mutate(snap.tensor, edits);
      const root = damageRoot ? mutate(snap.root, edits) : snap.root;
      const code = codeOf(() => b.importSnapshot(tensor, root));
      const same = toHex(tensor) === toHex(snap.tensor) && toHex(root) === toHex(snap.root);
      if (code === null) {
        if (!same && toHex(b.root()) !== toHex(root)) throw new Error('imported a snapshot that does not hash to its root');
        if (toHex(b.root()) !== toHex(a.root())) throw new Error('imported state differs');
      } else {
        if (code !== 'bad_snapshot') throw new Error(`refused with ${code}`);
        if (same) throw new Error('refused an undamaged snapshot');
        if (toHex(b.root()) !== fresh) throw new Error('a refused import changed the state');
      }
    },
  )));

test.run();
