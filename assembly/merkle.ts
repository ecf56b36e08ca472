// Incremental RFC 6962 Merkle tree over the tensor rows.
//
// The RFC splits a range of n leaves at the largest power of two below n. Built bottom-up, that is
// the same tree as pairing neighbours level by level and carrying an unpaired last node up unchanged,
// which needs neither recursion nor a variable-depth stack. Only rows marked dirty since the last
// root are rehashed, then only their ancestors.
import { sha256Padded } from './sha256';
import {
  dirty,
  dim,
  leafBuf,
  leafBlocks,
  levelLen,
  levelOff,
  levels,
  listA,
  listB,
  mark,
  nodeBuf,
  rows,
  tensor,
} from './layout';
let stamp: u32 = 0;
// Rows changed since the last root, listed once each in listA.
let dirtyCount: i32 = 0;

// @ts-ignore: decorator
@inline
export function nodeAt(level: i32, index: i32): usize {
  return <usize>load<u64>(levelOff + (<usize>level << 3)) + (<usize>index << 5);
}

// @ts-ignore: decorator
@inline
export function levelSize(level: i32): i32 {
  return load<i32>(levelLen + (<usize>level << 2));
}

export function markDirty(row: i32): void {
  const flag = dirty + <usize>row;
  if (load<u8>(flag) == 0) {
    store<u8>(flag, 1);
    store<i32>(listA + (<usize>dirtyCount << 2), row);
    dirtyCount++;
  }
}

export function markAllDirty(): void {
  for (let r: i32 = 0; r < rows; r++) markDirty(r);
}

/** Forget pending changes' bookkeeping (after the host restored a checkpoint taken at a clean root). */
export function clearDirty(): void {
  for (let i: i32 = 0; i < dirtyCount; i++) {
    store<u8>(dirty + <usize>load<i32>(listA + (<usize>i << 2)), 0);
  }
  dirtyCount = 0;
}

function hashLeaf(row: i32, out: usize): void {
  const bytes = <usize>dim << 2;
  memory.copy(leafBuf + 1, tensor + <usize>row * bytes, bytes);
  sha256Padded(leafBuf, leafBlocks, out);
}

function hashNode(left: usize, right: usize, out: usize): void {
  memory.copy(nodeBuf + 1, left, 32);
  memory.copy(nodeBuf + 33, right, 32);
  sha256Padded(nodeBuf, 2, out);
}

/** Bring the tree up to date; returns the address of the 32-byte root. */
export function updateRoot(): usize {
  let cur = listA;
  let next = listB;
  let count = dirtyCount;
  for (let i: i32 = 0; i < count; i++) {
    const row = load<i32>(cur + (<usize>i << 2));
    store<u8>(dirty + <usize>row, 0);
    hashLeaf(row, nodeAt(0, row));
  }
  for (let level: i32 = 0; level + 1 < levels && count > 0; level++) {
    const len = levelSize(level);
    stamp++;
    if (stamp == 0) {
      // Wrapped after 2^32 levels climbed: clear marks so an old stamp cannot collide.
      const parents = (rows >> 1) + 1;
      for (let i: i32 = 0; i < parents; i++) store<u32>(mark + (<usize>i << 2), 0);
      stamp = 1;
    }
    let n: i32 = 0;
    for (let i: i32 = 0; i < count; i++) {
      const p = load<i32>(cur + (<usize>i << 2)) >> 1;
      const m = mark + (<usize>p << 2);
      if (load<u32>(m) != stamp) {
        store<u32>(m, stamp);
        store<i32>(next + (<usize>n << 2), p);
        n++;
      }
    }
    for (let i: i32 = 0; i < n; i++) {
      const p = load<i32>(next + (<usize>i << 2));
      const left = p << 1;
      const out = nodeAt(level + 1, p);
      if (left + 1 < len) hashNode(nodeAt(level, left), nodeAt(level, left + 1), out);
      else memory.copy(out, nodeAt(level, left), 32);
    }
    const t = cur;
    cur = next;
    next = t;
    count = n;
  }
  dirtyCount = 0;
  return nodeAt(levels - 1, 0);
}

/** Write the audit path of `row` (bottom-up sibling hashes) to `out`; returns how many. */
export function writeProof(row: i32, out: usize): i32 {
  updateRoot();
  let idx = row;
  let n: i32 = 0;
  for (let level: i32 = 0; level + 1 < levels; level++) {
    const sib = idx ^ 1;
    if (sib < levelSize(level)) {
      memory.copy(out + (<usize>n << 5), nodeAt(level, sib), 32);
      n++;
    }
    idx >>= 1;
  }
  return n;
}
