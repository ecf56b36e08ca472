/*
 * The block log's line format: one JSON record per line, each line carrying its own checksum.
 *
 * Line format (bytes):   <crc32 as 8 lowercase hex> <SP> <json> <LF>
 *   - crc32 is CRC-32 (IEEE 802.3, zlib's crc32) over exactly the UTF-8 bytes of <json>.
 *   - <json> is JSON.stringify of the caller's record; it never contains a raw LF.
 *     The writer puts the integer field "h" (height) first, so the open-time scan reads the
 *     height from the line prefix without parsing the whole record.
 *   - Heights are contiguous, starting at 1; line N of the file holds height N.
 */
import { crc32 } from 'node:zlib';
import { StoreError } from './errors.ts';
import { LOG_JSON, type LogRecord } from '../util/log-record.ts';

export const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
export const HEADER_BYTES = 9; // 8 hex + space
export const LF = 0x0a;
const SPACE = 0x20;
// `{"h":` as bytes
const H_PREFIX = [0x7b, 0x22, 0x68, 0x22, 0x3a];

export type LineCheck = { ok: true; height: number } | { ok: false; reason: string };

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Validate one line (without its LF): checksum, then height. */
export function checkLine(line: Uint8Array): LineCheck {
  if (line.length < HEADER_BYTES + 2) return { ok: false, reason: 'line too short' };
  let want = 0;
  for (let i = 0; i < 8; i++) {
    const v = hexVal(line[i]!);
    if (v < 0) return { ok: false, reason: 'bad checksum field' };
    want = want * 16 + v;
  }
  if (line[8] !== SPACE) return { ok: false, reason: 'bad checksum field' };
  const json = line.subarray(HEADER_BYTES);
  if (crc32(json) !== want) return { ok: false, reason: 'checksum mismatch' };
  const h = readHeightPrefix(json);
  if (h !== null) return { ok: true, height: h };
  // Checksum-valid but not in the writer's usual shape: fall back to a full parse.
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.length).toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid JSON' };
  }
  const ph = (parsed as { h?: unknown } | null)?.h;
  if (typeof ph === 'number' && Number.isSafeInteger(ph) && ph >= 1) return { ok: true, height: ph };
  return { ok: false, reason: 'record has no integer field h >= 1' };
}

/** Height from a JSON text starting `{"h":<digits>` followed by `,` or `}`; null if not in that shape. */
function readHeightPrefix(json: Uint8Array): number | null {
  for (let i = 0; i < H_PREFIX.length; i++) if (json[i] !== H_PREFIX[i]) return null;
  let i = H_PREFIX.length;
  let h = 0;
  const start = i;
  while (i < json.length && json[i]! >= 0x30 && json[i]! <= 0x39) {
    h = h * 10 + (json[i]! - 0x30);
    i++;
  }
  const digits = i - start;
  if (digits === 0 || digits > 15 || (digits > 1 && json[start] === 0x30)) return null;
  if (json[i] !== 0x2c && json[i] !== 0x7d) return null;
  return h >= 1 ? h : null;
}

function toHex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * The line at buf[s..e) (LF included) verified to be the record for `height`: its JSON text, or a
 * `log_corrupt` StoreError naming the height and byte offset in `path`.
 */
export function verifiedLineText(buf: Buffer, s: number, e: number, height: number, fileOffset: number, path: string): string {
  const bad = (reason: string): StoreError =>
    new StoreError('log_corrupt', `block log ${path}: height ${height} at byte offset ${fileOffset} (line ${height}) is corrupt: ${reason}`, {
      path,
      offset: fileOffset,
      line: height,
    });
  if (e - s < HEADER_BYTES + 3 || buf[e - 1] !== LF) throw bad('missing line end');
  const check = checkLine(buf.subarray(s, e - 1));
  if (!check.ok) throw bad(check.reason);
  if (check.height !== height) throw bad(`holds height ${check.height}`);
  return buf.toString('utf8', s + HEADER_BYTES, e - 1);
}

