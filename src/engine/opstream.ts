// A seeded, portable stream of Memory Arithmetic ops that deliberately hits the engine's edge cases
// (rounding ties, ±B, zero and full factors). `numchain determinism` feeds the same stream to every
// engine; assembly/selftest.ts generates the SAME stream inside wasm for wasm-interp, so every step
// below is specified exactly and must stay in lock-step with that file.
//
// PRNG: mulberry32 on a u32 state s, initialised to seed mod 2^32. All arithmetic mod 2^32:
//   s = s + 0x6D2B79F5
//   t = (s ^ (s >>> 15)) * (s | 1)
//   t = t ^ (t + (t ^ (t >>> 7)) * (t | 61))
//   next() = t ^ (t >>> 14)
// below(n), 1 ≤ n ≤ 2^32: floor(next() · n / 2^32) (the high word of a 32×32→64-bit product).
//
// Op (draws in exactly this order):
//   shard = below(shards), layer = below(layers), slot = below(slots), kind = below(100)
//   kind <  35  add:   style = below(3), then for each of the D elements in order:
//                        style 0: −B + below(2B+1)         (uniform over [−B, B])
//                        style 1: −m + below(2m+1), m = min(3, B)   (small values: odd ones make ties)
//                        style 2: [−B, 0, B][below(3)]      (extremes)
//   kind <  60  decay: c = below(6): 0 → no factor (genesis decay), 1 → 0, 2 → q, 3 → floor(q/2),
//                        4, 5 → below(q+1)
//   kind <  85  mix:   src = below(4) == 0 ? slot : below(slots);
//                      c = below(6): 0 → alpha 0, 1 → q, 2 → floor(q/2), 3..5 → below(q+1)
//   otherwise   clip:  c = below(4): 0 → bound 0, 1 → B, 2, 3 → below(B+1)
// B = nearest(clip · q) (ties to even), the engine's bound.
//
// Checkpoints for a run of n ops: the root after floor(n·k/4) ops for k = 1, 2, 3, 4.
import type { MaEngine } from './engine.ts';
import { toHex } from './engine.ts';
import { MaError, type MaOp, type MaParams } from './types.ts';

/** The bound B = nearest(clip · q), rounding ties to even exactly like the engine's `nearest`. */
export function boundOf(params: MaParams): number {
  const x = params.clip * params.q;
  let r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

export class Mulberry32 {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    const s = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t = t ^ ((t + Math.imul(t ^ (t >>> 7), t | 61)) | 0);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** floor(next() · n / 2^32), computed exactly in doubles (split into 16-bit halves). */
  below(n: number): number {
    const r = this.next();
    const hi = (r >>> 16) * n; // < 2^48
    const lo = (r & 0xffff) * n; // < 2^48
    return Math.floor((hi + Math.floor(lo / 65536)) / 65536);
  }
}

export class OpStream {
  readonly bound: number;
  private readonly rng: Mulberry32;

  constructor(
    readonly params: MaParams,
    seed: number,
  ) {
    this.bound = boundOf(params);
    if (!Number.isInteger(this.bound) || this.bound < 0 || this.bound > 2147483647) {
      throw new MaError('bad_params', 'clip', `clip × q = ${params.clip * params.q} does not give a usable bound`);
    }
    this.rng = new Mulberry32(seed);
  }

  next(): MaOp {
    const { shards, layers, slots, dim, q } = this.params;
    const B = this.bound;
    const rng = this.rng;
    const shard = rng.below(shards);
    const layer = rng.below(layers);
    const slot = rng.below(slots);
    const kind = rng.below(100);
    if (kind < 35) {
      const style = rng.below(3);
      const vec = new Int32Array(dim);
      const m = Math.min(3, B);
      for (let i = 0; i < dim; i++) {
        if (style === 0) vec[i] = -B + rng.below(2 * B + 1);
        else if (style === 1) vec[i] = -m + rng.below(2 * m + 1);
        else vec[i] = (rng.below(3) - 1) * B;
      }
      return { op: 'add', shard, layer, slot, vec };
    }
    if (kind < 60) {
      const c = rng.below(6);
      if (c === 0) return { op: 'decay', shard, layer, slot };
      const factor = c === 1 ? 0 : c === 2 ? q : c === 3 ? Math.floor(q / 2) : rng.below(q + 1);
      return { op: 'decay', shard, layer, slot, factor };
    }
    if (kind < 85) {
      const src = rng.below(4) === 0 ? slot : rng.below(slots);
      const c = rng.below(6);
      const alpha = c === 0 ? 0 : c === 1 ? q : c === 2 ? Math.floor(q / 2) : rng.below(q + 1);
      return { op: 'mix', shard, layer, slot, src, alpha };
    }
    const c = rng.below(4);
    const bound = c === 0 ? 0 : c === 1 ? B : rng.below(B + 1);
    return { op: 'clip', shard, layer, slot, bound };
  }
}

/** Op counts after which a run of `count` ops reports a root: floor(count·k/4), k = 1..4. */
export function checkpointsFor(count: number): number[] {
  return [1, 2, 3, 4].map((k) => Math.floor((count * k) / 4));
}

export interface StreamResult {
  readonly ops: number;
  /** the op count of each checkpoint */
  readonly at: number[];
  /** lowercase hex roots, one per checkpoint; the last is the final root */
  readonly roots: string[];
}

/** Apply `count` ops of the stream for `seed` to a fresh engine and collect the checkpoint roots. */
export function runStream(engine: MaEngine, seed: number, count: number): StreamResult {
  if (!Number.isInteger(count) || count < 0 || count > 2147483647) {
    throw new RangeError(`op count must be an integer in [0, 2^31 − 1], got ${count}`);
  }
  const stream = new OpStream(engine.params, seed);
  if (stream.bound !== engine.bound) {
    throw new MaError('bad_params', 'clip', `generator bound ${stream.bound} differs from the engine's ${engine.bound}`);
  }
  const at = checkpointsFor(count);
  const roots: string[] = [];
  let done = 0;
  for (const stop of at) {
    for (; done < stop; done++) engine.apply(stream.next());
    roots.push(toHex(engine.root()));
  }
  return { ops: count, at, roots };
}
