// Self-driving build of the engine for hosts that cannot feed it ops (wabt's wasm-interp): it links the
// engine's own modules (no copies) and generates, inside wasm, the SAME seeded op stream as
// src/engine/opstream.ts — see that file for the exact specification; the two must change together.
// The host calls run(...) once per instance, then reads each checkpoint root as eight big-endian words.
// Like ma.wasm it imports nothing.
import * as L from './layout';
import { init } from './index';
import { opAdd, opClip, opDecay, opMix } from './ops';
import { updateRoot } from './merkle';

const CHECKPOINTS: i32 = 4;
const roots: usize = memory.data(32 * CHECKPOINTS);

let s: u32 = 0;
// How many ops run() applied, and the first engine error (0 if none).
let applied: i32 = 0;

// @ts-ignore: decorator
@inline
function next(): u32 {
  s += 0x6d2b79f5;
  let t: u32 = (s ^ (s >>> 15)) * (s | 1);
  t = t ^ (t + (t ^ (t >>> 7)) * (t | 61));
  return t ^ (t >>> 14);
}

/** floor(next() · n / 2^32) for 1 ≤ n ≤ 2^32. */
// @ts-ignore: decorator
@inline
function below(n: u64): i32 {
  return <i32>((<u64>next() * n) >> 32);
}

// The op generate() drew last: kind (ADD, DECAY_GENESIS, DECAY, MIX, CLIP), target, src and the
// factor / alpha / bound; an add's vector is in the io buffer.
const ADD: i32 = 0;
const DECAY_GENESIS: i32 = 1;
const DECAY: i32 = 2;
const MIX: i32 = 3;
const CLIP: i32 = 4;
let gKind: i32 = 0;
let gShard: i32 = 0;
let gLayer: i32 = 0;
let gSlot: i32 = 0;
let gSrc: i32 = 0;
let gArg: i32 = 0;

function generate(): void {
  const B = L.bound;
  const q = L.q;
  gShard = below(<u64>L.nShards);
  gLayer = below(<u64>L.nLayers);
  gSlot = below(<u64>L.nSlots);
  gSrc = 0;
  gArg = 0;
  const kind = below(100);
  if (kind < 35) {
    gKind = ADD;
    const style = below(3);
    const m: i32 = B < 3 ? B : 3;
    const n = L.dim;
    for (let i: i32 = 0; i < n; i++) {
      let v: i32;
      if (style == 0) v = -B + below(<u64>2 * <u64>B + 1);
      else if (style == 1) v = -m + below(<u64>(2 * m + 1));
      else v = (below(3) - 1) * B;
      store<i32>(L.io + (<usize>i << 2), v);
    }
  } else if (kind < 60) {
    const c = below(6);
    gKind = c == 0 ? DECAY_GENESIS : DECAY;
    if (c != 0) gArg = c == 1 ? 0 : c == 2 ? q : c == 3 ? q >> 1 : below(<u64>q + 1);
  } else if (kind < 85) {
    gKind = MIX;
    gSrc = below(4) == 0 ? gSlot : below(<u64>L.nSlots);
    const c = below(6);
    gArg = c == 0 ? 0 : c == 1 ? q : c == 2 ? q >> 1 : below(<u64>q + 1);
  } else {
    gKind = CLIP;
    const c = below(4);
    gArg = c == 0 ? 0 : c == 1 ? B : below(<u64>B + 1);
  }
}

function step(): i32 {
  generate();
  switch (gKind) {
    case ADD: return opAdd(gShard, gLayer, gSlot);
    case DECAY_GENESIS: return opDecay(gShard, gLayer, gSlot, 0, 0);
    case DECAY: return opDecay(gShard, gLayer, gSlot, 1, gArg);
    case MIX: return opMix(gShard, gLayer, gSlot, gSrc, gArg);
    default: return opClip(gShard, gLayer, gSlot, gArg);
  }
}

/**
 * Size the engine, apply `count` ops of the stream for `seed`, and record the root after
 * floor(count·k/4) ops for k = 1..4. Returns 0, an init error (< 0, as ma.wasm's init), or the
 * 1-based number of the first op the engine rejected (a generator bug) as a positive value.
 */
export function run(
  shards: i32,
  layers: i32,
  slots: i32,
  dim: i32,
  q: i32,
  decay: f64,
  clip: f64,
  seed: i32,
  count: i32,
): i32 {
  const rc = init(shards, layers, slots, dim, q, decay, clip);
  if (rc != L.OK) return rc;
  if (count < 0) return L.ERR_PARAMS;
  s = <u32>seed;
  applied = 0;
  for (let k: i32 = 1; k <= CHECKPOINTS; k++) {
    const stop = <i32>((<i64>count * <i64>k) / <i64>CHECKPOINTS);
    while (applied < stop) {
      if (step() != L.OK) return applied + 1;
      applied++;
    }
    memory.copy(roots + (<usize>(k - 1) << 5), updateRoot(), 32);
  }
  return 0;
}

/** Word `w` (0..7, big-endian) of the root at checkpoint `k` (0..3). */
export function rootWord(k: i32, w: i32): i32 {
  if (<u32>k >= <u32>CHECKPOINTS || <u32>w >= 8) return 0;
  return bswap<i32>(load<i32>(roots + (<usize>k << 5) + (<usize>w << 2)));
}

/** Ops applied by the last run (progress, or where it stopped). */
export function opsApplied(): i32 {
  return applied;
}

// Generator-only interface: lets a host (the wasm-interp glue module) apply the same stream to a
// separate instance of the real ma.wasm. genBegin sizes this instance only to learn B and use its io
// buffer; the engine state here stays untouched.

/** Start the stream for `seed` with these parameters; returns init's code (0 = ok). */
export function genBegin(shards: i32, layers: i32, slots: i32, dim: i32, q: i32, decay: f64, clip: f64, seed: i32): i32 {
  const rc = init(shards, layers, slots, dim, q, decay, clip);
  if (rc != L.OK) return rc;
  s = <u32>seed;
  return 0;
}

/** Draw the next op; returns its kind: 0 add, 1 decay (genesis factor), 2 decay, 3 mix, 4 clip. */
export function genNext(): i32 {
  generate();
  return gKind;
}

export function genShard(): i32 {
  return gShard;
}

export function genLayer(): i32 {
  return gLayer;
}

export function genSlot(): i32 {
  return gSlot;
}

export function genSrc(): i32 {
  return gSrc;
}

/** factor (decay), alpha (mix) or bound (clip) */
export function genArg(): i32 {
  return gArg;
}

/** Element i of the last add's vector. */
export function genVec(i: i32): i32 {
  return load<i32>(L.io + (<usize>i << 2));
}
