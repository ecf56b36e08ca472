// The engine's ABI: numbers in, numbers out. Bulk data (an add vector, a row, a root, a proof path,
// a snapshot) moves through linear memory at addresses the engine reports. Negative results are
// error codes (see layout.ts); `errDetail()` says which parameter or element.
import * as L from './layout';
import { clearDirty, markAllDirty, nodeAt, updateRoot, writeProof } from './merkle';

export { opAdd, opDecay, opMix, opClip } from './ops';

/** Size the tensor from the parameters (once per instance). */
export function init(shards: i32, layers: i32, slots: i32, dim: i32, q: i32, decay: f64, clip: f64): i32 {
  const rc = L.setup(shards, layers, slots, dim, q, decay, clip);
  // The tree starts empty: every row must be hashed once before the first root.
  if (rc == L.OK) markAllDirty();
  return rc;
}

export function errDetail(): i32 {
  return L.errDetail;
}

export function bound(): i32 {
  return L.bound;
}

export function rowCount(): i32 {
  return L.rows;
}

export function ioPtr(): usize {
  return L.io;
}

/** Bring the Merkle tree up to date and copy the 32-byte root to the io buffer. */
export function root(): i32 {
  if (!L.ready) return L.ERR_STATE;
  memory.copy(L.io, updateRoot(), 32);
  return L.OK;
}

/** Copy row `row` (D int32 LE) to the io buffer. */
export function readRow(row: i32): i32 {
  if (!L.ready) return L.ERR_STATE;
  if (<u32>row >= <u32>L.rows) return L.ERR_SLOT;
  const bytes = <usize>L.dim << 2;
  memory.copy(L.io, L.tensor + <usize>row * bytes, bytes);
  return L.OK;
}

/** Copy the (up-to-date) leaf hash of `row` to the io buffer. */
export function leafHash(row: i32): i32 {
  if (!L.ready) return L.ERR_STATE;
  if (<u32>row >= <u32>L.rows) return L.ERR_SLOT;
  updateRoot();
  memory.copy(L.io, nodeAt(0, row), 32);
  return L.OK;
}

/** Write the audit path of `row` to the io buffer; returns the number of 32-byte hashes. */
export function proof(row: i32): i32 {
  if (!L.ready) return L.ERR_STATE;
  if (<u32>row >= <u32>L.rows) return L.ERR_SLOT;
  return writeProof(row, L.io);
}

/** Start of the state region (tensor, then the tree): what a checkpoint copies. */
export function statePtr(): usize {
  updateRoot();
  return L.tensor;
}

export function stateBytes(): usize {
  return L.stateEnd - L.tensor;
}

/** Exactly rows × dim × 4 bytes (the tree starts after 16-byte alignment padding, not included). */
export function tensorBytes(): usize {
  return <usize>L.rows * (<usize>L.dim << 2);
}

/** After the host copied a checkpoint back into the state region: drop stale change bookkeeping. */
export function restored(): void {
  clearDirty();
}

/**
 * After the host wrote a snapshot tensor into the state region: check every element is in [−B, B]
 * and rehash everything on the next root. Returns OK or ERR_SNAPSHOT (errDetail = element index).
 */
export function importedTensor(): i32 {
  if (!L.ready) return L.ERR_STATE;
  const n: usize = <usize>L.rows * <usize>L.dim;
  const b = L.bound;
  for (let i: usize = 0; i < n; i++) {
    const v = load<i32>(L.tensor + (i << 2));
    if (v < -b || v > b) {
      return L.fail(L.ERR_SNAPSHOT, <i32>i);
    }
  }
  clearDirty();
  markAllDirty();
  return L.OK;
}
