// Light-client check of one row against a state root (RFC 6962 inclusion proof), portable: SHA-256
// comes from src/crypto/sha256.ts (noble in browsers, node:crypto when the Node host swapped it in).
import { sha256 } from '../crypto/sha256.ts';
import type { RowProof } from './types.ts';

/** SHA-256(0x00 ‖ row as D little-endian int32) — the leaf hash of a row. */
export function rowLeafHash(values: Int32Array): Uint8Array {
  const buf = new Uint8Array(1 + values.length * 4);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(1 + 4 * i, values[i], true);
  return sha256(buf);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

/** Recompute the root from a row and its audit path; true iff it equals `root`. */
export function verifyRowProof(proof: RowProof, root: Uint8Array): boolean {
  const { index, rows, path } = proof;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(rows) || index < 0 || index >= rows) return false;
  if (!(root instanceof Uint8Array) || root.length !== 32) return false;
  let h = rowLeafHash(proof.values);
  let i = index;
  let len = rows;
  let used = 0;
  // Climb the bottom-up tree: a node without a right neighbour is carried up unchanged.
  while (len > 1) {
    const sib = i ^ 1;
    if (sib < len) {
      const s = path[used++];
      if (!(s instanceof Uint8Array) || s.length !== 32) return false;
      h = (i & 1) === 0 ? nodeHash(h, s) : nodeHash(s, h);
    }
    i >>= 1;
    len = (len + 1) >> 1;
  }
  if (used !== path.length) return false;
  for (let k = 0; k < 32; k++) if (h[k] !== root[k]) return false;
  return true;
}
