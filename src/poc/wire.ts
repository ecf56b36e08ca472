// Canonical encodings of the PoC commit and of the PoC/PoP answer (docs/poc-pop.md, "Objects"). Both
// travel as canonical [body, signature], like a transaction: the signature covers the exact body
// bytes received, and the id of an answer is SHA-256(body). Decoding never throws anything but a
// PocWireError, whatever the bytes: every length is bounded before it is used, every field is
// checked for type and range, and non-canonical bytes are refused (two nodes can never disagree about
// the bytes behind a signature).
import { CanonicalError, decodeCanonical, encodeCanonical, type Canon } from '../codec/canonical.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { RowProof } from '../engine/types.ts';
import type { PocParams } from './params.ts';
import { maxPathLength } from './params.ts';

export const COMMIT_DOMAIN = 'numchain/poc/commit/v1';
export const ANSWER_DOMAIN = 'numchain/poc/answer/v1';

export type PocWireErrorCode = 'malformed' | 'oversized' | 'bad_domain';

export class PocWireError extends Error {
  override readonly name = 'PocWireError';
  constructor(
    readonly code: PocWireErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(code: PocWireErrorCode, field: string, message: string): never {
  throw new PocWireError(code, field, `${field}: ${message}`);
}

/** Structural bounds for decoding, all derived from the genesis parameters and the engine. */
export interface PocWireLimits {
  readonly maxBytes: number;
  readonly chunkBytes: number;
  readonly k: number;
  readonly popSamples: number;
  /** longest chunk audit path (ceil(log2(maxChunks))) */
  readonly maxPath: number;
  readonly maxTxBytes: number;
  /** longest tx or row audit path (32 covers 2^32 leaves) */
  readonly maxProofPath: number;
  /** values in a row (the engine's D) */
  readonly maxRowValues: number;
}

export function wireLimits(p: PocParams, maxTxBytes: number, rowValues: number, maxBytes: number): PocWireLimits {
  return { maxBytes, chunkBytes: p.chunkBytes, k: p.k, popSamples: p.popSamples, maxPath: maxPathLength(p), maxTxBytes, maxProofPath: 32, maxRowValues: rowValues };
}

export interface PocCommit {
  readonly chainId: string;
  readonly validator: number;
  readonly commitNonce: number;
  readonly chunks: number;
  readonly root: Uint8Array;
}

export interface ChunkOpening {
  readonly prev: Uint8Array;
  readonly prevPath: readonly Uint8Array[];
  readonly chunk: Uint8Array;
  readonly path: readonly Uint8Array[];
}

/** A row proof as it travels: the engine's RowProof (its values go on the wire as int32 little-endian bytes). */
export type WireRowProof = RowProof;

export interface PopItem {
  readonly height: number;
  readonly txIndex: number;
  readonly tx: Uint8Array;
  readonly txPath: readonly Uint8Array[];
  readonly row: WireRowProof;
}

export interface PocAnswer {
  readonly chainId: string;
  readonly validator: number;
  readonly epoch: number;
  readonly root: Uint8Array;
  readonly chunks: readonly ChunkOpening[];
  readonly pop: readonly PopItem[];
}

/** A decoded envelope: the fields, the exact signed bytes and the signature over them. */
export interface Signed<T> {
  readonly body: T;
  readonly bodyBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** SHA-256(bodyBytes) */
  readonly id: Uint8Array;
}

// ---------------------------------------------------------------- encoding

export function encodeCommitBody(c: PocCommit): Uint8Array {
  return encodeCanonical([COMMIT_DOMAIN, c.chainId, c.validator, c.commitNonce, c.chunks, c.root]);
}

function valuesBytes(v: Int32Array): Uint8Array {
  const out = new Uint8Array(4 * v.length);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setInt32(4 * i, v[i]!, true);
  return out;
}

export function encodeAnswerBody(a: PocAnswer): Uint8Array {
  return encodeCanonical([
    ANSWER_DOMAIN,
    a.chainId,
    a.validator,
    a.epoch,
    a.root,
    a.chunks.map((o) => [o.prev, [...o.prevPath], o.chunk, [...o.path]]),
    a.pop.map((p) => [p.height, p.txIndex, p.tx, [...p.txPath], [p.row.shard, p.row.layer, p.row.slot, p.row.index, p.row.rows, valuesBytes(p.row.values), [...p.row.path]]]),
  ]);
}

/** Wire bytes: canonical [body, signature]. */
export function encodeSigned(bodyBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) throw new PocWireError('malformed', 'signature', 'signature must be 64 bytes');
  return encodeCanonical([bodyBytes, signature]);
}

// ---------------------------------------------------------------- decoding

function canon(bytes: Uint8Array, maxBytes: number, field: string): Canon {
  if (!(bytes instanceof Uint8Array)) fail('malformed', field, 'must be bytes');
  if (bytes.length > maxBytes) fail('oversized', field, `${bytes.length} bytes exceed ${maxBytes}`);
  try {
    return decodeCanonical(bytes, maxBytes);
  } catch (e) {
    if (e instanceof CanonicalError) fail('malformed', field, e.message);
    throw e;
  }
}

function arr(v: Canon | undefined, field: string, min: number, max: number): readonly Canon[] {
  if (!Array.isArray(v)) fail('malformed', field, 'must be an array');
  const a = v as readonly Canon[];
  if (a.length > max) fail('oversized', field, `${a.length} items exceed ${max}`);
  if (a.length < min) fail('malformed', field, `${a.length} items, at least ${min} expected`);
  return a;
}

function tuple(v: Canon | undefined, field: string, n: number): readonly Canon[] {
  const a = arr(v, field, n, n);
  return a;
}

function uint(v: Canon | undefined, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) fail('malformed', field, `must be an integer in [0, ${max}]`);
  return v;
}

