// The wrapper's contract: exact spec semantics on hand-checked cases, clear errors that leave the
// state untouched, proofs a light client can verify, checkpoints and snapshots.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { MaEngine, toHex } from '../../src/engine/engine.ts';
import { rowLeafHash, verifyRowProof } from '../../src/engine/proof.ts';
import { WASM_PATH } from '../../src/host/node-loader.ts';
import { DEFAULT_MA_PARAMS, MaError, type MaOp, type MaParams } from '../../src/engine/types.ts';
import { engineFrom } from './helpers.ts';

const SMALL: MaParams = { shards: 2, layers: 2, slots: 3, dim: 4, q: 4, decay: 0.5, clip: 2.0 }; // B = 8
const at = { shard: 1, layer: 0, slot: 2 };

function small(): MaEngine {
  return engineFrom('ma.wasm', SMALL);
}

test('B is clip × q rounded half to even', () => {
  assert.is(small().bound, 8);
  assert.is(engineFrom('ma.wasm', DEFAULT_MA_PARAMS).bound, 8192);
  // 2.5 × 1 = 2.5 → 2 (even), 3.5 × 1 → 4
  assert.is(engineFrom('ma.wasm', { ...SMALL, q: 1, clip: 2.5 }).bound, 2);
  assert.is(engineFrom('ma.wasm', { ...SMALL, q: 1, clip: 3.5 }).bound, 4);
});

test('add clamps to ±B with integer arithmetic', () => {
  const e = small();
  e.apply({ op: 'add', ...at, vec: [8, -8, 3, 0] });
  e.apply({ op: 'add', ...at, vec: [1, -1, 4, -8] });
  assert.equal(Array.from(e.readRow(at)), [8, -8, 7, -8]);
});

test('decay rounds half to even, not like Math.round', () => {
  const e = small();
  e.apply({ op: 'add', ...at, vec: [3, 5, -3, -5] });
  e.apply({ op: 'decay', ...at, factor: 2 }); // × 0.5: 1.5→2, 2.5→2, −1.5→−2, −2.5→−2
  assert.equal(Array.from(e.readRow(at)), [2, 2, -2, -2]);
  e.apply({ op: 'decay', ...at }); // genesis decay 0.5: 1, 1, −1, −1
  assert.equal(Array.from(e.readRow(at)), [1, 1, -1, -1]);
  e.apply({ op: 'decay', ...at, factor: 0 });
  assert.equal(Array.from(e.readRow(at)), [0, 0, 0, 0]);
});

test('mix blends with the source slot, alpha 0 keeps, alpha q copies, src may be the target', () => {
  const e = small();
  const src = { ...at, slot: 0 };
  e.apply({ op: 'add', ...src, vec: [8, -8, 1, 2] });
  e.apply({ op: 'add', ...at, vec: [2, 2, 2, 2] });
  e.apply({ op: 'mix', ...at, src: 0, alpha: 0 });
  assert.equal(Array.from(e.readRow(at)), [2, 2, 2, 2]);
  e.apply({ op: 'mix', ...at, src: 0, alpha: 2 }); // (2+8)/2=5, (2−8)/2=−3, 1.5→2, 2
  assert.equal(Array.from(e.readRow(at)), [5, -3, 2, 2]);
  e.apply({ op: 'mix', ...at, src: 2, alpha: 3 }); // mixing a row with itself changes nothing
  assert.equal(Array.from(e.readRow(at)), [5, -3, 2, 2]);
  e.apply({ op: 'mix', ...at, src: 0, alpha: 4 });
  assert.equal(Array.from(e.readRow(at)), [8, -8, 1, 2]);
});

test('clip bounds every element symmetrically', () => {
  const e = small();
  e.apply({ op: 'add', ...at, vec: [8, -8, 3, -2] });
  e.apply({ op: 'clip', ...at, bound: 3 });
  assert.equal(Array.from(e.readRow(at)), [3, -3, 3, -2]);
  e.apply({ op: 'clip', ...at, bound: 0 });
  assert.equal(Array.from(e.readRow(at)), [0, 0, 0, 0]);
});

const BAD: Array<[string, MaOp | Record<string, unknown>, string]> = [
  ['shard out of range', { op: 'clip', shard: 2, layer: 0, slot: 0, bound: 1 }, 'shard'],
  ['negative layer', { op: 'clip', shard: 0, layer: -1, slot: 0, bound: 1 }, 'layer'],
  ['fractional slot', { op: 'clip', shard: 0, layer: 0, slot: 0.5, bound: 1 }, 'slot'],
  ['string slot', { op: 'clip', shard: 0, layer: 0, slot: '1', bound: 1 }, 'slot'],
  ['short vec', { op: 'add', ...at, vec: [1, 2, 3] }, 'vec'],
  ['vec value above B', { op: 'add', ...at, vec: [1, 2, 9, 0] }, 'vec[2]'],
  ['non-integer vec value', { op: 'add', ...at, vec: [1, 2, 0.5, 0] }, 'vec[2]'],
  ['vec not an array', { op: 'add', ...at, vec: 7 }, 'vec'],
  ['factor above q', { op: 'decay', ...at, factor: 5 }, 'factor'],
  ['negative factor', { op: 'decay', ...at, factor: -1 }, 'factor'],
  ['alpha above q', { op: 'mix', ...at, src: 0, alpha: 5 }, 'alpha'],
  ['src out of range', { op: 'mix', ...at, src: 3, alpha: 1 }, 'src'],
  ['bound above B', { op: 'clip', ...at, bound: 9 }, 'bound'],
  ['unknown op', { op: 'scale', ...at }, 'op'],
];

