// Wire messages between validators. Each is a canonical array ['numchain/msg/v1', kind, ...fields].
// Decoding untrusted bytes validates every field and throws ConsensusError naming it. Signatures
// inside messages cover separately tagged payloads (block.ts), never the message bytes themselves,
// so certificates can be re-assembled and relayed.
import { decodeCanonical, encodeCanonical, CanonicalError, type Canon } from '../codec/canonical.ts';
import {
  blockFromCanon, blockToCanon, headerToCanon, evidenceFromCanon, evidenceToCanon, MAX_POC_ITEM_BYTES, qcFromCanon, qcToCanon, tcOrNullFromCanon, tcToCanon,
} from './block.ts';
import { arr, bytes, str, uint } from './decode-util.ts';
import { ConsensusError, fail } from './errors.ts';
import type { Block, Evidence, QC, TC } from './types.ts';

export const TAG_MSG = 'numchain/msg/v1';

export interface ProposalMsg { readonly type: 'proposal'; readonly block: Block; readonly sig: Uint8Array; readonly highTC: TC | null }
export interface VoteMsg {
  readonly type: 'vote'; readonly round: number; readonly height: number; readonly blockHash: Uint8Array;
  readonly voter: number; readonly sig: Uint8Array; readonly highQC: QC; readonly highTC: TC | null;
}
export interface TimeoutMsg {
  readonly type: 'timeout'; readonly round: number; readonly voter: number; readonly highQC: QC; readonly highTC: TC | null; readonly sig: Uint8Array;
}
/** A QC and/or TC relayed so that lagging nodes jump rounds. */
export interface CertMsg { readonly type: 'cert'; readonly qc: QC; readonly tc: TC | null }
/** Ask for the blocks from height `fromHeight` up to the block `toHash` (ascending, bounded). */
export interface SyncRequestMsg { readonly type: 'sync_request'; readonly fromHeight: number; readonly toHash: Uint8Array }
/** Ascending consecutive blocks; `qc` certifies the last one when the sender has it. */
export interface SyncResponseMsg { readonly type: 'sync_response'; readonly blocks: readonly Block[]; readonly qc: QC | null }
export interface EvidenceMsg { readonly type: 'evidence'; readonly evidence: Evidence }
/** A signed PoC commit or answer (src/poc/wire.ts), gossiped so that whoever leads next includes it. */
export interface PocMsg { readonly type: 'poc'; readonly item: Uint8Array }

export type ConsensusMessage = ProposalMsg | VoteMsg | TimeoutMsg | CertMsg | SyncRequestMsg | SyncResponseMsg | EvidenceMsg | PocMsg;
export type MessageType = ConsensusMessage['type'];

const qcOrNull = (q: QC | null): Canon => (q === null ? null : qcToCanon(q));
const tcOrNull = (t: TC | null): Canon => (t === null ? null : tcToCanon(t));

export function messageToCanon(m: ConsensusMessage): Canon {
  switch (m.type) {
    case 'proposal': return [TAG_MSG, m.type, blockToCanon(m.block), m.sig, tcOrNull(m.highTC)];
    case 'vote': return [TAG_MSG, m.type, m.round, m.height, m.blockHash, m.voter, m.sig, qcToCanon(m.highQC), tcOrNull(m.highTC)];
    case 'timeout': return [TAG_MSG, m.type, m.round, m.voter, qcToCanon(m.highQC), tcOrNull(m.highTC), m.sig];
    case 'cert': return [TAG_MSG, m.type, qcToCanon(m.qc), tcOrNull(m.tc)];
    case 'sync_request': return [TAG_MSG, m.type, m.fromHeight, m.toHash];
    case 'sync_response': return [TAG_MSG, m.type, m.blocks.map(blockToCanon), qcOrNull(m.qc)];
    case 'evidence': return [TAG_MSG, m.type, evidenceToCanon(m.evidence)];
    case 'poc': return [TAG_MSG, m.type, m.item];
  }
}

export function encodeMessage(m: ConsensusMessage): Uint8Array {
  return encodeCanonical(messageToCanon(m));
}

export interface DecodeLimits { readonly maxMessageBytes: number; readonly maxSyncBlocks: number; readonly maxTxsPerBlock: number; readonly maxBlockBytes: number }

const DEFAULT_DECODE: DecodeLimits = { maxMessageBytes: 4 << 20, maxSyncBlocks: 64, maxTxsPerBlock: 100_000, maxBlockBytes: 1 << 20 };

