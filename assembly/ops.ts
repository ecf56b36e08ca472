// The four Memory Arithmetic operations. Every argument is checked before any element changes, so a
// rejected op leaves the tensor exactly as it was. Floats appear only as local f64 temporaries: they
// are never stored to memory and never returned, which keeps NaN payloads unobservable.
import {
  ERR_ALPHA,
  ERR_BOUND,
  ERR_FACTOR,
  ERR_LAYER,
  ERR_SHARD,
  ERR_SLOT,
  ERR_SRC,
  ERR_STATE,
  ERR_VEC,
  OK,
  bound,
  dim,
  genesisDecay,
  io,
  nLayers,
  nShards,
  nSlots,
  q,
  ready,
  tensor,
} from './layout';
import { markDirty } from './merkle';
import { fail } from './layout';

// @ts-ignore: decorator
@inline
function clampI64(x: i64, b: i32): i32 {
  const lo = -(<i64>b);
  const hi = <i64>b;
  return <i32>(x < lo ? lo : x > hi ? hi : x);
}

// @ts-ignore: decorator
@inline
function clampI32(x: i32, b: i32): i32 {
  return x < -b ? -b : x > b ? b : x;
}

/** nearest() is IEEE round-half-to-even; the i32 conversion saturates (i32.trunc_sat_f64_s). */
// @ts-ignore: decorator
@inline
function roundClamp(x: f64, b: i32): i32 {
  return clampI32(<i32>nearest<f64>(x), b);
}

/** Row index of a target, or a negative error code naming the bad coordinate. */
export function rowOf(shard: i32, layer: i32, slot: i32): i32 {
  if (!ready) return ERR_STATE;
  if (<u32>shard >= <u32>nShards) return ERR_SHARD;
  if (<u32>layer >= <u32>nLayers) return ERR_LAYER;
  if (<u32>slot >= <u32>nSlots) return ERR_SLOT;
  return (shard * nLayers + layer) * nSlots + slot;
}

// @ts-ignore: decorator
@inline
function rowPtr(row: i32): usize {
  return tensor + ((<usize>row * <usize>dim) << 2);
}

/** add: the vector was written by the host to the io buffer as D little-endian int32. */
export function opAdd(shard: i32, layer: i32, slot: i32): i32 {
  const row = rowOf(shard, layer, slot);
  if (row < 0) return row;
  const b = bound;
  const n = <usize>dim;
  for (let i: usize = 0; i < n; i++) {
    const v = load<i32>(io + (i << 2));
    if (v < -b || v > b) {
      return fail(ERR_VEC, <i32>i);
    }
  }
  const p = rowPtr(row);
  for (let i: usize = 0; i < n; i++) {
    const a = p + (i << 2);
    store<i32>(a, clampI64(<i64>load<i32>(a) + <i64>load<i32>(io + (i << 2)), b));
  }
  markDirty(row);
  return OK;
}

/** decay: factor k/q when hasFactor, else the genesis decay. */
export function opDecay(shard: i32, layer: i32, slot: i32, hasFactor: i32, k: i32): i32 {
  const row = rowOf(shard, layer, slot);
  if (row < 0) return row;
  let f: f64 = genesisDecay;
  if (hasFactor != 0) {
    if (k < 0 || k > q) return ERR_FACTOR;
    f = <f64>k / <f64>q;
  }
  const b = bound;
  const n = <usize>dim;
  const p = rowPtr(row);
  for (let i: usize = 0; i < n; i++) {
    const a = p + (i << 2);
    store<i32>(a, roundClamp(<f64>load<i32>(a) * f, b));
  }
  markDirty(row);
  return OK;
}

/** mix: t = nearest(t·(1−a) + src·a) with a = k/q; src is a slot of the same shard and layer. */
export function opMix(shard: i32, layer: i32, slot: i32, src: i32, k: i32): i32 {
  const row = rowOf(shard, layer, slot);
  if (row < 0) return row;
  if (<u32>src >= <u32>nSlots) return ERR_SRC;
  if (k < 0 || k > q) return ERR_ALPHA;
  const a: f64 = <f64>k / <f64>q;
  const oneMinus: f64 = 1.0 - a;
  const b = bound;
  const n = <usize>dim;
  const p = rowPtr(row);
  const s = rowPtr(row - slot + src);
  for (let i: usize = 0; i < n; i++) {
    const at = p + (i << 2);
    const x = <f64>load<i32>(at) * oneMinus + <f64>load<i32>(s + (i << 2)) * a;
    store<i32>(at, roundClamp(x, b));
  }
  markDirty(row);
  return OK;
}

/** clip: t = clamp(t, −bound, bound) with bound ∈ [0, B]. */
export function opClip(shard: i32, layer: i32, slot: i32, b: i32): i32 {
  const row = rowOf(shard, layer, slot);
  if (row < 0) return row;
  if (b < 0 || b > bound) return ERR_BOUND;
  const n = <usize>dim;
  const p = rowPtr(row);
  for (let i: usize = 0; i < n; i++) {
    const at = p + (i << 2);
    store<i32>(at, clampI32(load<i32>(at), b));
  }
  markDirty(row);
  return OK;
}
