// The wire envelope: each frame body is one msgpack array whose first element is the message type.
//
//   HELLO      [1, version, chainId, fromIndex, toIndex, epoch, challenge(32)]
//   CHALLENGE  [2, version, chainId, fromIndex, toIndex, epoch, challenge(32), signature(64)]
//   AUTH       [3, signature(64)]
//   ACK        [4, [id, ...]]
//   PING/PONG  [5|6, nonce]
//   TXGOSSIP   [23, ttl, payload]
//   other app  [type, id, payload]          (critical: acknowledged, retried, deduplicated)
//
// The envelope is not signed or hashed, so it need not be canonical; it is validated field by field
// instead. Consensus payloads are opaque bytes here: the consensus layer encodes and verifies them.
import { Packr } from 'msgpackr';
import { CANONICAL_PACKR_OPTIONS } from '../codec/canonical.ts';
import { NetError } from './errors.ts';

export const MsgType = {
  HELLO: 1,
  CHALLENGE: 2,
  AUTH: 3,
  ACK: 4,
  PING: 5,
  PONG: 6,
  PROPOSAL: 16,
  VOTE: 17,
  TIMEOUT: 18,
  /** A QC and/or a TC relayed (consensus `cert`). */
  CERT: 19,
  /** Equivocation evidence. */
  EVIDENCE: 20,
  /** A proof-of-capacity commit or answer (consensus `poc`). (22 is unused and refused.) */
  POC: 21,
  TXGOSSIP: 23,
  SYNC_REQUEST: 24,
  SYNC_RESPONSE: 25,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];
export type MsgTypeName = keyof typeof MsgType;

/** Types an application may send; everything else belongs to the transport itself. */
export type AppMsgType =
  | typeof MsgType.PROPOSAL
  | typeof MsgType.VOTE
  | typeof MsgType.TIMEOUT
  | typeof MsgType.CERT
  | typeof MsgType.EVIDENCE
  | typeof MsgType.POC
  | typeof MsgType.TXGOSSIP
  | typeof MsgType.SYNC_REQUEST
  | typeof MsgType.SYNC_RESPONSE;

/** Critical app types: everything an app sends except TXGOSSIP. */
export type CriticalMsgType = Exclude<AppMsgType, typeof MsgType.TXGOSSIP>;

export const MSG_TYPE_NAMES: readonly MsgTypeName[] = Object.keys(MsgType) as MsgTypeName[];
const NAME_BY_NUMBER = new Map<number, MsgTypeName>(MSG_TYPE_NAMES.map((n) => [MsgType[n], n]));

export function msgTypeName(t: number): MsgTypeName | undefined {
  return NAME_BY_NUMBER.get(t);
}
export function isAppType(t: number): t is AppMsgType {
  return t >= MsgType.PROPOSAL && t <= MsgType.SYNC_RESPONSE && t !== 22;
}
export function isCriticalType(t: number): t is CriticalMsgType {
  return isAppType(t) && t !== MsgType.TXGOSSIP;
}

export const PROTOCOL_VERSION = 1;
export const CHALLENGE_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** ACK frames carry at most this many ids; senders split larger batches. */
export const MAX_ACK_IDS = 4096;
export const MAX_GOSSIP_TTL = 255;
const MAX_CHAIN_ID_LENGTH = 128;

export interface HelloMsg {
  readonly type: typeof MsgType.HELLO;
  readonly version: number;
  readonly chainId: string;
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly challenge: Uint8Array;
}
export interface ChallengeMsg extends Omit<HelloMsg, 'type'> {
  readonly type: typeof MsgType.CHALLENGE;
  readonly signature: Uint8Array;
}
export interface AuthMsg {
  readonly type: typeof MsgType.AUTH;
  readonly signature: Uint8Array;
}
export interface AckMsg {
  readonly type: typeof MsgType.ACK;
  readonly ids: readonly number[];
}
export interface PingMsg {
  readonly type: typeof MsgType.PING | typeof MsgType.PONG;
  readonly nonce: number;
}
export interface GossipMsg {
  readonly type: typeof MsgType.TXGOSSIP;
  readonly ttl: number;
  readonly payload: Uint8Array;
}
export interface CriticalMsg {
  readonly type: CriticalMsgType;
  readonly id: number;
  readonly payload: Uint8Array;
}
export type Message = HelloMsg | ChallengeMsg | AuthMsg | AckMsg | PingMsg | GossipMsg | CriticalMsg;

