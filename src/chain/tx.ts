// Signed Memory Arithmetic transactions. Browser-safe: the RPC client builds and checks
// transactions with this module, so it must not import node:* (it uses only codec + noble).
//
// Wire format (all canonical msgpack, see src/codec/canonical.ts):
//   body  = [ 'numchain/tx/v1', chainId, sender(32), nonce(u32), validUntil(u32), opCode, shard, layer, slot, arg ]
//           arg: add → bytes of D int32 little-endian; decay → factor k or null (genesis decay);
//                mix → [src, alpha]; clip → bound
//   tx    = [ bodyBytes, signature(64) ]            signature = Ed25519(sender, bodyBytes)
//   txid  = SHA-256(bodyBytes)
//
// Why the txid excludes the signature: ZIP-215 accepts several encodings of one signature
// (non-canonical R), so anyone relaying a transaction could mint a second valid signature for the
// same body. If the signature were part of the txid, that would be a second txid for the same
// transaction and replay protection (keyed by txid) could be bypassed. The body is what the sender
// authorised; the txid names exactly that.
import { encodeCanonical, decodeCanonical, CanonicalError, type Canon } from '../codec/canonical.ts';
import { MA_OP_NAMES, type MaOp, type MaOpName, type MaParams, type RowTarget } from '../engine/types.ts';
import { sha256, toHex, fromHex, HexError } from '../crypto/sha256.ts';
import { publicKeyOf, signEd25519 } from '../crypto/ed25519.ts';
import type { TxDecodeRejection } from './reject-reasons.ts';

export const TX_DOMAIN = 'numchain/tx/v1';
export const OP_CODES = Object.freeze({ add: 0, decay: 1, mix: 2, clip: 3 } as const);
export type TxOpName = MaOpName;
const OP_NAMES = MA_OP_NAMES;
const U32_MAX = 0xffff_ffff;
const CHAIN_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Why decoding refuses a transaction (see reject-reasons.ts), or why a client could not build one. */
export type TxErrorCode = TxDecodeRejection | 'bad_secret_key';

