// Seeded randomness and random Memory Arithmetic op streams, shared by the engine benchmark and the
// reference cross-check test. Deterministic from the seed, so a failing stream can be replayed.
import type { MaOp, MaParams } from '../../src/engine/types.ts';

/** xoshiro128** seeded through splitmix32: fast, 32-bit, good enough for test data. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1; // never the all-zero state
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [lo, hi] (inclusive); hi − lo < 2^32. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 4294967296) * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export interface OpMix {
  add: number;
  decay: number;
  mix: number;
  clip: number;
}

/**
 * A valid random op. Values lean on the edges on purpose: ±B and 0 in vectors, factors and alphas
 * of 0, q/2 and q (q/2 on odd values makes exact .5 ties, which round half to even), bounds 0 and B.
 */
export function randomOp(rng: Rng, p: MaParams, bound: number, kind?: MaOp['op']): MaOp {
  const target = { shard: rng.int(0, p.shards - 1), layer: rng.int(0, p.layers - 1), slot: rng.int(0, p.slots - 1) };
  const fraction = (): number => {
    const r = rng.int(0, 7);
    return r === 0 ? 0 : r === 1 ? p.q : r === 2 ? Math.floor(p.q / 2) : rng.int(0, p.q);
  };
  const op = kind ?? rng.pick(['add', 'add', 'decay', 'mix', 'clip'] as const);
  switch (op) {
    case 'add': {
      const vec = new Array<number>(p.dim);
      for (let i = 0; i < p.dim; i++) {
        const r = rng.int(0, 15);
        vec[i] = r === 0 ? bound : r === 1 ? -bound : r === 2 ? 0 : rng.int(-bound, bound);
      }
      return { op, ...target, vec };
    }
    case 'decay':
      return rng.int(0, 2) === 0 ? { op, ...target } : { op, ...target, factor: fraction() };
    case 'mix':
      return { op, ...target, src: rng.int(0, p.slots - 1), alpha: fraction() };
    case 'clip': {
      const r = rng.int(0, 5);
      return { op, ...target, bound: r === 0 ? 0 : r === 1 ? bound : rng.int(0, bound) };
    }
  }
}