const packr = new Packr(CANONICAL_PACKR_OPTIONS);

// msgpackr writes integers above 32 bits as float64; pass them as bigint so they stay integers.
function wireInt(n: number): number | bigint {
  return n > 0xffffffff ? BigInt(n) : n;
}

/** Encode a message body (without the length prefix). */
export function encodeMessage(m: Message): Uint8Array {
  let arr: unknown[];
  switch (m.type) {
    case MsgType.HELLO:
      arr = [m.type, m.version, m.chainId, m.from, m.to, wireInt(m.epoch), m.challenge];
      break;
    case MsgType.CHALLENGE:
      arr = [m.type, m.version, m.chainId, m.from, m.to, wireInt(m.epoch), m.challenge, m.signature];
      break;
    case MsgType.AUTH:
      arr = [m.type, m.signature];
      break;
    case MsgType.ACK:
      arr = [m.type, m.ids.map(wireInt)];
      break;
    case MsgType.PING:
    case MsgType.PONG:
      arr = [m.type, m.nonce];
      break;
    case MsgType.TXGOSSIP:
      arr = [m.type, m.ttl, m.payload];
      break;
    default:
      arr = [m.type, wireInt(m.id), m.payload];
  }
  return packr.pack(arr);
}

/**
 * The whole length-prefixed frame for an application message ([type, id, payload] or
 * [TXGOSSIP, ttl, payload]) in one allocation and one copy of the payload: the hot path for
 * large SYNC_RESPONSE and PROPOSAL payloads. Byte-identical to encodeFrame(encodeMessage(m)).
 */
export function encodeAppFrame(type: AppMsgType, idOrTtl: number, payload: Uint8Array): Uint8Array {
  const n = payload.byteLength;
  const intLen = idOrTtl < 0x80 ? 1 : idOrTtl <= 0xff ? 2 : idOrTtl <= 0xffff ? 3 : idOrTtl <= 0xffffffff ? 5 : 9;
  const binHead = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
  const bodyLen = 2 + intLen + binHead + n; // fixarray marker + type fixint + id + bin header + payload
  const out = new Uint8Array(4 + bodyLen);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, bodyLen);
  let o = 4;
  out[o++] = 0x93;
  out[o++] = type; // all types are < 0x80: positive fixint
  if (intLen === 1) out[o++] = idOrTtl;
  else if (intLen === 2) (out[o++] = 0xcc), (out[o++] = idOrTtl);
  else if (intLen === 3) (out[o++] = 0xcd), dv.setUint16(o, idOrTtl), (o += 2);
  else if (intLen === 5) (out[o++] = 0xce), dv.setUint32(o, idOrTtl), (o += 4);
  else (out[o++] = 0xd3), dv.setBigInt64(o, BigInt(idOrTtl)), (o += 8); // int64, as msgpackr writes bigints
  if (binHead === 2) (out[o++] = 0xc4), (out[o++] = n);
  else if (binHead === 3) (out[o++] = 0xc5), dv.setUint16(o, n), (o += 2);
  else (out[o++] = 0xc6), dv.setUint32(o, n), (o += 4);
  out.set(payload, o);
  return out;
}