/** A transaction that cannot be decoded or built. `field` names the offending field. */
export class TxError extends Error {
  override readonly name = 'TxError';
  constructor(
    readonly code: TxErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The engine's MaOp as a decoded transaction carries it (so it goes to MaEngine.check/apply as is):
 * the vector of an add is an Int32Array, and decay's factor is always present (null: the default).
 */
export type TxOp =
  | Exclude<MaOp, { readonly op: 'add' | 'decay' }>
  | (Extract<MaOp, { readonly op: 'add' }> & { readonly vec: Int32Array })
  | (Extract<MaOp, { readonly op: 'decay' }> & { readonly factor: number | null });

export interface TxBody {
  readonly chainId: string;
  readonly sender: Uint8Array;
  /** u32 chosen by the client so that otherwise identical ops get distinct txids */
  readonly nonce: number;
  /** last block height at which the transaction may be included */
  readonly validUntil: number;
  readonly op: TxOp;
}

/** Fields a client fills in; the sender is derived from the secret key. vec may be any int array. */
export interface TxFields {
  readonly chainId: string;
  readonly nonce: number;
  readonly validUntil: number;
  readonly op:
    | (RowTarget & { readonly op: 'add'; readonly vec: ArrayLike<number> })
    | (RowTarget & { readonly op: 'decay'; readonly factor?: number | null })
    | (RowTarget & { readonly op: 'mix'; readonly src: number; readonly alpha: number })
    | (RowTarget & { readonly op: 'clip'; readonly bound: number });
}

export interface SignedTx {
  /** wire bytes: canonical [bodyBytes, signature] */
  readonly bytes: Uint8Array;
  readonly bodyBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** SHA-256(bodyBytes) */
  readonly txid: Uint8Array;
  readonly txidHex: string;
  readonly body: TxBody;
}

/** Structural bounds for decoding. Build with txLimits(); bound = the engine's B. */
export interface TxLimits {
  readonly shards: number;
  readonly layers: number;
  readonly slots: number;
  readonly dim: number;
  readonly q: number;
  /** B: largest |value| in the tensor (MaEngine.bound) */
  readonly bound: number;
  readonly maxTxBytes: number;
}

/** Room for the envelope, chain id and scalar fields on top of an add's D×4 vector bytes. */
export function defaultMaxTxBytes(dim: number): number {
  return 4 * dim + 256;
}

export function txLimits(params: MaParams, bound: number, maxTxBytes = defaultMaxTxBytes(params.dim)): TxLimits {
  return Object.freeze({ shards: params.shards, layers: params.layers, slots: params.slots, dim: params.dim, q: params.q, bound, maxTxBytes });
}

// ---------------------------------------------------------------- field checks (shared by wire and JSON)

function fail(code: TxErrorCode, field: string, message: string): never {
  throw new TxError(code, field, message);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

function checkIndex(v: unknown, n: number, code: TxErrorCode, field: string): number {
  if (!isInt(v) || v < 0 || v >= n) fail(code, field, `${field} must be an integer in [0, ${n - 1}]`);
  return v;
}

function checkU32(v: unknown, code: TxErrorCode, field: string): number {
  if (!isInt(v) || v < 0 || v > U32_MAX) fail(code, field, `${field} must be an integer in [0, 2^32-1]`);
  return v;
}

function checkChainId(v: unknown): string {
  if (typeof v !== 'string' || !CHAIN_ID_RE.test(v)) fail('bad_chain_id', 'chainId', 'chainId must be 1–64 characters of [A-Za-z0-9._:-]');
  return v;
}

function checkSender(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) fail('bad_sender', 'sender', 'sender must be a 32-byte Ed25519 public key');
  return v;
}

function checkVec(vec: Int32Array, limits: TxLimits): Int32Array {
  if (vec.length !== limits.dim) fail('bad_vec_length', 'vec', `vec must have ${limits.dim} values, got ${vec.length}`);
  for (let i = 0; i < vec.length; i++) {
    const x = vec[i]!;
    if (x > limits.bound || x < -limits.bound) fail('bad_vec_value', `vec[${i}]`, `vec[${i}] = ${x} is outside [-${limits.bound}, ${limits.bound}]`);
  }
  return vec;
}

interface RawOp {
  readonly op: TxOpName;
  readonly shard: unknown;
  readonly layer: unknown;
  readonly slot: unknown;
  readonly vec?: Int32Array;
  readonly factor?: unknown;
  readonly src?: unknown;
  readonly alpha?: unknown;
  readonly bound?: unknown;
}

function checkOp(raw: RawOp, limits: TxLimits): TxOp {
  const shard = checkIndex(raw.shard, limits.shards, 'bad_shard', 'shard');
  const layer = checkIndex(raw.layer, limits.layers, 'bad_layer', 'layer');
  const slot = checkIndex(raw.slot, limits.slots, 'bad_slot', 'slot');
  switch (raw.op) {
    case 'add':
      return { op: 'add', shard, layer, slot, vec: checkVec(raw.vec ?? new Int32Array(0), limits) };
    case 'decay': {
      const f = raw.factor;
      if (f !== null && (!isInt(f) || f < 0 || f > limits.q)) fail('bad_factor', 'factor', `factor must be null (genesis decay) or an integer in [0, ${limits.q}]`);
      return { op: 'decay', shard, layer, slot, factor: f };
    }
    case 'mix': {
      const src = checkIndex(raw.src, limits.slots, 'bad_src', 'src');
      const alpha = raw.alpha;
      if (!isInt(alpha) || alpha < 0 || alpha > limits.q) fail('bad_alpha', 'alpha', `alpha must be an integer in [0, ${limits.q}]`);
      return { op: 'mix', shard, layer, slot, src, alpha };
    }
    case 'clip': {
      const b = raw.bound;
      if (!isInt(b) || b < 0 || b > limits.bound) fail('bad_bound', 'bound', `bound must be an integer in [0, ${limits.bound}]`);
      return { op: 'clip', shard, layer, slot, bound: b };
    }
  }
}

// ---------------------------------------------------------------- encoding

function vecToBytes(vec: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(vec.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < vec.length; i++) {
    const x = vec[i]!;
    if (!isInt(x) || x < -0x8000_0000 || x > 0x7fff_ffff) fail('bad_vec_value', `vec[${i}]`, `vec[${i}] must be a 32-bit integer`);
    dv.setInt32(i * 4, x, true);
  }
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bytesToVec(bytes: Uint8Array, limits: TxLimits): Int32Array {
  if (bytes.length !== limits.dim * 4) fail('bad_vec_length', 'vec', `vec must be ${limits.dim * 4} bytes (${limits.dim} int32), got ${bytes.length}`);
  const vec = new Int32Array(limits.dim);
  // The wire is little-endian: on a little-endian host that is one copy of the bytes.
  if (LITTLE_ENDIAN_HOST) new Uint8Array(vec.buffer).set(bytes);
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < vec.length; i++) vec[i] = dv.getInt32(i * 4, true);
  }
  return vec;
}

function opArg(op: TxFields['op']): Canon {
  switch (op.op) {
    case 'add':
      return vecToBytes(op.vec);
    case 'decay':
      return op.factor ?? null;
    case 'mix':
      return [op.src, op.alpha];
    case 'clip':
      return op.bound;
  }
}

/** Canonical body bytes: what is signed and what the txid hashes. */
export function encodeTxBody(body: TxFields & { readonly sender: Uint8Array }): Uint8Array {
  const op = body.op;
  const code = OP_CODES[op.op];
  if (code === undefined) fail('bad_op', 'op', `unknown op ${String(op.op)}`);
  try {
    return encodeCanonical([TX_DOMAIN, body.chainId, body.sender, body.nonce, body.validUntil, code, op.shard, op.layer, op.slot, opArg(op)]);
  } catch (e) {
    if (e instanceof CanonicalError) fail('malformed', 'body', `cannot encode transaction body: ${e.message}`);
    throw e;
  }
}

/** Wire bytes for a body and a detached signature (for external signers). */
export function assembleTx(bodyBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) fail('bad_signature', 'signature', 'signature must be 64 bytes');
  return encodeCanonical([bodyBytes, signature]);
}

