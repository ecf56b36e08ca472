// Canonical msgpack for everything that is signed, hashed or framed on the wire.
// msgpackr does not promise one encoding per value by default (records extension, key order follows
// insertion, large integers become float64). Consensus-critical values are therefore encoded as
// *arrays in a fixed field order* holding only: safe integers, bigint (for 64-bit), strings,
// Uint8Array, booleans, null and nested arrays. `decodeCanonical` re-encodes what it decoded and
// rejects the input unless the bytes are identical, so two nodes can never disagree about the
// bytes behind a hash or a signature.
import { Packr } from 'msgpackr';

/** msgpackr settings with no records, extensions or floats: shared by everything on the wire. */
export const CANONICAL_PACKR_OPTIONS = Object.freeze({
  useRecords: false,
  variableMapSize: true,
  moreTypes: false,
  useFloat32: 0,
  useToJSON: false,
  mapsAsObjects: false,
  int64AsType: 'bigint',
  bundleStrings: false,
  structuredClone: false,
} as const);

const packr = new Packr(CANONICAL_PACKR_OPTIONS);

export class CanonicalError extends Error {
  override readonly name = 'CanonicalError';
}

/** Values allowed inside canonical encodings. Objects/maps and floats are deliberately excluded. */
export type Canon = number | bigint | string | boolean | null | Uint8Array | readonly Canon[];

// A lone surrogate has no UTF-8 form: msgpackr writes it as 3 bytes that decode to U+FFFD, so the
// decoder (rightly) refuses them as non-canonical. Refuse such a string when encoding instead of
// producing bytes no node accepts. In a /u regex a well-formed pair is one code point, not Cs.
const LONE_SURROGATE = /\p{Cs}/u;

function check(v: unknown, depth: number): void {
  if (depth > 16) throw new CanonicalError('nesting deeper than 16');
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw new CanonicalError('string holds a lone UTF-16 surrogate, which has no UTF-8 encoding');
    return;
  }
  if (v === null || typeof v === 'boolean' || typeof v === 'bigint') return;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new CanonicalError(`non-integer or unsafe number ${v}`);
    return;
  }
  if (v instanceof Uint8Array) return;
  if (Array.isArray(v)) {
    for (const x of v) check(x, depth + 1);
    return;
  }
  throw new CanonicalError(`type ${Object.prototype.toString.call(v)} is not allowed in canonical encoding`);
}

// msgpackr writes numbers beyond 32 bits as float64. To keep integers integers, anything outside the
// 32-bit range is packed as a 64-bit integer (via bigint), and anything inside it in its shortest
// form, whichever JS type the caller used. Decoding gives `number` for safe integers, else `bigint`.
const I32_MIN = -(2 ** 31);
const U32_MAX = 2 ** 32 - 1;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

function toWire(v: unknown): unknown {
  if (typeof v === 'number') return v < I32_MIN || v > U32_MAX ? BigInt(v) : v;
  if (typeof v === 'bigint') {
    if (v < I64_MIN || v > U64_MAX) throw new CanonicalError(`integer ${v} does not fit in 64 bits`);
    return v >= BigInt(I32_MIN) && v <= BigInt(U32_MAX) ? Number(v) : v;
  }
  if (Array.isArray(v)) return v.map(toWire);
  return v;
}

/** Encode a canonical value. Throws CanonicalError on floats, objects or unsafe integers. */
export function encodeCanonical(v: Canon): Uint8Array {
  check(v, 0);
  const b = packr.pack(toWire(v));
  // msgpackr may return a Buffer over a shared pool; copy into a plain, exact Uint8Array.
  return new Uint8Array(b);
}

/** Decode bytes and insist that they are the one canonical encoding of what they decode to. */
export function decodeCanonical(bytes: Uint8Array, maxBytes = 1 << 20): Canon {
  if (bytes.byteLength > maxBytes) throw new CanonicalError(`encoding of ${bytes.byteLength} bytes exceeds ${maxBytes}`);
  if (fastEnabled) {
    const fast = decodeMinimal(bytes);
    if (fast !== undefined) return fast;
  }
  return decodeGeneric(bytes);
}

