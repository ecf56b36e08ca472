// Shared by the property tests in test/fuzz: how many cases to run, and what to report.
//
// CI runs each target with a small case count (the `ci` argument); `FUZZ_RUNS=100000` runs every
// target that many times instead (scripts/fuzz.mjs does, and prints a table). `FUZZ_SEED` (and
// `FUZZ_PATH`, both printed with any failure) replays a failing case. With FUZZ_REPORT=<file>, each
// target appends one JSON line {target, runs, failed, ms, seed, counterexample} to that file.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got '${raw}'`);
  return n;
}

/** Run `property` for this target's number of cases; throw fast-check's report when one fails. */
export async function fuzz<Ts extends [unknown, ...unknown[]]>(
  target: string,
  ciRuns: number,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
): Promise<void> {
  const numRuns = envInt('FUZZ_RUNS') ?? ciRuns;
  const seed = envInt('FUZZ_SEED');
  const path = process.env.FUZZ_PATH || undefined;
  const started = performance.now();
  const out = await fc.check(property as fc.IAsyncProperty<Ts>, { numRuns, seed, path, endOnFailure: numRuns > 10_000 ? false : undefined });
  const ms = Math.round(performance.now() - started);
  const counterexample = out.failed ? fc.stringify(out.counterexample) : null;
  console.log(`  [fuzz] ${target}: ${out.numRuns} cases in ${ms} ms${out.failed ? ' — FAILED' : ''}`);
  const report = process.env.FUZZ_REPORT;
  if (report) {
    const error = out.failed ? String(out.errorInstance instanceof Error ? out.errorInstance.message : out.errorInstance).slice(0, 500) : null;
    appendFileSync(report, JSON.stringify({ target, runs: out.numRuns, failed: out.failed, ms, seed: out.seed, path: out.counterexamplePath, counterexample, error }) + '\n');
  }
  if (out.failed) {
    const cause = out.errorInstance instanceof Error ? `${out.errorInstance.name}: ${out.errorInstance.message}` : String(out.errorInstance);
    throw new Error(`${fc.defaultReportMessage(out) ?? `${target} failed`}\nError: ${cause}`);
  }
}

/** An edit to a byte string: a fuzzer's usual corruptions. Positions are taken modulo the length. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'truncate'; readonly at: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0xc0, 0xc1, 0xd3, 0xdc, 0xdd, 0x0a), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

export function mutate(input: Uint8Array, edits: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(input);
  for (const m of edits) {
    const at = b.length === 0 ? 0 : m.at % (m.kind === 'insert' ? b.length + 1 : b.length);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'insert': {
        const out = new Uint8Array(b.length + m.bytes.length);
        out.set(b.subarray(0, at));
        out.set(m.bytes, at);
        out.set(b.subarray(at), at + m.bytes.length);
        b = out;
        break;
      }
      case 'delete':
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.count)]);
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
    }
  }
  return b;
}

/** Byte strings equal by content. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Deep equality of plain data: arrays, byte strings by content, objects by their own keys in any
 * order and whatever their prototype (fast-check's records have none), primitives by ===.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && sameBytes(a, b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return sameValue(ka, kb) && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
}

/** Throw unless `e` is an instance of `type` (the module's typed error); return it. */
export function expectTyped<E extends Error>(e: unknown, type: abstract new (...args: never[]) => E): E {
  if (e instanceof type) return e;
  throw e;
}
