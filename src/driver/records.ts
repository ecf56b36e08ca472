// What one line of the block log holds: the canonical block and the QC that certifies it (so the
// block can be re-verified and served to peers), the state root after it, and its receipts.
import { decodeCanonical, encodeCanonical } from '../codec/canonical.ts';
import type { CommitResult } from '../chain/app.ts';
import type { Receipt } from '../chain/receipts.ts';
import { blockFromCanon, encodeBlock, qcFromCanon, qcToCanon } from '../consensus/block.ts';
import type { Block, QC } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import { LOG_JSON, type LogRecord } from '../util/log-record.ts';

export interface BlockRecord extends LogRecord {
  readonly h: number;
  readonly hash: string;
  /** base64 of the canonical block (header + txs) */
  readonly block: string;
  /** base64 of the canonical QC certifying this block */
  readonly qc: string;
  /** hex state root after this block */
  readonly root: string;
  readonly receipts: readonly Receipt[];
}

export interface DecodedRecord {
  readonly block: Block;
  readonly qc: QC;
  readonly root: string;
  readonly receipts: readonly Receipt[];
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

export function makeRecord(block: Block, qc: QC, result: CommitResult): BlockRecord {
  const rec = {
    h: block.header.height,
    hash: toHex(block.hash),
    block: b64(encodeBlock(block)),
    qc: b64(encodeCanonical(qcToCanon(qc))),
    root: toHex(result.stateRoot),
    receipts: result.receipts,
  };
  // JSON.stringify(rec), assembled: the block's base64 (most of the line) needs no escaping, and
  // the generic serializer would scan it character by character (~1 µs per transaction). In parts,
  // so the log writes the base64 where it is instead of copying it into one joined string first.
  const json = [`{"h":${rec.h},"hash":"${rec.hash}","block":"`, rec.block, `","qc":"${rec.qc}","root":"${rec.root}","receipts":${JSON.stringify(rec.receipts)}}`];
  return { ...rec, [LOG_JSON]: json };
}

export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** Decode a log line; throws RecordError naming the height when anything does not fit. */
export function decodeRecord(r: LogRecord, maxTxs: number, maxTxBytes: number): DecodedRecord {
  const rec = r as Partial<BlockRecord>;
  const h = r.h;
  if (typeof rec.block !== 'string' || typeof rec.qc !== 'string' || typeof rec.root !== 'string' || !Array.isArray(rec.receipts)) {
    throw new RecordError(`block log record at height ${h} is missing block, qc, root or receipts`);
  }
  const block = blockFromCanon(decodeCanonical(unb64(rec.block), 64 << 20), 'block', maxTxs, maxTxBytes);
  const qc = qcFromCanon(decodeCanonical(unb64(rec.qc)), 'qc');
  if (block.header.height !== h) throw new RecordError(`block log record at height ${h} holds a block of height ${block.header.height}`);
  if (toHex(qc.blockHash) !== toHex(block.hash)) throw new RecordError(`block log record at height ${h}: the QC does not certify the block`);
  return { block, qc, root: rec.root, receipts: rec.receipts };
}

export { b64, unb64 };