export function computeTxid(bodyBytes: Uint8Array): Uint8Array {
  return sha256(bodyBytes);
}

/**
 * Build and sign a transaction. With `limits`, the result is fully checked (as a node would) so a
 * client never signs something every node will reject.
 */
export function buildTx(fields: TxFields, secretKey: Uint8Array, limits?: TxLimits): SignedTx {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) fail('bad_secret_key', 'secretKey', 'secretKey must be a 32-byte Ed25519 seed');
  const sender = publicKeyOf(secretKey);
  const bodyBytes = encodeTxBody({ ...fields, sender });
  const signature = signEd25519(bodyBytes, secretKey);
  const bytes = assembleTx(bodyBytes, signature);
  const loose: TxLimits = limits ?? { shards: 2 ** 31, layers: 2 ** 31, slots: 2 ** 31, dim: fields.op.op === 'add' ? fields.op.vec.length : 0, q: U32_MAX, bound: 0x7fff_ffff, maxTxBytes: bytes.length };
  return decodeTx(bytes, loose);
}

// ---------------------------------------------------------------- decoding

function decodeStrict(bytes: Uint8Array, maxBytes: number, field: string): Canon {
  try {
    return decodeCanonical(bytes, maxBytes);
  } catch (e) {
    if (e instanceof CanonicalError) {
      const code: TxErrorCode = /non-canonical/.test(e.message) ? 'non_canonical' : 'malformed';
      fail(code, field, `${field}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Decode wire bytes into a transaction, checking every field against `limits` and rejecting any
 * non-canonical encoding (of the envelope or of the body). Does NOT verify the signature: callers
 * verify `signature` over `bodyBytes` — the exact bytes received — with their Verifier (admission
 * budgets differ from consensus verification, and verified txs are cached).
 */
export function decodeTx(bytes: Uint8Array, limits: TxLimits): SignedTx {
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'tx', 'transaction must be bytes');
  if (bytes.length > limits.maxTxBytes) fail('too_large', 'tx', `transaction of ${bytes.length} bytes exceeds ${limits.maxTxBytes}`);
  const env = decodeStrict(bytes, limits.maxTxBytes, 'tx');
  if (!Array.isArray(env) || env.length !== 2) fail('malformed', 'tx', 'transaction must be [body, signature]');
  const [bodyBytes, signature] = env as readonly Canon[];
  if (!(bodyBytes instanceof Uint8Array)) fail('malformed', 'body', 'body must be bytes');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) fail('bad_signature', 'signature', 'signature must be 64 bytes');
  const f = decodeStrict(bodyBytes, limits.maxTxBytes, 'body');
  if (!Array.isArray(f) || f.length !== 10) fail('malformed', 'body', 'body must be an array of 10 fields');
  const [domain, chainId, sender, nonce, validUntil, opCode, shard, layer, slot, arg] = f as readonly Canon[];
  if (domain !== TX_DOMAIN) fail('bad_domain', 'domain', `domain tag must be '${TX_DOMAIN}'`);
  const opName = isInt(opCode) ? OP_NAMES[opCode] : undefined;
  const body: TxBody = {
    chainId: checkChainId(chainId),
    sender: checkSender(sender),
    nonce: checkU32(nonce, 'bad_nonce', 'nonce'),
    validUntil: checkU32(validUntil, 'bad_valid_until', 'validUntil'),
    op: checkOp(wireOp(opName ?? fail('bad_op', 'opCode', 'opCode must be 0 (add), 1 (decay), 2 (mix) or 3 (clip)'), shard, layer, slot, arg, limits), limits),
  };
  const txid = computeTxid(bodyBytes);
  return { bytes, bodyBytes, signature, txid, txidHex: toHex(txid), body };
}

function wireOp(op: TxOpName, shard: Canon | undefined, layer: Canon | undefined, slot: Canon | undefined, arg: Canon | undefined, limits: TxLimits): RawOp {
  const base = { shard, layer, slot };
  switch (op) {
    case 'add':
      if (!(arg instanceof Uint8Array)) fail('bad_vec_length', 'vec', 'add argument must be bytes of int32 little-endian values');
      return { op, ...base, vec: bytesToVec(arg, limits) };
    case 'decay':
      return { op, ...base, factor: arg };
    case 'mix':
      if (!Array.isArray(arg) || arg.length !== 2) fail('bad_src', 'src', 'mix argument must be [src, alpha]');
      return { op, ...base, src: arg[0], alpha: arg[1] };
    case 'clip':
      return { op, ...base, bound: arg };
  }
}

/** The op to hand to MaEngine.check/apply. */
export function txMaOp(tx: SignedTx | TxBody): TxOp {
  return 'body' in tx ? tx.body.op : tx.op;
}

// ---------------------------------------------------------------- JSON form (HTTP API)

/** JSON form of a transaction; maps 1:1 onto the canonical body plus the signature. */
export interface TxJson {
  chainId: string;
  /** hex, 32 bytes */
  sender: string;
  nonce: number;
  validUntil: number;
  op: TxOpName;
  shard: number;
  layer: number;
  slot: number;
  vec?: number[];
  factor?: number | null;
  src?: number;
  alpha?: number;
  bound?: number;
  /** hex, 64 bytes */
  signature: string;
  /** hex SHA-256 of the body; optional on input, checked when present */
  txid?: string;
}

export function txToJson(tx: SignedTx): TxJson {
  const { body } = tx;
  const op = body.op;
  const base = { chainId: body.chainId, sender: toHex(body.sender), nonce: body.nonce, validUntil: body.validUntil, op: op.op, shard: op.shard, layer: op.layer, slot: op.slot };
  const arg =
    op.op === 'add' ? { vec: Array.from(op.vec) }
    : op.op === 'decay' ? { factor: op.factor }
    : op.op === 'mix' ? { src: op.src, alpha: op.alpha }
    : { bound: op.bound };
  return { ...base, ...arg, signature: toHex(tx.signature), txid: tx.txidHex };
}

const COMMON_KEYS = ['chainId', 'sender', 'nonce', 'validUntil', 'op', 'shard', 'layer', 'slot', 'signature', 'txid'];
const ARG_KEYS: Record<TxOpName, readonly string[]> = { add: ['vec'], decay: ['factor'], mix: ['src', 'alpha'], clip: ['bound'] };

function hexField(v: unknown, field: string, length: number, code: TxErrorCode): Uint8Array {
  try {
    return fromHex(v, field, length);
  } catch (e) {
    if (e instanceof HexError) fail(code, field, e.message);
    throw e;
  }
}

/**
 * Parse the JSON form (as sent to the HTTP API) into a transaction with the same bytes a binary
 * client would have sent. Unknown keys and keys that belong to another op are rejected.
 * Like decodeTx, does not verify the signature.
 */
export function txFromJson(json: unknown, limits: TxLimits): SignedTx {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('malformed', 'tx', 'transaction JSON must be an object');
  const j = json as Record<string, unknown>;
  const opName = j.op;
  if (typeof opName !== 'string' || !(OP_NAMES as readonly string[]).includes(opName)) fail('bad_op', 'op', "op must be 'add', 'decay', 'mix' or 'clip'");
  const op = opName as TxOpName;
  for (const k of Object.keys(j)) {
    if (!COMMON_KEYS.includes(k) && !ARG_KEYS[op].includes(k)) fail('malformed', k, `unexpected field '${k}' for op '${op}'`);
  }
  let vec: Int32Array | undefined;
  if (op === 'add') {
    const v = j.vec;
    if (!Array.isArray(v)) fail('bad_vec_length', 'vec', 'vec must be an array of integers');
    if (v.length !== limits.dim) fail('bad_vec_length', 'vec', `vec must have ${limits.dim} values, got ${v.length}`);
    vec = new Int32Array(v.length);
    v.forEach((x: unknown, i: number) => {
      if (!isInt(x) || x > limits.bound || x < -limits.bound) fail('bad_vec_value', `vec[${i}]`, `vec[${i}] must be an integer in [-${limits.bound}, ${limits.bound}]`);
      vec![i] = x;
    });
  }
  const body: TxBody = {
    chainId: checkChainId(j.chainId),
    sender: hexField(j.sender, 'sender', 32, 'bad_sender'),
    nonce: checkU32(j.nonce, 'bad_nonce', 'nonce'),
    validUntil: checkU32(j.validUntil, 'bad_valid_until', 'validUntil'),
    op: checkOp({ op, shard: j.shard, layer: j.layer, slot: j.slot, vec, factor: j.factor ?? null, src: j.src, alpha: j.alpha, bound: j.bound }, limits),
  };
  const signature = hexField(j.signature, 'signature', 64, 'bad_signature');
  const tx = decodeTx(assembleTx(encodeTxBody(body), signature), limits);
  if (j.txid !== undefined && j.txid !== tx.txidHex) fail('bad_txid', 'txid', 'txid does not match SHA-256 of the body');
  return tx;
}
