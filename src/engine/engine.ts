// Portable wrapper around ma.wasm. Runs unchanged in Node, Bun, Deno and browsers: it only uses
// WebAssembly, typed arrays and the engine's numbers-only ABI. No Node imports here.
import { sha256, sha256Hex, toHex } from '../crypto/sha256.ts';
import { describeValue, MaError, type MaErrorCode, type MaOp, type MaParams, type RowProof, type RowTarget } from './types.ts';

/** The functions ma.wasm exports. Keep in sync with assembly/index.ts. */
interface MaExports {
  readonly memory: WebAssembly.Memory;
  init(shards: number, layers: number, slots: number, dim: number, q: number, decay: number, clip: number): number;
  errDetail(): number;
  bound(): number;
  rowCount(): number;
  ioPtr(): number;
  root(): number;
  readRow(row: number): number;
  leafHash(row: number): number;
  proof(row: number): number;
  statePtr(): number;
  stateBytes(): number;
  tensorBytes(): number;
  restored(): void;
  importedTensor(): number;
  opAdd(shard: number, layer: number, slot: number): number;
  opDecay(shard: number, layer: number, slot: number, hasFactor: number, k: number): number;
  opMix(shard: number, layer: number, slot: number, src: number, k: number): number;
  opClip(shard: number, layer: number, slot: number, bound: number): number;
}

const EXPORTED_FUNCTIONS = [
  'init', 'errDetail', 'bound', 'rowCount', 'ioPtr', 'root', 'readRow', 'leafHash', 'proof', 'statePtr',
  'stateBytes', 'tensorBytes', 'restored', 'importedTensor', 'opAdd', 'opDecay', 'opMix', 'opClip',
] as const;

const PARAM_FIELDS = ['', 'shards', 'layers', 'slots', 'dim', 'q', 'decay', 'clip', 'size'] as const;

/** Where instantiateStreaming() and compileStreaming() take the engine from: a URL, or what fetch() returns. */
export type WasmResponseSource = string | URL | Response | PromiseLike<Response>;

/** An opaque copy of the whole engine state (tensor and Merkle tree), taken at a clean root. */
export interface EngineCheckpoint {
  readonly bytes: Uint8Array;
}

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