// Room left in a sync_response for its QC (64 validators' signatures at most) and the envelope.
const SYNC_RESPONSE_RESERVE = 64 << 10;

/**
 * Bytes the blocks of one sync_response may take so that it still decodes under `limits` (and so fits
 * the transport frame, which is larger): blocks hold up to maxBlockBytes of transactions, so a block
 * count alone would not bound the message.
 */
export function syncResponseBudget(limits: DecodeLimits): number {
  return Math.max(0, limits.maxMessageBytes - SYNC_RESPONSE_RESERVE);
}

/**
 * Encoded size of a block inside a sync_response, to fill one up to syncResponseBudget(): the header
 * is encoded, the transactions only counted (the encoder writes the shortest bin and array headers,
 * as codec/canonical.ts checks), so measuring does not copy megabytes the response encodes anyway.
 */
export function syncBlockBytes(b: Block): number {
  const n = b.txs.length;
  let size = 1 + encodeCanonical(headerToCanon(b.header)).length + (n < 16 ? 1 : n < 65536 ? 3 : 5);
  for (const t of b.txs) size += t.length + (t.length < 256 ? 2 : t.length < 65536 ? 3 : 5);
  return size;
}

/** Decode untrusted bytes. Throws ConsensusError (code 'bad_encoding', 'bad_field', 'bad_tag', ...). */
export function decodeMessage(b: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE): ConsensusMessage {
  let v: Canon;
  try {
    v = decodeCanonical(b, limits.maxMessageBytes);
  } catch (e) {
    if (e instanceof CanonicalError) throw new ConsensusError('bad_encoding', 'message', e.message);
    throw e;
  }
  const a = arr(v, 'message', undefined, 16);
  if (a[0] !== TAG_MSG) fail('bad_tag', 'message.tag', `expected ${TAG_MSG}`);
  const type = str(a[1], 'message.type', 32);
  const n = (len: number) => { if (a.length !== len) fail('bad_field', 'message', `${type} must have ${len} fields, got ${a.length}`); };
  switch (type) {
    case 'proposal':
      n(5);
      return { type, block: blockFromCanon(a[2], 'proposal.block', limits.maxTxsPerBlock, limits.maxBlockBytes), sig: bytes(a[3], 'proposal.sig', undefined, 128), highTC: tcOrNullFromCanon(a[4], 'proposal.highTC') };
    case 'vote':
      n(9);
      return {
        type, round: uint(a[2], 'vote.round'), height: uint(a[3], 'vote.height'), blockHash: bytes(a[4], 'vote.blockHash', 32),
        voter: uint(a[5], 'vote.voter', 63), sig: bytes(a[6], 'vote.sig', undefined, 128), highQC: qcFromCanon(a[7], 'vote.highQC'), highTC: tcOrNullFromCanon(a[8], 'vote.highTC'),
      };
    case 'timeout':
      n(7);
      return {
        type, round: uint(a[2], 'timeout.round'), voter: uint(a[3], 'timeout.voter', 63), highQC: qcFromCanon(a[4], 'timeout.highQC'),
        highTC: tcOrNullFromCanon(a[5], 'timeout.highTC'), sig: bytes(a[6], 'timeout.sig', undefined, 128),
      };
    case 'cert':
      n(4);
      return { type, qc: qcFromCanon(a[2], 'cert.qc'), tc: tcOrNullFromCanon(a[3], 'cert.tc') };
    case 'sync_request':
      n(4);
      return { type, fromHeight: uint(a[2], 'sync_request.fromHeight'), toHash: bytes(a[3], 'sync_request.toHash', 32) };
    case 'sync_response': {
      n(4);
      const blocks = arr(a[2], 'sync_response.blocks', undefined, limits.maxSyncBlocks).map((x, i) => blockFromCanon(x, `sync_response.blocks[${i}]`, limits.maxTxsPerBlock, limits.maxBlockBytes));
      return { type, blocks, qc: a[3] === null ? null : qcFromCanon(a[3], 'sync_response.qc') };
    }
    case 'evidence':
      n(3);
      return { type, evidence: evidenceFromCanon(a[2], 'evidence.evidence') };
    case 'poc':
      n(3);
      return { type, item: bytes(a[2], 'poc.item', undefined, MAX_POC_ITEM_BYTES) };
    default:
      return fail('bad_field', 'message.type', `unknown message type '${type}'`);
  }
}