for (const [what, op, field] of BAD) {
  test(`rejects ${what}, naming ${field}, and changes nothing`, () => {
    const e = small();
    e.apply({ op: 'add', ...at, vec: [1, 2, 3, 4] });
    const before = e.rootHex();
    const err = e.check(op as MaOp);
    assert.ok(err instanceof MaError, 'check() returns an error');
    assert.is(err!.field, field);
    try {
      e.apply(op as MaOp);
      assert.unreachable('apply() must throw');
    } catch (x) {
      assert.instance(x, MaError);
      assert.is((x as MaError).field, field);
      assert.ok((x as MaError).message.length > 10);
    }
    assert.is(e.rootHex(), before);
  });
}

test('a bigint, a symbol or a prototype-less object anywhere is refused with MaError, not a TypeError (found by test/fuzz/engine.test.ts)', () => {
  const odd: unknown[] = [1n, Symbol('s'), Object.create(null)];
  const base: Record<string, unknown>[] = [
    { op: 'add', ...at, vec: [1, 2, 3, 4] },
    { op: 'decay', ...at, factor: 2 },
    { op: 'mix', ...at, src: 0, alpha: 1 },
    { op: 'clip', ...at, bound: 3 },
  ];
  const e = small();
  const before = e.rootHex();
  for (const v of odd) {
    for (const op of base) {
      for (const k of Object.keys(op)) {
        const bad = { ...op, [k]: v } as unknown as MaOp;
        assert.instance(e.check(bad), MaError, `check ${k}`);
        assert.throws(() => e.apply(bad), (x: unknown) => x instanceof MaError, `apply ${k}`);
      }
    }
    assert.throws(() => e.apply({ op: 'add', ...at, vec: [1, v, 3, 4] } as unknown as MaOp), (x: unknown) => x instanceof MaError);
    assert.throws(() => engineFrom('ma.wasm', { ...SMALL, shards: v } as unknown as MaParams), (x: unknown) => x instanceof MaError);
  }
  assert.is(e.rootHex(), before);
});

test('bad parameters are rejected with the field named', () => {
  const cases: Array<[Partial<MaParams>, string]> = [
    [{ shards: 0 }, 'shards'],
    [{ dim: 1.5 }, 'dim'],
    [{ q: -3 }, 'q'],
    [{ decay: 0 }, 'decay'],
    [{ clip: Number.POSITIVE_INFINITY }, 'clip'],
    [{ clip: 3e6, q: 1024 }, 'clip'],
    [{ shards: 65536, layers: 65536, slots: 64 }, 'size'],
  ];
  for (const [patch, field] of cases) {
    try {
      engineFrom('ma.wasm', { ...SMALL, ...patch });
      assert.unreachable(JSON.stringify(patch));
    } catch (x) {
      assert.instance(x, MaError);
      assert.is((x as MaError).field, field, JSON.stringify(patch));
    }
  }
});

test('row proofs verify against the root and fail when anything is tampered with', () => {
  for (const params of [SMALL, { ...SMALL, shards: 3 }, { ...SMALL, shards: 1, layers: 1, slots: 1 }]) {
    const e = engineFrom('ma.wasm', params);
    for (let s = 0; s < params.slots; s++) e.apply({ op: 'add', shard: 0, layer: 0, slot: s, vec: [s, 1, 2, 3] });
    const root = e.root();
    for (let r = 0; r < e.rowCount; r++) {
      const t = { shard: Math.floor(r / (params.layers * params.slots)), layer: Math.floor(r / params.slots) % params.layers, slot: r % params.slots };
      const p = e.proof(t);
      assert.is(p.index, r);
      assert.ok(verifyRowProof(p, root), `row ${r} of ${e.rowCount}`);
      const values = new Int32Array(p.values);
      values[0] ^= 1;
      assert.not.ok(verifyRowProof({ ...p, values }, root), 'tampered value');
      if (p.path.length) {
        const path = p.path.map((h) => h.slice());
        path[0][5] ^= 1;
        assert.not.ok(verifyRowProof({ ...p, path }, root), 'tampered path');
        assert.not.ok(verifyRowProof({ ...p, path: p.path.slice(1) }, root), 'short path');
      }
      // Claiming another position must fail unless that row holds identical values (then it is true).
      const other = (r + 1) % e.rowCount;
      if (other !== r && r < params.slots && other < params.slots) {
        assert.not.ok(verifyRowProof({ ...p, index: other }, root), 'wrong index');
      }
    }
  }
});

