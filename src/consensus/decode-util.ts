// Field readers for decoding untrusted canonical values. Each names the field it rejects.
import type { Canon } from '../codec/canonical.ts';
import { fail } from './errors.ts';

export function arr(v: Canon | undefined, field: string, len?: number, maxLen = 1 << 16): readonly Canon[] {
  if (!Array.isArray(v)) fail('bad_field', field, 'must be an array');
  const a = v as readonly Canon[];
  if (len !== undefined && a.length !== len) fail('bad_field', field, `must have ${len} elements, got ${a.length}`);
  if (a.length > maxLen) fail('bad_field', field, `has ${a.length} elements, more than ${maxLen}`);
  return a;
}

export function uint(v: Canon | undefined, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail('bad_field', field, `must be an integer in 0..${max}`);
  return v;
}

export function bytes(v: Canon | undefined, field: string, len?: number, maxLen = 1 << 20): Uint8Array {
  if (!(v instanceof Uint8Array)) fail('bad_field', field, 'must be bytes');
  if (len !== undefined && v.length !== len) fail('bad_field', field, `must be ${len} bytes, got ${v.length}`);
  if (v.length > maxLen) fail('bad_field', field, `is ${v.length} bytes, more than ${maxLen}`);
  return v;
}

export function str(v: Canon | undefined, field: string, maxLen = 256): string {
  if (typeof v !== 'string' || v.length > maxLen) fail('bad_field', field, `must be a string of at most ${maxLen} chars`);
  return v;
}

export function bytesOrNull(v: Canon | undefined, field: string, len?: number): Uint8Array | null {
  return v === null ? null : bytes(v, field, len);
}

export function ascending(xs: readonly number[], field: string): void {
  for (let i = 1; i < xs.length; i++) if (xs[i]! <= xs[i - 1]!) fail('bad_field', field, 'must be strictly ascending');
}
