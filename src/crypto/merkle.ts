// RFC 6962 (Certificate Transparency) Merkle tree hash, used for block tx roots. The engine's state
// root uses the same construction, so one verifier understands both.
import { sha256 } from './sha256.ts';

const LEAF = 0x00;
const NODE = 0x01;

/** The 0x00/0x01 prefixes keep a leaf from ever being confused with an inner node (second-preimage). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + data.length);
  buf[0] = LEAF;
  buf.set(data, 1);
  return sha256(buf);
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = NODE;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
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