test('rowLeafHashOf equals the proof leaf of the row, negative values included, and the engine\'s own leaf', () => {
  const e = engineFrom('ma.wasm', { ...SMALL, dim: 5 });
  e.apply({ op: 'add', shard: 1, layer: 1, slot: 0, vec: [-7, 3, 0, -1, 8] });
  e.apply({ op: 'add', shard: 0, layer: 1, slot: 2, vec: [1, -2, 3, -4, 5] });
  for (let r = 0; r < e.rowCount; r++) {
    const t = { shard: Math.floor(r / (2 * 3)), layer: Math.floor(r / 3) % 2, slot: r % 3 };
    const fast = toHex(e.rowLeafHashOf(t));
    assert.is(fast, toHex(rowLeafHash(e.readRow(t))), `row ${r}`);
    assert.is(fast, toHex(e.leafHash(r)), `row ${r}: the tree's leaf`);
    assert.is(e.rowLeafHexOf(t), fast, `row ${r}: the receipt's hex form`);
  }
});

test('checkpoint/restore returns to the exact earlier state, including the tree', () => {
  const e = small();
  e.apply({ op: 'add', ...at, vec: [1, 2, 3, 4] });
  const rootA = e.rootHex();
  const cp = e.checkpoint();
  e.apply({ op: 'add', shard: 0, layer: 1, slot: 1, vec: [5, 5, 5, 5] });
  e.apply({ op: 'decay', ...at, factor: 1 });
  assert.is.not(e.rootHex(), rootA);
  e.apply({ op: 'clip', ...at, bound: 1 }); // dirty rows pending at restore time
  e.restore(cp);
  assert.is(e.rootHex(), rootA);
  e.apply({ op: 'add', shard: 0, layer: 1, slot: 1, vec: [5, 5, 5, 5] });
  const fresh = small();
  fresh.apply({ op: 'add', ...at, vec: [1, 2, 3, 4] });
  fresh.apply({ op: 'add', shard: 0, layer: 1, slot: 1, vec: [5, 5, 5, 5] });
  assert.is(e.rootHex(), fresh.rootHex());
});

test('snapshots round-trip; a wrong root or out-of-range value is refused and changes nothing', () => {
  const a = small();
  a.apply({ op: 'add', ...at, vec: [1, -2, 3, -4] });
  const snap = a.exportSnapshot();
  const b = small();
  b.importSnapshot(snap.tensor, snap.root);
  assert.is(toHex(b.root()), toHex(snap.root));
  assert.equal(Array.from(b.readRow(at)), [1, -2, 3, -4]);

  const c = small();
  const genesis = c.rootHex();
  const wrongRoot = snap.root.slice();
  wrongRoot[0] ^= 1;
  assert.throws(() => c.importSnapshot(snap.tensor, wrongRoot), (x: unknown) => x instanceof MaError && x.field === 'root');
  assert.is(c.rootHex(), genesis);
  const big = snap.tensor.slice();
  new DataView(big.buffer).setInt32(8, 9, true);
  assert.throws(() => c.importSnapshot(big, snap.root), (x: unknown) => x instanceof MaError && x.code === 'bad_snapshot');
  assert.is(c.rootHex(), genesis);
  assert.throws(() => c.importSnapshot(snap.tensor.subarray(4), snap.root), (x: unknown) => x instanceof MaError && x.field === 'tensor');
});

test('a snapshot tensor is exactly rows × dim × 4 bytes, for shapes that are not multiples of 16', () => {
  const params: MaParams = { shards: 3, layers: 5, slots: 7, dim: 3, q: 16, decay: 0.5, clip: 1.0 };
  const a = engineFrom('ma.wasm', params);
  a.apply({ op: 'add', shard: 2, layer: 4, slot: 6, vec: [16, -16, 3] });
  const snap = a.exportSnapshot();
  assert.is(snap.tensor.byteLength, 3 * 5 * 7 * 3 * 4);
  assert.equal(Array.from(new Int32Array(snap.tensor.buffer).subarray(-3)), [16, -16, 3]);
  const b = engineFrom('ma.wasm', params);
  b.importSnapshot(snap.tensor, snap.root);
  assert.is(b.rootHex(), a.rootHex());
});

test('memory never grows after the tensor is sized', async () => {
  const e = await MaEngine.instantiate(readFileSync(WASM_PATH), DEFAULT_MA_PARAMS);
  const mem = (e as unknown as { x: { memory: WebAssembly.Memory } }).x.memory;
  const size = mem.buffer.byteLength;
  for (let i = 0; i < 2000; i++) {
    const t = { shard: i % 4, layer: (i >> 2) % 4, slot: i % 64 };
    e.apply({ op: 'add', ...t, vec: new Array(128).fill((i % 17) - 8) });
    e.apply({ op: 'mix', ...t, src: (i * 7) % 64, alpha: i % 1025 });
    if (i % 100 === 0) e.proof(t);
  }
  e.checkpoint();
  assert.is(mem.buffer.byteLength, size);
});

test.run();