function decodeGeneric(bytes: Uint8Array): Canon {
  let v: unknown;
  try {
    v = packr.unpack(bytes);
  } catch (e) {
    throw new CanonicalError(`malformed msgpack: ${(e as Error).message}`);
  }
  v = normalize(v, 0);
  check(v, 0);
  const again = packr.pack(toWire(v));
  if (!sameBytes(again, bytes)) throw new CanonicalError('non-canonical encoding (re-encoding differs from the bytes received)');
  return v as Canon;
}

// This module must also run in browsers, so Buffer is only a fast path when the runtime has it
// (a native compare is ~10× faster than the JS loop on a 700-byte transaction).
const NativeBuffer = (globalThis as { Buffer?: { compare(a: Uint8Array, b: Uint8Array): number } }).Buffer;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  if (NativeBuffer) return NativeBuffer.compare(a, b) === 0;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

// msgpackr decodes bin as Buffer (a Uint8Array subclass); turn them into plain Uint8Array views so
// that deep equality and instanceof checks behave the same in Node and browsers.
function normalize(v: unknown, depth: number): unknown {
  if (depth > 16) throw new CanonicalError('nesting deeper than 16');
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map((x) => normalize(x, depth + 1));
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'number' && !Number.isInteger(v)) throw new CanonicalError('floats are not allowed in canonical encoding');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Fast path. Decoding, re-encoding and comparing costs about as much as everything else a node
// does with a transaction, and every validator decodes every transaction. decodeMinimal() reads
// the subset of msgpack that canonical values use in practice (nil, booleans, integers of up to
// 32 bits and safe integers beyond them, ASCII strings and bin of up to 64 KiB, arrays of up to
// 64 Ki items) and accepts an input only when every header is the shortest one for its value,
// which is what the encoder writes (the module checks that against the encoder when it loads, and
// turns the fast path off if they ever disagree). Anything else, including every malformed input, returns undefined and goes through
// decodeGeneric(), so the fast path can change speed only, never which inputs are accepted or what
// they decode to (test/codec/canonical.test.ts compares the two on valid and mutated encodings).

interface Cursor {
  pos: number;
}

/** The value, or undefined when the input is outside the fast subset (the caller falls back). */
export function decodeMinimal(bytes: Uint8Array): Canon | undefined {
  const c: Cursor = { pos: 0 };
  const v = readValue(bytes, c, 0);
  return v !== undefined && c.pos === bytes.length ? v : undefined;
}

function readValue(b: Uint8Array, c: Cursor, depth: number): Canon | undefined {
  if (c.pos >= b.length) return undefined;
  const t = b[c.pos++]!;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t & 0xf0) === 0x90) return readArray(b, c, t & 0x0f, depth);
  if ((t & 0xe0) === 0xa0) return readAscii(b, c, t & 0x1f);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc: {
      const v = readUint(b, c, 1);
      return v !== undefined && v >= 0x80 ? v : undefined;
    }
    case 0xcd: {
      const v = readUint(b, c, 2);
      return v !== undefined && v >= 0x100 ? v : undefined;
    }
    case 0xce: {
      const v = readUint(b, c, 4);
      return v !== undefined && v >= 0x10000 ? v : undefined;
    }
    case 0xd0: {
      const v = readUint(b, c, 1);
      return v !== undefined && v >= 0x80 && v - 0x100 < -0x20 ? v - 0x100 : undefined;
    }
    case 0xd1: {
      const v = readUint(b, c, 2);
      return v !== undefined && v >= 0x8000 && v - 0x10000 < -0x80 ? v - 0x10000 : undefined;
    }
    case 0xd2: {
      const v = readUint(b, c, 4);
      return v !== undefined && v >= 0x80000000 && v - 0x100000000 < -0x8000 ? v - 0x100000000 : undefined;
    }
    case 0xd9: {
      const n = readUint(b, c, 1);
      return n !== undefined && n >= 0x20 ? readAscii(b, c, n) : undefined;
    }
    case 0xda: {
      const n = readUint(b, c, 2);
      return n !== undefined && n >= 0x100 ? readAscii(b, c, n) : undefined;
    }
    case 0xc4: {
      const n = readUint(b, c, 1);
      return n !== undefined ? readBin(b, c, n) : undefined;
    }
    case 0xc5: {
      const n = readUint(b, c, 2);
      return n !== undefined && n >= 0x100 ? readBin(b, c, n) : undefined;
    }
    case 0xdc: {
      const n = readUint(b, c, 2);
      return n !== undefined && n >= 0x10 ? readArray(b, c, n, depth) : undefined;
    }
    case 0xd3:
      return readInt64(b, c);
    default:
      return undefined;
  }
}