/** Decode and validate one frame body. Throws NetError (malformed_frame, unknown_type, bad_field). */
export function decodeMessage(body: Uint8Array): Message {
  let v: unknown;
  try {
    v = packr.unpack(body);
  } catch (e) {
    // Includes trailing bytes after the value and RangeError from absurd nesting.
    throw new NetError('malformed_frame', `frame body is not one msgpack value: ${(e as Error).message}`, 'body');
  }
  if (!Array.isArray(v) || v.length === 0) throw new NetError('bad_field', 'envelope must be a non-empty array', 'envelope');
  const t = v[0];
  if (typeof t !== 'number' || msgTypeName(t) === undefined) {
    throw new NetError('unknown_type', `unknown message type ${String(t)}`, 'type');
  }
  switch (t) {
    case MsgType.HELLO:
    case MsgType.CHALLENGE: {
      arity(v, t === MsgType.HELLO ? 7 : 8, t);
      const base = {
        version: uint(v[1], 'version', 0xffff),
        chainId: str(v[2], 'chainId', MAX_CHAIN_ID_LENGTH),
        from: uint(v[3], 'from', 0xffff),
        to: uint(v[4], 'to', 0xffff),
        epoch: uint(v[5], 'epoch', Number.MAX_SAFE_INTEGER),
        challenge: bytes(v[6], 'challenge', CHALLENGE_BYTES, CHALLENGE_BYTES),
      };
      if (t === MsgType.HELLO) return { type: t, ...base };
      return { type: t, ...base, signature: bytes(v[7], 'signature', SIGNATURE_BYTES, SIGNATURE_BYTES) };
    }
    case MsgType.AUTH:
      arity(v, 2, t);
      return { type: t, signature: bytes(v[1], 'signature', SIGNATURE_BYTES, SIGNATURE_BYTES) };
    case MsgType.ACK: {
      arity(v, 2, t);
      const raw = v[1];
      if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_ACK_IDS) {
        throw new NetError('bad_field', `ACK ids must be an array of 1..${MAX_ACK_IDS} ids`, 'ids');
      }
      return { type: t, ids: raw.map((x) => positive(x, 'ids')) };
    }
    case MsgType.PING:
    case MsgType.PONG:
      arity(v, 2, t);
      return { type: t, nonce: uint(v[1], 'nonce', 0xffffffff) };
    case MsgType.TXGOSSIP:
      arity(v, 3, t);
      return { type: t, ttl: uint(v[1], 'ttl', MAX_GOSSIP_TTL), payload: bytes(v[2], 'payload', 0, Infinity) };
    default:
      arity(v, 3, t);
      return { type: t as CriticalMsgType, id: positive(v[1], 'id'), payload: bytes(v[2], 'payload', 0, Infinity) };
  }
}

function arity(v: unknown[], n: number, t: number): void {
  if (v.length !== n) throw new NetError('bad_field', `${msgTypeName(t)} envelope must have ${n} elements, has ${v.length}`, 'envelope');
}

function uint(x: unknown, field: string, max: number): number {
  const n = typeof x === 'bigint' && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new NetError('bad_field', `${field} must be an integer in [0, ${max}]`, field);
  }
  return n;
}

function positive(x: unknown, field: string): number {
  const n = uint(x, field, Number.MAX_SAFE_INTEGER);
  if (n === 0) throw new NetError('bad_field', `${field} must be positive`, field);
  return n;
}

function str(x: unknown, field: string, maxLength: number): string {
  if (typeof x !== 'string' || x.length > maxLength) throw new NetError('bad_field', `${field} must be a string of at most ${maxLength} characters`, field);
  return x;
}

// Copy bin fields into a plain Uint8Array: msgpackr hands out views into the frame, and a small
// payload kept by the app must not pin a 64 KiB socket chunk.
function bytes(x: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(x instanceof Uint8Array) || x.byteLength < min || x.byteLength > max) {
    throw new NetError('bad_field', `${field} must be bytes (length ${min}..${max})`, field);
  }
  return new Uint8Array(x);
}
