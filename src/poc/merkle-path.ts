// RFC 6962 audit paths over chunk leaves, the same tree as src/crypto/merkle.ts merkleRoot (pairs
// neighbours level by level and carries an odd last node up unchanged, which is exactly RFC 6962's
// split at the largest power of two). The prover keeps every level (32 bytes a node); a verifier
// needs only the leaf, its index, the leaf count and the path.
import { merkleLeafHash, merkleNodeHash, rootFromPath } from '../crypto/merkle.ts';

export { rootFromPath };
import { bytesEqual } from '../crypto/sha256.ts';

/** All levels of the tree, leaves first: levels[l] holds 32·m_l bytes. */
export interface MerkleLevels {
  readonly leaves: number;
  readonly levels: readonly Uint8Array[];
}

/** Levels from the leaf hashes (32·n bytes, leaf hashes already computed by merkleLeafHash). */
export function buildLevels(leafHashes: Uint8Array): MerkleLevels {
  if (leafHashes.length === 0 || leafHashes.length % 32 !== 0) throw new RangeError('leaf hashes must be a non-empty multiple of 32 bytes');
  const levels: Uint8Array[] = [leafHashes];
  let cur = leafHashes;
  for (let m = cur.length / 32; m > 1; ) {
    const up = (m >> 1) + (m & 1);
    const next = new Uint8Array(32 * up);
    for (let i = 0; i < m >> 1; i++) next.set(merkleNodeHash(cur.subarray(64 * i, 64 * i + 32), cur.subarray(64 * i + 32, 64 * i + 64)), 32 * i);
    if (m & 1) next.set(cur.subarray(32 * (m - 1), 32 * m), 32 * (up - 1));
    levels.push(next);
    cur = next;
    m = up;
  }
  return { leaves: leafHashes.length / 32, levels };
}

export function levelsRoot(t: MerkleLevels): Uint8Array {
  return t.levels[t.levels.length - 1]!.slice(0, 32);
}

/** Siblings from the leaf up; a level where the node is carried up contributes none. */
export function auditPath(t: MerkleLevels, index: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= t.leaves) throw new RangeError(`index ${index} outside [0, ${t.leaves})`);
  const path: Uint8Array[] = [];
  let i = index;
  for (let l = 0; l < t.levels.length - 1; l++) {
    const m = t.levels[l]!.length / 32;
    const sib = i ^ 1;
    if (sib < m) path.push(t.levels[l]!.slice(32 * sib, 32 * sib + 32));
    i >>= 1;
  }
  return path;
}

export function verifyLeaf(data: Uint8Array, index: number, leaves: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromPath(merkleLeafHash(data), index, leaves, path);
  return r !== null && bytesEqual(r, root);
}
