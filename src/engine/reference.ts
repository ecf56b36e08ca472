// A second, independent implementation of Memory Arithmetic in plain TypeScript (typed arrays,
// @noble/hashes SHA-256). It exists to cross-check ma.wasm and as the honest baseline the engine
// benchmark is measured against; nodes never run it. It shares only the types with the wrapper.
//
// The Merkle tree is built the way RFC 6962 states it (split a range of n leaves at the largest power
// of two below n), not the engine's bottom-up pairing, so the two agree only if both are right.
import { sha256 } from '@noble/hashes/sha2.js';
import { describeValue, MaError, type MaOp, type MaParams, type RowTarget } from './types.ts';

const I32_MAX = 2147483647;

/** IEEE 754 round-half-to-even on a double (what WebAssembly `f64.nearest` does; Math.round does not). */
export function roundHalfEven(x: number): number {
  // Math.round sends ties up; r − x is exact here (Sterbenz), so it equals 0.5 only for a tie, and
  // then an odd r is one too far. Only |x| < 2^52 can tie, where ToInt32 (`& 1`) keeps the parity.
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Round, saturate to int32 (the spec's conversion) and clamp to [−b, b]; b ≤ 2^31 − 1, so the clamp subsumes saturation. */
function roundClamp(x: number, b: number): number {
  const r = roundHalfEven(x);
  // NaN cannot arise (finite integers times finite factors); an infinite product saturates.
  return r < -b ? -b : r > b ? b : r;
}

function isIntIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The tree as explicit nodes: leaves are nodes 0..rows−1, internal nodes follow. Each node caches its
 * hash; changing a row marks its leaf and every ancestor stale, and root() rehashes only stale nodes.
 */
class IncrementalTree {
  readonly hashes: Uint8Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly parent: Int32Array;
  private readonly stale: Uint8Array;
  readonly top: number;
  private count: number;

  constructor(
    private readonly leaves: number,
    private readonly hashLeaf: (row: number) => Uint8Array,
  ) {
    const nodes = 2 * leaves - 1;
    this.hashes = new Uint8Array(nodes * 32);
    this.left = new Int32Array(nodes).fill(-1);
    this.right = new Int32Array(nodes).fill(-1);
    this.parent = new Int32Array(nodes).fill(-1);
    this.stale = new Uint8Array(nodes).fill(1);
    this.count = leaves;
    this.top = this.build(0, leaves);
  }

  private build(lo: number, n: number): number {
    if (n === 1) return lo;
    const k = largestPowerOfTwoBelow(n);
    const l = this.build(lo, k);
    const r = this.build(lo + k, n - k);
    const id = this.count++;
    this.left[id] = l;
    this.right[id] = r;
    this.parent[l] = id;
    this.parent[r] = id;
    return id;
  }

  markRow(row: number): void {
    // An ancestor already stale means the whole path above it is stale too.
    for (let id = row; id !== -1 && this.stale[id] === 0; id = this.parent[id]) this.stale[id] = 1;
  }

  markAll(): void {
    this.stale.fill(1);
  }

  root(): Uint8Array {
    this.refresh(this.top);
    return this.hashes.slice(this.top * 32, this.top * 32 + 32);
  }

  node(id: number): Uint8Array {
    return this.hashes.subarray(id * 32, id * 32 + 32);
  }

  private refresh(id: number): void {
    if (this.stale[id] === 0) return;
    if (id < this.leaves) {
      this.hashes.set(this.hashLeaf(id), id * 32);
    } else {
      this.refresh(this.left[id]);
      this.refresh(this.right[id]);
      this.hashes.set(nodeHash(this.node(this.left[id]), this.node(this.right[id])), id * 32);
    }
    this.stale[id] = 0;
  }
}

const nodeBuf = new Uint8Array(65);
function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  nodeBuf[0] = 0x01;
  nodeBuf.set(l, 1);
  nodeBuf.set(r, 33);
  return sha256(nodeBuf);
}

export class ReferenceEngine {
  readonly bound: number;
  readonly rowCount: number;
  readonly tensor: Int32Array;
  private readonly dim: number;
  private readonly tree: IncrementalTree;
  private readonly leafBuf: Uint8Array;
  private readonly leafView: DataView;

  constructor(readonly params: MaParams) {
    for (const k of ['shards', 'layers', 'slots', 'dim', 'q'] as const) {
      if (!isIntIn(params[k], 1, I32_MAX)) throw new MaError('bad_params', k, `${k} must be a positive integer`);
    }
    for (const k of ['decay', 'clip'] as const) {
      if (!(params[k] > 0) || !Number.isFinite(params[k])) throw new MaError('bad_params', k, `${k} must be a positive finite number`);
    }
    const b = roundHalfEven(params.clip * params.q);
    if (b > I32_MAX) throw new MaError('bad_params', 'clip', 'clip × q must round to at most 2^31 − 1');
    this.bound = b;
    this.dim = params.dim;
    this.rowCount = params.shards * params.layers * params.slots;
    this.tensor = new Int32Array(this.rowCount * this.dim);
    this.leafBuf = new Uint8Array(1 + 4 * this.dim);
    this.leafView = new DataView(this.leafBuf.buffer);
    this.tree = new IncrementalTree(this.rowCount, (row) => this.leafHash(row));
  }

  rowIndex(t: RowTarget): number {
    const p = this.params;
    if (!isIntIn(t.shard, 0, p.shards - 1)) throw new MaError('bad_shard', 'shard', `shard ${describeValue(t.shard)} is out of range`);
    if (!isIntIn(t.layer, 0, p.layers - 1)) throw new MaError('bad_layer', 'layer', `layer ${describeValue(t.layer)} is out of range`);
    if (!isIntIn(t.slot, 0, p.slots - 1)) throw new MaError('bad_slot', 'slot', `slot ${describeValue(t.slot)} is out of range`);
    return (t.shard * p.layers + t.layer) * p.slots + t.slot;
  }

  /** Apply one op; throws MaError (same codes as MaEngine) and leaves the state unchanged if it is invalid. */
  apply(op: MaOp): void {
    if (op === null || typeof op !== 'object') throw new MaError('bad_op', 'op', 'an op must be an object');
    const row = this.rowIndex(op);
    const p = this.params;
    const b = this.bound;
    switch (op.op) {
      case 'add': {
        const vec = op.vec;
        if (vec === null || typeof vec !== 'object' || vec.length !== this.dim) {
          throw new MaError('bad_vec_length', 'vec', `vec must hold ${this.dim} integers`);
        }
        for (let i = 0; i < vec.length; i++) {
          if (!isIntIn(vec[i], -b, b)) throw new MaError('bad_vec_value', `vec[${i}]`, `vec[${i}] is not an integer in [−${b}, ${b}]`);
        }
        this.addRow(row, vec);
        break;
      }
      case 'decay': {
        const k = op.factor;
        if (k !== undefined && k !== null && !isIntIn(k, 0, p.q)) {
          throw new MaError('bad_factor', 'factor', `factor ${describeValue(k)} is out of range`);
        }
        this.scaleRow(row, k === undefined || k === null ? p.decay : k / p.q);
        break;
      }
      case 'mix':
        if (!isIntIn(op.src, 0, p.slots - 1)) throw new MaError('bad_src', 'src', `src ${describeValue(op.src)} is out of range`);
        if (!isIntIn(op.alpha, 0, p.q)) throw new MaError('bad_alpha', 'alpha', `alpha ${describeValue(op.alpha)} is out of range`);
        this.mixRow(row, row - op.slot + op.src, op.alpha / p.q);
        break;
      case 'clip':
        if (!isIntIn(op.bound, 0, b)) throw new MaError('bad_bound', 'bound', `bound ${describeValue(op.bound)} is out of range`);
        this.clipRow(row, op.bound);
        break;
      default:
        throw new MaError('bad_op', 'op', `unknown op ${describeValue((op as { op: unknown }).op)}`);
    }
    this.tree.markRow(row);
  }

  // The element loops: integers in an Int32Array, f64 temporaries, the spec's order of operations.

  private addRow(row: number, vec: ArrayLike<number>): void {
    const t = this.tensor;
    const b = this.bound;
    const base = row * this.dim;
    for (let i = 0; i < this.dim; i++) {
      const v = t[base + i] + vec[i];
      t[base + i] = v < -b ? -b : v > b ? b : v;
    }
  }

  private scaleRow(row: number, f: number): void {
    const t = this.tensor;
    const b = this.bound;
    const end = (row + 1) * this.dim;
    for (let i = row * this.dim; i < end; i++) t[i] = roundClamp(t[i] * f, b);
  }

  private mixRow(row: number, src: number, a: number): void {
    const t = this.tensor;
    const b = this.bound;
    const keep = 1 - a;
    const base = row * this.dim;
    const from = src * this.dim;
    for (let i = 0; i < this.dim; i++) t[base + i] = roundClamp(t[base + i] * keep + t[from + i] * a, b);
  }

  private clipRow(row: number, c: number): void {
    const t = this.tensor;
    const end = (row + 1) * this.dim;
    for (let i = row * this.dim; i < end; i++) {
      const v = t[i];
      t[i] = v < -c ? -c : v > c ? c : v;
    }
  }

  /** A copy of row `index` (D values). */
  row(index: number): Int32Array {
    return this.tensor.slice(index * this.dim, (index + 1) * this.dim);
  }

  /** SHA-256(0x00 ‖ row as D little-endian int32). */
  leafHash(index: number): Uint8Array {
    const buf = this.leafBuf;
    const view = this.leafView;
    const base = index * this.dim;
    buf[0] = 0x00;
    for (let i = 0; i < this.dim; i++) view.setInt32(1 + 4 * i, this.tensor[base + i], true);
    return sha256(buf);
  }

  /** The state root, rehashing only rows changed since the last call and their ancestors. */
  root(): Uint8Array {
    return this.tree.root();
  }

  /** The state root recomputed from scratch (no cached hashes): the RFC 6962 definition, literally. */
  fullRoot(): Uint8Array {
    const mth = (lo: number, n: number): Uint8Array => {
      if (n === 1) return this.leafHash(lo);
      const k = largestPowerOfTwoBelow(n);
      return nodeHash(mth(lo, k), mth(lo + k, n - k));
    };
    return mth(0, this.rowCount);
  }

  /** Forget every cached hash (the next root() rehashes everything). */
  invalidateAll(): void {
    this.tree.markAll();
  }
}
