// SHA-256 and hex helpers shared by every hashed or signed structure. Browser-safe (no node:*).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export class HexError extends Error {
  override readonly name = 'HexError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

let impl: (bytes: Uint8Array) => Uint8Array = (b) => nobleSha256(b);
let implHex: ((bytes: Uint8Array) => string) | null = null;
let implInto: ((bytes: Uint8Array, out: Uint8Array, offset: number) => void) | null = null;

export function sha256(bytes: Uint8Array): Uint8Array {
  return impl(bytes);
}

/** toHex(sha256(bytes)), straight from the implementation when it can give hex itself. */
export function sha256Hex(bytes: Uint8Array): string {
  return implHex ? implHex(bytes) : toHex(impl(bytes));
}

/** Write sha256(bytes) to out[offset .. offset + 32) (for hash trees: no digest array per node). */
export function sha256Into(bytes: Uint8Array, out: Uint8Array, offset: number): void {
  if (implInto) implInto(bytes, out, offset);
  else out.set(impl(bytes), offset);
}

/** Faster forms an implementation may offer besides bytes → digest. */
export interface Sha256Extras {
  /** lowercase hex digest */
  readonly hex?: (bytes: Uint8Array) => string;
  /** digest written into out at offset */
  readonly into?: (bytes: Uint8Array, out: Uint8Array, offset: number) => void;
}

/**
 * Swap in a faster SHA-256 (the Node host uses node:crypto, ~5× faster on a transaction), with
 * optional hex and write-into forms. SHA-256 has one answer, so this can change speed only; a
 * self-check refuses an implementation that differs (and then nothing is swapped).
 */
export function useSha256(fast: (bytes: Uint8Array) => Uint8Array, extras: Sha256Extras = {}): void {
  const probe = new TextEncoder().encode('numchain sha256 self-check');
  const want = nobleSha256(probe);
  const got = fast(probe);
  if (!(got instanceof Uint8Array) || got.length !== 32 || got.some((x, i) => x !== want[i])) throw new Error('the SHA-256 implementation given to useSha256 is wrong');
  if (extras.hex && extras.hex(probe) !== toHex(want)) throw new Error('the hex SHA-256 implementation given to useSha256 is wrong');
  if (extras.into) {
    const out = new Uint8Array(40).fill(0xaa);
    extras.into(probe, out, 3);
    const rest = [...out.subarray(0, 3), ...out.subarray(35)];
    if (out.subarray(3, 35).some((x, i) => x !== want[i]) || rest.some((x) => x !== 0xaa)) throw new Error('the write-into SHA-256 implementation given to useSha256 is wrong');
  }
  impl = fast;
  implHex = extras.hex ?? null;
  implInto = extras.into ?? null;
}

/** SHA-256 over the concatenation of parts (one copy; cheaper than a streaming hash for small parts). */
export function sha256Concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    all.set(p, n);
    n += p.length;
  }
  return impl(all);
}

const HEX = '0123456789abcdef';

/** Lowercase hex, the only hex form the project emits. */
export function toHex(bytes: Uint8Array): string {
  // ASCII codes into a scratch buffer, then one native decode: ~4× faster than concatenating
  // (txids and keys are hex map keys, and a concatenated string is a rope that every first
  // lookup must flatten and hash).
  const n = bytes.length * 2;
  // Most ids are 32 bytes: their 64-character view is kept, not made anew on every call.
  const out = n === 64 ? HEX_SCRATCH_64 : n <= HEX_SCRATCH.length ? HEX_SCRATCH.subarray(0, n) : new Uint8Array(n);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! * 2;
    out[2 * i] = HEX_CODES[b]!;
    out[2 * i + 1] = HEX_CODES[b + 1]!;
  }
  return ASCII.decode(out);
}

/** HEX_CODES[2b], HEX_CODES[2b + 1]: the two ASCII hex digits of byte b. */
const HEX_CODES = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  HEX_CODES[2 * b] = HEX.charCodeAt(b >> 4);
  HEX_CODES[2 * b + 1] = HEX.charCodeAt(b & 15);
}
const HEX_SCRATCH = new Uint8Array(256);
const HEX_SCRATCH_64 = HEX_SCRATCH.subarray(0, 64);
const ASCII = new TextDecoder();

/**
 * Parse lowercase hex. Uppercase is rejected so that a hex string has exactly one spelling — hex
 * strings are used as map keys (txids) and in signed JSON round trips.
 * `length`, when given, is the required byte length; `field` names the input in errors.
 */
export function fromHex(hex: unknown, field = 'hex', length?: number): Uint8Array {
  if (typeof hex !== 'string') throw new HexError(field, `${field} must be a hex string`);
  if (hex.length % 2 !== 0) throw new HexError(field, `${field} has an odd number of hex digits`);
  if (!/^[0-9a-f]*$/.test(hex)) throw new HexError(field, `${field} must be lowercase hex`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && out.length !== length) {
    throw new HexError(field, `${field} must be ${length} bytes, got ${out.length}`);
  }
  return out;
}

// Node, Bun and Deno compare with memcmp; a JavaScript loop over a 600-byte transaction was a
// visible share of the consensus thread (every cached-signature lookup compares whole transactions).
const nativeCompare = (globalThis as { Buffer?: { compare(a: Uint8Array, b: Uint8Array): number } }).Buffer?.compare;

/** Equal contents. Not constant-time: for public data only (hashes, keys, transactions). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length > 64 && nativeCompare !== undefined) return nativeCompare(a, b) === 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function isBytesOfLength(v: unknown, length: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === length;
}
