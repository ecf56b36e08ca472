// Light-client check of one row against a state root (RFC 6962 inclusion proof), portable: SHA-256
// comes from src/crypto/sha256.ts (noble in browsers, node:crypto when the Node host swapped it in).
import { rootFromPath } from '../crypto/merkle.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { RowProof } from './types.ts';

/** SHA-256(0x00 ‖ row as D little-endian int32) — the leaf hash of a row. */
export function rowLeafHash(values: Int32Array): Uint8Array {
  const buf = new Uint8Array(1 + values.length * 4);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(1 + 4 * i, values[i], true);
  return sha256(buf);
}

/** Recompute the root from a row and its audit path; true iff it equals `root`. */
export function verifyRowProof(proof: RowProof, root: Uint8Array): boolean {
  const { index, rows } = proof;
  // Refuse a bad position or root before hashing the values (which may be as malformed as they are).
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(rows) || index < 0 || index >= rows) return false;
  if (!(root instanceof Uint8Array) || root.length !== 32) return false;
  const h = rootFromPath(rowLeafHash(proof.values), index, rows, proof.path);
  if (h === null) return false;
  for (let k = 0; k < 32; k++) if (h[k] !== root[k]) return false;
  return true;
}
