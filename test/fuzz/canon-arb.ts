// fast-check generators for canonical values (src/codec/canonical.ts), shared by the fuzz targets.
import fc from 'fast-check';
import type { Canon } from '../../src/codec/canonical.ts';

/** Integers near every msgpack width boundary, and anywhere in the safe range. */
export const safeIntArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.constantFrom(
    0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -32, -33, -128, -129, -32768, -32769,
    -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_764_547_200_000,
  ),
  fc.integer(),
  fc.maxSafeInteger(),
);

/** 64-bit integers outside the safe range: the only ones that decode as bigint. */
export const bigIntArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: BigInt(Number.MIN_SAFE_INTEGER) - 1n }),
);

export const leafArb: fc.Arbitrary<Canon> = fc.oneof(
  { arbitrary: safeIntArb, weight: 4 },
  { arbitrary: bigIntArb, weight: 1 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 80 }), weight: 3 },
  { arbitrary: fc.constantFrom<Canon>(true, false, null), weight: 1 },
);

/** Canonical values nested at most `depth` arrays deep. */
export function canonArb(depth: number): fc.Arbitrary<Canon> {
  if (depth === 0) return leafArb;
  // Mostly leaves, so the expected size stays small even 16 levels down.
  return fc.oneof({ arbitrary: leafArb, weight: 3 }, { arbitrary: fc.array(canonArb(depth - 1), { maxLength: 6 }), weight: 1 });
}
