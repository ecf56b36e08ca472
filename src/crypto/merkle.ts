// RFC 6962 (Certificate Transparency) Merkle tree hash, used for block tx roots. The engine's state
// root uses the same construction, so one verifier understands both.
import { sha256 } from './sha256.ts';

const LEAF = 0x00;
const NODE = 0x01;

// A block's root hashes every transaction and every inner node; the prefixed input is assembled in
// one reused buffer (sha256() reads its input before returning and keeps no reference to it).
let scratch = new Uint8Array(4096);

function prefixed(prefix: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  const n = 1 + a.length + (b?.length ?? 0);
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  scratch[0] = prefix;
  scratch.set(a, 1);
  if (b) scratch.set(b, 1 + a.length);
  return scratch.subarray(0, n);
}

/** The 0x00/0x01 prefixes keep a leaf from ever being confused with an inner node (second-preimage). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  return sha256(prefixed(LEAF, data));
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(prefixed(NODE, left, right));
}

/** MTH(D[n]): empty list → SHA-256(""); otherwise split at the largest power of two < n. */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return sha256(new Uint8Array(0));
  return rootOfLeaves(items.map(merkleLeafHash), 0, items.length);
}

function rootOfLeaves(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return leaves[start]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return merkleNodeHash(rootOfLeaves(leaves, start, start + k), rootOfLeaves(leaves, start + k, end));
}
