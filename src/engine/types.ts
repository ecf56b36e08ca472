// Types shared by the engine wrapper and everything that drives it. No IO, no Node-only imports.

/** Memory Arithmetic parameters, from genesis. decay and clip are the only floats in the system. */
export interface MaParams {
  readonly shards: number;
  readonly layers: number;
  readonly slots: number;
  readonly dim: number;
  readonly q: number;
  readonly decay: number;
  readonly clip: number;
}

export const DEFAULT_MA_PARAMS: MaParams = Object.freeze({
  shards: 4,
  layers: 4,
  slots: 64,
  dim: 128,
  q: 1024,
  decay: 0.985,
  clip: 8.0,
});

/** Where an op lands: one row of the tensor. */
export interface RowTarget {
  readonly shard: number;
  readonly layer: number;
  readonly slot: number;
}

export type MaOp =
  | (RowTarget & { readonly op: 'add'; readonly vec: ArrayLike<number> })
  | (RowTarget & { readonly op: 'decay'; readonly factor?: number | null })
  | (RowTarget & { readonly op: 'mix'; readonly src: number; readonly alpha: number })
  | (RowTarget & { readonly op: 'clip'; readonly bound: number });

export type MaOpName = MaOp['op'];

/** The four ops in their wire-code order (add 0, decay 1, mix 2, clip 3). */
export const MA_OP_NAMES: readonly MaOpName[] = Object.freeze(['add', 'decay', 'mix', 'clip'] as const);

export type MaErrorCode =
  | 'bad_params'
  | 'bad_shard'
  | 'bad_layer'
  | 'bad_slot'
  | 'bad_src'
  | 'bad_vec_length'
  | 'bad_vec_value'
  | 'bad_factor'
  | 'bad_alpha'
  | 'bad_bound'
  | 'bad_op'
  | 'bad_snapshot'
  | 'bad_wasm'
  | 'out_of_memory';

/** Every rejected op or parameter set: `field` names what was wrong, `message` says why. */
export class MaError extends Error {
  override readonly name = 'MaError';
  constructor(
    readonly code: MaErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A wrong value as MaError messages show it: String(v), except that it never throws (String()
 * does on an object without a prototype; JSON.stringify on a bigint).
 */
export function describeValue(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** A Merkle inclusion proof for one row (RFC 6962 audit path, deepest sibling first). */
export interface RowProof {
  readonly shard: number;
  readonly layer: number;
  readonly slot: number;
  /** row index r = (shard·L + layer)·S + slot */
  readonly index: number;
  /** number of rows (leaves) in the tree */
  readonly rows: number;
  /** the row's D values */
  readonly values: Int32Array;
  /** sibling hashes, bottom-up */
  readonly path: readonly Uint8Array[];
}