function readUint(b: Uint8Array, c: Cursor, size: 1 | 2 | 4): number | undefined {
  if (c.pos + size > b.length) return undefined;
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + b[c.pos + i]!;
  c.pos += size;
  return v;
}

/**
 * int64 is how the encoder writes every integer outside the 32-bit range (block timestamps, for
 * one). Only values that are safe integers and outside that range are read here; the rest (a
 * bigint, or a non-minimal header) is left to the generic path.
 */
function readInt64(b: Uint8Array, c: Cursor): number | undefined {
  if (c.pos + 8 > b.length) return undefined;
  const p = c.pos;
  const hi = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) | 0;
  const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
  // |hi| ≤ 2^21 keeps hi · 2^32 + lo exact in a double; the safe-integer test then trims the edge.
  if (hi < -0x200000 || hi > 0x1fffff) return undefined;
  const v = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(v) || (v >= I32_MIN && v <= U32_MAX)) return undefined;
  c.pos += 8;
  return v;
}

function readBin(b: Uint8Array, c: Cursor, n: number): Uint8Array | undefined {
  if (c.pos + n > b.length) return undefined;
  // A plain Uint8Array view even when the input is a Buffer, as decodeGeneric() gives.
  const v = new Uint8Array(b.buffer, b.byteOffset + c.pos, n);
  c.pos += n;
  return v;
}

// The strings in transactions and messages are a few tags and chain ids that repeat in every one,
// so the last string seen for each length is kept: a repeat is matched byte by byte and returned
// without building (and later collecting) a new string. Same value either way.
const RECENT_ASCII: (string | undefined)[] = new Array(32);

function readAscii(b: Uint8Array, c: Cursor, n: number): string | undefined {
  if (c.pos + n > b.length) return undefined;
  const start = c.pos;
  const seen = n < RECENT_ASCII.length ? RECENT_ASCII[n] : undefined;
  if (seen !== undefined) {
    let i = 0;
    while (i < n && b[start + i] === seen.charCodeAt(i)) i++;
    if (i === n) {
      c.pos += n;
      return seen;
    }
  }
  let s = '';
  for (let i = start; i < start + n; i++) {
    const x = b[i]!;
    if (x >= 0x80) return undefined; // UTF-8 beyond ASCII: leave it to the generic path
    s += String.fromCharCode(x);
  }
  c.pos += n;
  if (n < RECENT_ASCII.length) RECENT_ASCII[n] = s;
  return s;
}

function readArray(b: Uint8Array, c: Cursor, n: number, depth: number): Canon[] | undefined {
  // Same nesting limit as check(): deeper inputs are refused by the generic path, with its message.
  if (depth + 1 > 16) return undefined;
  const out: Canon[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = readValue(b, c, depth + 1);
    if (v === undefined) return undefined;
    out[i] = v;
  }
  return out;
}

/** The encoder must write exactly the shortest headers decodeMinimal() insists on. */
function encoderIsMinimal(): boolean {
  const probes: Canon[] = [null, true, false, [], [[[]]], new Uint8Array(0), '', 'numchain/tx/v1'];
  for (const v of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, U32_MAX, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, I32_MIN]) probes.push(v);
  for (const v of [U32_MAX + 1, I32_MIN - 1, 1_764_547_200_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) probes.push(v);
  for (const n of [1, 0x1f, 0x20, 0xff, 0x100, 0xffff]) probes.push('x'.repeat(n), new Uint8Array(n).fill(n & 0xff));
  for (const n of [0x0f, 0x10, 0xffff]) probes.push(new Array<Canon>(n).fill(n & 0x7f));
  return probes.every((v) => {
    const bytes = encodeCanonical(v);
    const fast = decodeMinimal(bytes);
    return fast !== undefined && sameCanon(fast, decodeGeneric(bytes));
  });
}

/** Deep equality of canonical values (bytes by content). */
export function sameCanon(a: Canon, b: Canon): boolean {
  if (a instanceof Uint8Array) return b instanceof Uint8Array && sameBytes(a, b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameCanon(x as Canon, (b as readonly Canon[])[i] as Canon));
  return a === b;
}

const fastEnabled = encoderIsMinimal();

/** Whether decodeCanonical uses the fast path here (false only if the encoder changed behaviour). */
export const canonicalFastPath = fastEnabled;