/**
 * `records` as log lines for heights firstHeight.. in one buffer, with each line's start. The whole
 * batch is validated first, so a bad record throws before anything is written.
 */
export function encodeLines(records: readonly LogRecord[], firstHeight: number, maxLineBytes: number, path: string): { bytes: Buffer; lineStarts: number[] } {
  const jsons: (readonly string[])[] = [];
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const want = firstHeight + i;
    const rec = records[i];
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      throw new StoreError('bad_record', `append: records[${i}] must be an object`);
    }
    const h = rec.h;
    if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 1) {
      throw new StoreError('bad_record', `append: records[${i}].h must be an integer >= 1, got ${String(h)}`);
    }
    if (h !== want) {
      const code = h < want ? 'height_repeat' : 'height_gap';
      throw new StoreError(code, `append: records[${i}].h is ${h} but the next height is ${want}`, { path });
    }
    const json = stringify(rec, i, want);
    let jsonBytes = 0;
    for (const part of json) jsonBytes += Buffer.byteLength(part, 'utf8');
    const lineBytes = HEADER_BYTES + jsonBytes + 1;
    if (lineBytes > maxLineBytes) {
      throw new StoreError('line_too_large', `append: records[${i}] (height ${h}) is ${lineBytes} bytes as a log line; the limit is ${maxLineBytes}`, {
        path,
      });
    }
    jsons.push(json);
    total += lineBytes;
  }
  const bytes = Buffer.allocUnsafe(total);
  const lineStarts: number[] = [];
  let pos = 0;
  for (const json of jsons) {
    lineStarts.push(pos);
    const jsonStart = pos + HEADER_BYTES;
    let n = 0;
    for (const part of json) n += bytes.write(part, jsonStart + n, 'utf8');
    const sum = crc32(bytes.subarray(jsonStart, jsonStart + n));
    bytes.write(toHex8(sum), pos, 'latin1');
    bytes[pos + 8] = SPACE;
    bytes[jsonStart + n] = LF;
    pos = jsonStart + n + 1;
  }
  return { bytes, lineStarts };
}

/** JSON text with "h" first, so the open-time scan can read the height without a full parse; in parts, to be written one after the other. */
function stringify(rec: LogRecord, index: number, height: number): readonly string[] {
  const own = rec[LOG_JSON];
  if (own !== undefined) {
    // The writer's own text: no fallback to re-serialising (that would hide its bug), and the
    // line format forbids a raw LF, which JSON.stringify never emits but hand-built text could.
    const parts = typeof own === 'string' ? [own] : own;
    const first = parts[0];
    const last = parts[parts.length - 1];
    const shaped =
      Array.isArray(parts) &&
      parts.every((p) => typeof p === 'string' && !p.includes('\n')) &&
      typeof first === 'string' &&
      typeof last === 'string' &&
      (first.startsWith(`{"h":${height},`) || (parts.length === 1 && first === `{"h":${height}}`)) &&
      last.endsWith('}');
    if (!shaped) throw new StoreError('bad_record', `append: records[${index}] carries JSON text that is not one line holding an object whose first field is h=${height}`);
    return parts;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(rec);
    if (json !== undefined && !json.startsWith(`{"h":${height},`) && json !== `{"h":${height}}`) {
      json = JSON.stringify(Object.assign({ h: rec.h }, rec));
    }
  } catch (e) {
    throw new StoreError('bad_record', `append: records[${index}] is not JSON-serialisable: ${(e as Error).message}`, { cause: e });
  }
  if (json === undefined || !json.startsWith('{')) {
    throw new StoreError('bad_record', `append: records[${index}] does not serialise to a JSON object`);
  }
  if (!json.startsWith(`{"h":${height},`) && json !== `{"h":${height}}`) {
    // e.g. integer-like keys, which JS always orders first, or a toJSON that rewrites h
    const back = (JSON.parse(json) as { h?: unknown }).h;
    if (back !== height) throw new StoreError('bad_record', `append: records[${index}] serialises with h=${String(back)}, expected ${height}`);
  }
  return [json];
}