function bin(v: Canon | undefined, field: string, max: number, exact?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail('malformed', field, 'must be bytes');
  if (v.length > max) fail('oversized', field, `${v.length} bytes exceed ${max}`);
  if (exact !== undefined && v.length !== exact) fail('malformed', field, `must be ${exact} bytes`);
  return v;
}

function str(v: Canon | undefined, field: string, max: number): string {
  if (typeof v !== 'string') fail('malformed', field, 'must be a string');
  if (v.length === 0 || v.length > max) fail('malformed', field, `must be 1..${max} characters`);
  return v;
}

function path(v: Canon | undefined, field: string, max: number): Uint8Array[] {
  return arr(v, field, 0, max).map((h, i) => bin(h, `${field}[${i}]`, 32, 32));
}

function envelope(bytes: Uint8Array, maxBytes: number, domain: string, fields: number): { f: readonly Canon[]; bodyBytes: Uint8Array; signature: Uint8Array } {
  const env = tuple(canon(bytes, maxBytes, 'envelope'), 'envelope', 2);
  const bodyBytes = bin(env[0], 'body', maxBytes);
  const signature = bin(env[1], 'signature', 64, 64);
  const f = arr(canon(bodyBytes, maxBytes, 'body'), 'body', 1, fields);
  if (f[0] !== domain) fail('bad_domain', 'domain', `domain tag must be '${domain}'`);
  if (f.length !== fields) fail('malformed', 'body', `must be an array of ${fields} fields`);
  return { f, bodyBytes, signature };
}

const MAX_CHAIN_ID = 64;
/** A commit envelope is small: chain id, a few integers, a root and a signature. */
export const MAX_COMMIT_BYTES = 256;

export function decodeCommit(bytes: Uint8Array): Signed<PocCommit> {
  const { f, bodyBytes, signature } = envelope(bytes, MAX_COMMIT_BYTES, COMMIT_DOMAIN, 6);
  const body: PocCommit = {
    chainId: str(f[1], 'chainId', MAX_CHAIN_ID),
    validator: uint(f[2], 'validator', 0xffff_ffff),
    commitNonce: uint(f[3], 'commitNonce', 0xffff_ffff),
    chunks: uint(f[4], 'chunks', 0xffff_ffff),
    root: bin(f[5], 'root', 32, 32),
  };
  return { body, bodyBytes, signature, id: sha256(bodyBytes) };
}

function rowProof(v: Canon | undefined, field: string, lim: PocWireLimits): WireRowProof {
  const r = tuple(v, field, 7);
  const vb = bin(r[5], `${field}.values`, 4 * lim.maxRowValues);
  if (vb.length % 4 !== 0) fail('malformed', `${field}.values`, 'must be int32 little-endian values');
  const dv = new DataView(vb.buffer, vb.byteOffset, vb.byteLength);
  const values = new Int32Array(vb.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = dv.getInt32(4 * i, true);
  return {
    shard: uint(r[0], `${field}.shard`, 0xffff_ffff),
    layer: uint(r[1], `${field}.layer`, 0xffff_ffff),
    slot: uint(r[2], `${field}.slot`, 0xffff_ffff),
    index: uint(r[3], `${field}.index`),
    rows: uint(r[4], `${field}.rows`),
    values,
    path: path(r[6], `${field}.path`, lim.maxProofPath),
  };
}

export function decodeAnswer(bytes: Uint8Array, lim: PocWireLimits): Signed<PocAnswer> {
  const { f, bodyBytes, signature } = envelope(bytes, lim.maxBytes, ANSWER_DOMAIN, 7);
  const chunks = arr(f[5], 'chunks', 0, lim.k).map((o, j): ChunkOpening => {
    const t = tuple(o, `chunks[${j}]`, 4);
    return {
      prev: bin(t[0], `chunks[${j}].prev`, lim.chunkBytes),
      prevPath: path(t[1], `chunks[${j}].prevPath`, lim.maxPath),
      chunk: bin(t[2], `chunks[${j}].chunk`, lim.chunkBytes),
      path: path(t[3], `chunks[${j}].path`, lim.maxPath),
    };
  });
  const pop = arr(f[6], 'pop', 0, lim.popSamples).map((o, j): PopItem => {
    const t = tuple(o, `pop[${j}]`, 5);
    return {
      height: uint(t[0], `pop[${j}].height`),
      txIndex: uint(t[1], `pop[${j}].txIndex`, 0xffff_ffff),
      tx: bin(t[2], `pop[${j}].tx`, lim.maxTxBytes),
      txPath: path(t[3], `pop[${j}].txPath`, lim.maxProofPath),
      row: rowProof(t[4], `pop[${j}].row`, lim),
    };
  });
  const body: PocAnswer = {
    chainId: str(f[1], 'chainId', MAX_CHAIN_ID),
    validator: uint(f[2], 'validator', 0xffff_ffff),
    epoch: uint(f[3], 'epoch'),
    root: bin(f[4], 'root', 32, 32),
    chunks,
    pop,
  };
  return { body, bodyBytes, signature, id: sha256(bodyBytes) };
}
