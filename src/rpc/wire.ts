// JSON shapes on the wire between the RPC server and its clients (beyond those in api.ts).
// Browser-safe: types and pure helpers only.
import type { ReceiptJson } from './api.ts';

/** Every error response body. `field` names the offending input ('' when none applies). */
export interface ErrorJson {
  readonly code: string;
  readonly field: string;
  readonly message: string;
  /** set on transaction rejections */
  readonly accepted?: false;
  readonly txid?: string | null;
}

/** POST /tx → 202 (admitted; with ?wait, also when the receipt did not arrive in time). */
export interface AcceptedJson {
  readonly accepted: true;
  readonly txid: string;
  /** present only with ?wait: false when the receipt did not arrive within the wait */
  readonly committed?: false;
}

/** One entry of a POST /txs result, in the order of the request. */
export type BatchItemJson =
  | { readonly accepted: true; readonly txid: string }
  | { readonly accepted: false; readonly txid: string | null; readonly code: string; readonly field: string; readonly message: string; readonly status: number };

export interface BatchResultJson {
  readonly results: readonly BatchItemJson[];
  readonly accepted: number;
  readonly rejected: number;
}

export type { ReceiptJson };

/** Media types that carry canonical msgpack wire bytes instead of JSON. */
export const BINARY_TYPES: readonly string[] = ['application/msgpack', 'application/x-msgpack', 'application/octet-stream'];

/** The longest ?wait= the server honours; longer values are clamped to it. */
export const DEFAULT_MAX_WAIT_MS = 30_000;

export const TXID_RE = /^[0-9a-f]{64}$/;
