// The engine's parameters and the layout of linear memory. Sized exactly once, in `setup`;
// memory never grows after that, so no engine can observe a growth failure mid-operation.
//
//   [static data: SHA-256 constants, schedule]  (below __heap_base)
//   io      : host <-> engine exchange buffer (an add vector, a row, a root, a proof path)
//   leafBuf : 0x00 ‖ row ‖ SHA-256 padding, padding written once
//   nodeBuf : 0x01 ‖ left ‖ right ‖ padding, padding written once
//   dirty   : one byte per row: changed since the last root
//   listA, listB : row / node index work lists for the incremental root
//   mark    : per-parent stamp, deduplicates parents while climbing the tree
//   state   : tensor (rows × dim int32) followed by every tree level (32 bytes a node)
//             — one contiguous region, so a checkpoint is one copy.
import { paddedBlocks, writePadding } from './sha256';

export const OK: i32 = 0;
export const ERR_PARAMS: i32 = -1;
export const ERR_STATE: i32 = -2;
export const ERR_MEMORY: i32 = -3;
export const ERR_SHARD: i32 = -10;
export const ERR_LAYER: i32 = -11;
export const ERR_SLOT: i32 = -12;
export const ERR_SRC: i32 = -13;
export const ERR_VEC: i32 = -14;
export const ERR_FACTOR: i32 = -15;
export const ERR_ALPHA: i32 = -16;
export const ERR_BOUND: i32 = -17;
export const ERR_SNAPSHOT: i32 = -18;

// Which parameter was bad (for ERR_PARAMS) or which vector element (for ERR_VEC / ERR_SNAPSHOT).
export let errDetail: i32 = 0;

export let ready: bool = false;
export let nShards: i32 = 0;
export let nLayers: i32 = 0;
export let nSlots: i32 = 0;
export let dim: i32 = 0;
export let q: i32 = 0;
export let bound: i32 = 0;
export let genesisDecay: f64 = 0.0;
export let rows: i32 = 0;
export let levels: i32 = 0;

export let io: usize = 0;
export let ioBytes: usize = 0;
export let leafBuf: usize = 0;
export let leafBlocks: usize = 0;
export let nodeBuf: usize = 0;
export let dirty: usize = 0;
export let listA: usize = 0;
export let listB: usize = 0;
export let mark: usize = 0;
export let tensor: usize = 0;
export let tree: usize = 0;
export let stateEnd: usize = 0;

// Level k of the tree starts at levelOff[k] and holds levelLen[k] nodes (level 0 = leaves).
export const levelOff: usize = memory.data(8 * 64);
export const levelLen: usize = memory.data(4 * 64);

// Memory is capped below 2 GiB so that every browser can instantiate it.
const MAX_BYTES: u64 = 1_610_612_736;

// @ts-ignore: decorator
@inline
function align16(x: u64): u64 {
  return (x + 15) & ~(<u64>15);
}

export function setup(
  shards: i32,
  layers: i32,
  slots: i32,
  d: i32,
  quantum: i32,
  decay: f64,
  clip: f64,
): i32 {
  if (ready) return ERR_STATE;
  if (shards < 1) return paramError(1);
  if (layers < 1) return paramError(2);
  if (slots < 1) return paramError(3);
  if (d < 1) return paramError(4);
  if (quantum < 1) return paramError(5);
  // `x > 0.0` is false for NaN, so this rejects NaN, zero, negatives and infinity.
  if (!(decay > 0.0) || !(decay < Infinity)) return paramError(6);
  if (!(clip > 0.0) || !(clip < Infinity)) return paramError(7);
  const b = nearest<f64>(clip * <f64>quantum);
  if (!(b <= 2147483647.0)) return paramError(7);

  const nRows: u64 = <u64>shards * <u64>layers * <u64>slots;
  const rowBytes: u64 = <u64>d << 2;
  if (nRows > 0x3fffffff || rowBytes > 0x3fffffff) return paramError(8);

  let nodes: u64 = 0;
  let len: u64 = nRows;
  let lv: i32 = 0;
  while (true) {
    nodes += len;
    lv++;
    if (len == 1) break;
    len = (len + 1) >> 1;
  }

  const leafLen: u64 = 1 + rowBytes;
  const leafBufBytes: u64 = <u64>paddedBlocks(<usize>leafLen) << 6;
  let ioSize: u64 = rowBytes;
  if (ioSize < 64 * 32) ioSize = 64 * 32;

  let p: u64 = align16(<u64>__heap_base);
  const ioAt = p;
  p = align16(p + ioSize);
  const leafAt = p;
  p = align16(p + leafBufBytes);
  const nodeAt = p;
  p = align16(p + 128);
  const dirtyAt = p;
  p = align16(p + nRows);
  const listAAt = p;
  p = align16(p + (nRows << 2));
  const listBAt = p;
  p = align16(p + (nRows << 2));
  const markAt = p;
  p = align16(p + (((nRows >> 1) + 1) << 2));
  const tensorAt = p;
  p = align16(p + nRows * rowBytes);
  const treeAt = p;
  p = p + (nodes << 5);
  if (p > MAX_BYTES) return paramError(8);

  const needPages = <i32>((p + 65535) >> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    if (memory.grow(needPages - havePages) < 0) return ERR_MEMORY;
  }

  nShards = shards;
  nLayers = layers;
  nSlots = slots;
  dim = d;
  q = quantum;
  bound = <i32>b;
  genesisDecay = decay;
  rows = <i32>nRows;
  levels = lv;
  io = <usize>ioAt;
  ioBytes = <usize>ioSize;
  leafBuf = <usize>leafAt;
  leafBlocks = <usize>(leafBufBytes >> 6);
  nodeBuf = <usize>nodeAt;
  dirty = <usize>dirtyAt;
  listA = <usize>listAAt;
  listB = <usize>listBAt;
  mark = <usize>markAt;
  tensor = <usize>tensorAt;
  tree = <usize>treeAt;
  stateEnd = <usize>p;

  let off: usize = tree;
  len = nRows;
  for (let k: i32 = 0; k < lv; k++) {
    store<u64>(levelOff + (<usize>k << 3), <u64>off);
    store<u32>(levelLen + (<usize>k << 2), <u32>len);
    off += <usize>(len << 5);
    len = (len + 1) >> 1;
  }

  store<u8>(leafBuf, 0x00);
  writePadding(leafBuf, <usize>leafLen);
  store<u8>(nodeBuf, 0x01);
  writePadding(nodeBuf, 65);

  ready = true;
  return OK;
}

function paramError(which: i32): i32 {
  errDetail = which;
  return ERR_PARAMS;
}

/** Record which element caused `code` and return the code. */
export function fail(code: i32, detail: i32): i32 {
  errDetail = detail;
  return code;
}