function isInt(v: unknown, lo = I32_MIN, hi = I32_MAX): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * An int32 number, tested the cheap way. The typeof comes first: `v | 0` throws a TypeError on a
 * bigint or a symbol (and runs an object's valueOf), where bad input must give MaError.
 */
function isI32(v: unknown): v is number {
  return typeof v === 'number' && (v | 0) === v;
}

/** An op name as messages have always shown it (JSON, so a string is quoted), for any value. */
function opName(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : describeValue(v);
}

export class MaEngine {
  readonly bound: number;
  readonly rowCount: number;
  private readonly x: MaExports;
  private readonly io: number;
  private readonly dim: number;
  /** The io buffer as int32 (memory never grows after init; re-created if the buffer was detached). */
  private ioView: Int32Array;

  private constructor(
    readonly params: MaParams,
    instance: WebAssembly.Instance,
  ) {
    const x = instance.exports as unknown as MaExports;
    for (const name of EXPORTED_FUNCTIONS) {
      if (typeof (x as unknown as Record<string, unknown>)[name] !== 'function') {
        throw new MaError('bad_wasm', 'wasm', `the module does not export ${name}(); is it ma.wasm?`);
      }
    }
    if (!(x.memory instanceof WebAssembly.Memory)) throw new MaError('bad_wasm', 'wasm', 'the module exports no memory');
    validateParams(params);
    const rc = x.init(params.shards, params.layers, params.slots, params.dim, params.q, params.decay, params.clip);
    if (rc === -1) {
      const field = PARAM_FIELDS[x.errDetail()] ?? 'params';
      throw new MaError('bad_params', field, field === 'size'
        ? 'the tensor is too large for a 32-bit WebAssembly memory'
        : `${field} is out of range (clip × q must round to at most 2^31 − 1)`);
    }
    if (rc === -3) throw new MaError('out_of_memory', 'params', 'the runtime refused to allocate the tensor');
    if (rc !== 0) throw new MaError('bad_wasm', 'wasm', `init() failed with code ${rc}`);
    this.x = x;
    this.io = x.ioPtr();
    this.dim = params.dim;
    this.ioView = new Int32Array(x.memory.buffer, this.io, this.dim);
    this.bound = x.bound();
    this.rowCount = x.rowCount();
  }

  /** Compile (if needed) and instantiate the engine. The module must import nothing. */
  static async instantiate(wasm: BufferSource | WebAssembly.Module, params: MaParams): Promise<MaEngine> {
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    const imports = WebAssembly.Module.imports(module);
    if (imports.length > 0) {
      throw new MaError('bad_wasm', 'wasm', `the engine must import nothing, but imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}`);
    }
    return new MaEngine(params, await WebAssembly.instantiate(module, {}));
  }

  /**
   * Fetch, compile and instantiate the engine from a URL or a fetch() Response (or a promise of one):
   * `MaEngine.instantiateStreaming(fetch('/ma.wasm'), params)`. See compileStreaming().
   */
  static async instantiateStreaming(source: WasmResponseSource, params: MaParams): Promise<MaEngine> {
    return MaEngine.instantiate(await MaEngine.compileStreaming(source), params);
  }

  /**
   * Compile the engine while its bytes arrive (WebAssembly.compileStreaming) when the response says
   * exactly `Content-Type: application/wasm`; otherwise, or where the runtime has no compileStreaming,
   * read the whole body and compile that. (compileStreaming refuses any other type, and V8 also
   * refuses parameters such as `; charset=binary` or upper case.) The module can then be
   * instantiated any number of times (instantiate, instantiateSync).
   */
  static async compileStreaming(source: WasmResponseSource): Promise<WebAssembly.Module> {
    const response = typeof source === 'string' || source instanceof URL ? await fetch(source) : await source;
    if (!response.ok) {
      throw new MaError('bad_wasm', 'wasm', `fetching the engine${response.url ? ` from ${response.url}` : ''} failed: HTTP ${response.status}`);
    }
    if (response.headers.get('content-type')?.trim() === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
      return WebAssembly.compileStreaming(response);
    }
    return WebAssembly.compile(await response.arrayBuffer());
  }

  /** Synchronous variant for an already compiled module (e.g. many engines from one Module). */
  static instantiateSync(module: WebAssembly.Module, params: MaParams): MaEngine {
    if (WebAssembly.Module.imports(module).length > 0) throw new MaError('bad_wasm', 'wasm', 'the engine must import nothing');
    return new MaEngine(params, new WebAssembly.Instance(module, {}));
  }

  rowIndex(t: RowTarget): number {
    const err = this.checkTarget(t);
    if (err) throw err;
    return (t.shard * this.params.layers + t.layer) * this.params.slots + t.slot;
  }

  /** Validate an op without applying it. */
  check(op: MaOp): MaError | null {
    if (op === null || typeof op !== 'object') return new MaError('bad_op', 'op', 'an op must be an object');
    const target = this.checkTarget(op);
    if (target) return target;
    const { q } = this.params;
    switch (op.op) {
      case 'add': {
        const vec = op.vec;
        if (vec === null || typeof vec !== 'object' || typeof vec.length !== 'number') {
          return new MaError('bad_vec_length', 'vec', 'vec must be an array of integers');
        }
        if (vec.length !== this.dim) return new MaError('bad_vec_length', 'vec', `vec has ${vec.length} values, dim is ${this.dim}`);
        for (let i = 0; i < vec.length; i++) {
          if (!isInt(vec[i], -this.bound, this.bound)) {
            return new MaError('bad_vec_value', `vec[${i}]`, `vec[${i}] = ${describeValue(vec[i])} is not an integer in [−${this.bound}, ${this.bound}]`);
          }
        }
        return null;
      }
      case 'decay':
        if (op.factor === undefined || op.factor === null) return null;
        return isInt(op.factor, 0, q) ? null : new MaError('bad_factor', 'factor', `factor ${describeValue(op.factor)} is not an integer in [0, ${q}]`);
      case 'mix':
        if (!isInt(op.src, 0, this.params.slots - 1)) {
          return new MaError('bad_src', 'src', `src ${describeValue(op.src)} is not a slot in [0, ${this.params.slots - 1}]`);
        }
        return isInt(op.alpha, 0, q) ? null : new MaError('bad_alpha', 'alpha', `alpha ${describeValue(op.alpha)} is not an integer in [0, ${q}]`);
      case 'clip':
        return isInt(op.bound, 0, this.bound) ? null : new MaError('bad_bound', 'bound', `bound ${describeValue(op.bound)} is not an integer in [0, ${this.bound}]`);
      default:
        return new MaError('bad_op', 'op', `unknown op ${opName((op as { op: unknown }).op)} (add, decay, mix, clip)`);
    }
  }

  /**
   * Apply one op. Throws MaError and leaves the state unchanged if the op is invalid.
   *
   * Hot path: validate only what the engine cannot see, then let its return code decide. Numbers
   * crossing into wasm are converted with ToInt32 (1.5 → 1, '1' → 1, 2^32 → 0), so every value must
   * already be an int32 (isI32); the engine itself checks every range before it changes
   * anything. Only on failure does check() run, to name the field exactly as it always has.
   */
  apply(op: MaOp): void {
    if (op === null || typeof op !== 'object') this.reject(op, 0);
    const { shard, layer, slot } = op;
    if (!isI32(shard) || !isI32(layer) || !isI32(slot)) this.reject(op, 0);
    const x = this.x;
    let rc: number;
    switch (op.op) {
      case 'add': {
        const vec = op.vec;
        const n = this.dim;
        if (vec === null || typeof vec !== 'object' || vec.length !== n) this.reject(op, 0);
        const io = this.ioInts();
        for (let i = 0; i < n; i++) {
          const v = vec[i];
          if (!isI32(v)) this.reject(op, 0);
          io[i] = v;
        }
        rc = x.opAdd(shard, layer, slot);
        break;
      }
      case 'decay': {
        const k = op.factor;
        if (k === undefined || k === null) rc = x.opDecay(shard, layer, slot, 0, 0);
        else if (isI32(k)) rc = x.opDecay(shard, layer, slot, 1, k);
        else rc = -1;
        break;
      }
      case 'mix': {
        const { src, alpha } = op;
        rc = isI32(src) && isI32(alpha) ? x.opMix(shard, layer, slot, src, alpha) : -1;
        break;
      }
      case 'clip': {
        const b = op.bound;
        rc = isI32(b) ? x.opClip(shard, layer, slot, b) : -1;
        break;
      }
      default:
        rc = -1;
    }
    if (rc !== 0) this.reject(op, rc);
  }

  /** Throw the error check() names for a rejected op; if check() finds none, the two disagree: a bug. */
  private reject(op: MaOp, rc: number): never {
    const err = this.check(op);
    if (err) throw err;
    throw new MaError('bad_wasm', 'wasm', `engine rejected an op the wrapper accepted (code ${rc})`);
  }

  /** The 32-byte state root (only rows changed since the last root are rehashed). */
  root(): Uint8Array {
    this.x.root();
    return this.ioBytes(32);
  }

  rootHex(): string {
    return toHex(this.root());
  }

  readRow(t: RowTarget): Int32Array {
    this.x.readRow(this.rowIndex(t));
    return new Int32Array(new Int32Array(this.x.memory.buffer, this.io, this.dim));
  }

  /**
   * rowLeafHash(readRow(t)) (proof.ts) without the two copies and the per-value DataView loop: wasm
   * memory is little-endian, which is the byte order the leaf hash is defined over.
   */
  rowLeafHashOf(t: RowTarget): Uint8Array {
    return sha256(this.leafInputOf(t));
  }

  /** toHex(rowLeafHashOf(t)), the form a receipt carries (once per transaction). */
  rowLeafHexOf(t: RowTarget): string {
    return sha256Hex(this.leafInputOf(t));
  }

  /** The leaf hash's input (prefix 0x00, then the row) in one staging buffer, reused. */
  private leafInputOf(t: RowTarget): Uint8Array {
    this.x.readRow(this.rowIndex(t));
    const io = this.ioInts();
    const leaf = (this.leafInput ??= new Uint8Array(1 + this.dim * 4));
    leaf.set(new Uint8Array(io.buffer, io.byteOffset, io.byteLength), 1);
    return leaf;
  }
  private leafInput: Uint8Array | undefined;

  /** The io buffer as int32, re-made only if the memory was detached (it never grows after init). */
  private ioInts(): Int32Array {
    if (this.ioView.length === 0) this.ioView = new Int32Array(this.x.memory.buffer, this.io, this.dim);
    return this.ioView;
  }

  leafHash(rowIndex: number): Uint8Array {
    if (!isInt(rowIndex, 0, this.rowCount - 1)) throw new MaError('bad_slot', 'row', `row ${rowIndex} is not in [0, ${this.rowCount - 1}]`);
    this.x.leafHash(rowIndex);
    return this.ioBytes(32);
  }

  proof(t: RowTarget): RowProof {
    const index = this.rowIndex(t);
    const values = this.readRow(t);
    const n = this.x.proof(index);
    const raw = this.ioBytes(n * 32);
    const path: Uint8Array[] = [];
    for (let i = 0; i < n; i++) path.push(raw.subarray(i * 32, i * 32 + 32));
    return { shard: t.shard, layer: t.layer, slot: t.slot, index, rows: this.rowCount, values, path };
  }

  checkpoint(): EngineCheckpoint {
    const ptr = this.x.statePtr();
    return { bytes: new Uint8Array(this.x.memory.buffer, ptr, this.x.stateBytes()).slice() };
  }

  restore(cp: EngineCheckpoint): void {
    const len = this.x.stateBytes();
    if (!(cp?.bytes instanceof Uint8Array) || cp.bytes.byteLength !== len) {
      throw new MaError('bad_snapshot', 'checkpoint', 'checkpoint does not belong to an engine with these parameters');
    }
    new Uint8Array(this.x.memory.buffer, this.x.statePtr(), len).set(cp.bytes);
    this.x.restored();
  }

  /** The tensor (rows × dim int32, little-endian) and its root. */
  exportSnapshot(): { tensor: Uint8Array; root: Uint8Array } {
    const root = this.root();
    const ptr = this.x.statePtr();
    return { tensor: new Uint8Array(this.x.memory.buffer, ptr, this.x.tensorBytes()).slice(), root };
  }

  /** Replace the state with a snapshot's tensor; throws (state unchanged) unless it hashes to `expectedRoot`. */
  importSnapshot(tensor: Uint8Array, expectedRoot: Uint8Array): void {
    const len = this.x.tensorBytes();
    if (!(tensor instanceof Uint8Array) || tensor.byteLength !== len) {
      throw new MaError('bad_snapshot', 'tensor', `snapshot tensor has ${tensor?.byteLength} bytes, expected ${len}`);
    }
    const before = this.checkpoint();
    new Uint8Array(this.x.memory.buffer, this.x.statePtr(), len).set(tensor);
    const rc = this.x.importedTensor();
    if (rc !== 0) {
      const at = this.x.errDetail();
      this.restore(before);
      throw new MaError('bad_snapshot', 'tensor', `snapshot element ${at} is outside [−${this.bound}, ${this.bound}]`);
    }
    const got = this.root();
    if (toHex(got) !== toHex(expectedRoot)) {
      this.restore(before);
      throw new MaError('bad_snapshot', 'root', `snapshot hashes to ${toHex(got)}, expected ${toHex(expectedRoot)}`);
    }
  }

  private ioBytes(n: number): Uint8Array {
    return new Uint8Array(this.x.memory.buffer, this.io, n).slice();
  }

  private checkTarget(t: RowTarget): MaError | null {
    const p = this.params;
    if (!isInt(t.shard, 0, p.shards - 1)) return new MaError('bad_shard', 'shard', `shard ${describeValue(t.shard)} is not in [0, ${p.shards - 1}]`);
    if (!isInt(t.layer, 0, p.layers - 1)) return new MaError('bad_layer', 'layer', `layer ${describeValue(t.layer)} is not in [0, ${p.layers - 1}]`);
    if (!isInt(t.slot, 0, p.slots - 1)) return new MaError('bad_slot', 'slot', `slot ${describeValue(t.slot)} is not in [0, ${p.slots - 1}]`);
    return null;
  }
}

function validateParams(p: MaParams): void {
  if (p === null || typeof p !== 'object') throw new MaError('bad_params', 'params', 'parameters must be an object');
  for (const k of ['shards', 'layers', 'slots', 'dim', 'q'] as const) {
    if (!isInt(p[k], 1, I32_MAX)) throw new MaError('bad_params', k, `${k} must be a positive integer, got ${describeValue(p[k])}`);
  }
  for (const k of ['decay', 'clip'] as const) {
    if (typeof p[k] !== 'number' || !Number.isFinite(p[k]) || p[k] <= 0) {
      throw new MaError('bad_params', k, `${k} must be a positive finite number, got ${describeValue(p[k])}`);
    }
  }
}

// The project's one lowercase-hex encoder; the engine re-exports it for its package users.
export { toHex };

export function fromHex(s: string, bytes?: number): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error('not a hex string');
  if (bytes !== undefined && s.length !== bytes * 2) throw new Error(`expected ${bytes} bytes of hex, got ${s.length / 2}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export type { MaErrorCode };
