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

function check(v: unknown, depth: number): void {
  if (depth > 16) throw new CanonicalError('nesting deeper than 16');
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return;
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
