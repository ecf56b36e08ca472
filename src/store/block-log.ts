/*
 * Append-only block log: one JSON record per line, each line carrying its own checksum.
 *
 * Line format (bytes):   <crc32 as 8 lowercase hex> <SP> <json> <LF>
 *   - crc32 is CRC-32 (IEEE 802.3, zlib's crc32) over exactly the UTF-8 bytes of <json>.
 *   - <json> is JSON.stringify of the caller's record; it never contains a raw LF.
 *     The writer puts the integer field "h" (height) first, so the open-time scan reads the
 *     height from the line prefix without parsing the whole record.
 *   - Heights are contiguous, starting at 1; line N of the file holds height N.
 *
 * Crash model: a crash can leave a torn tail (a partial line, a line without LF, garbage or
 * zeros after the last good line). At open, bad lines with no good line after them are cut
 * with ftruncate+fsync and reported. A bad line followed by a good line cannot come from an
 * interrupted append, so open refuses with `log_corrupt` naming the byte offset and line.
 *
 * Durability: append() writes (one pwrite per batch) but does not fsync; sync() fsyncs and is
 * shared by concurrent callers (group commit). A record is durable once a sync() that started
 * after its append() resolved has resolved. Any failed write or fsync poisons the log: after
 * an fsync error the kernel may have dropped dirty pages, so the only safe recovery is to
 * restart and rescan the file.
 */
import { open as openFile, stat, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants, fdatasyncSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { StoreError } from './errors.ts';
import { consoleStoreLogger, type StoreLogger } from './logger.ts';
import { LruCache } from './lru-cache.ts';
import { fsyncDir, readFully, writeFully, writeFullySync } from './fs-util.ts';
import { LOG_JSON, type LogRecord } from '../util/log-record.ts';

export { LOG_JSON, type LogRecord } from '../util/log-record.ts';

export interface BlockLogOptions {
  /** Where recovery actions are reported. Default: warnings to stderr. */
  readonly logger?: StoreLogger;
  /** Largest line in bytes, checksum header and LF included. Default 16 MiB. */
  readonly maxLineBytes?: number;
  /** Record cache for read(): entries and total bytes. Defaults 256 entries, 32 MiB. */
  readonly cacheEntries?: number;
  readonly cacheBytes?: number;
  /** Read size for the open-time scan. Default 4 MiB. */
  readonly scanChunkBytes?: number;
  /** Read size for readRange(). Default 1 MiB. */
  readonly rangeBatchBytes?: number;
}

export interface TornTailReport {
  /** Byte offset where the file was cut (start of the first bad line). */
  readonly offset: number;
  /** 1-based line number of the first bad line. */
  readonly line: number;
  readonly bytesCut: number;
  readonly linesCut: number; // including a final line without LF
  readonly reason: string;
}

export interface BlockLogOpenReport {
  readonly path: string;
  readonly created: boolean;
  readonly records: number;
  readonly lastHeight: number;
  readonly bytes: number;
  readonly tornTail: TornTailReport | null;
}

export interface BlockLogStats {
  readonly recordsAppended: number;
  readonly writes: number;
  readonly syncs: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly cacheEvicted: number;
  readonly cacheRefused: number;
}

const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
const HEADER_BYTES = 9; // 8 hex + space
const LF = 0x0a;
const SPACE = 0x20;
// `{"h":` as bytes
const H_PREFIX = [0x7b, 0x22, 0x68, 0x22, 0x3a];

type LineCheck = { ok: true; height: number } | { ok: false; reason: string };

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Validate one line (without its LF): checksum, then height. */
function checkLine(line: Uint8Array): LineCheck {
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

export class BlockLog {
  readonly path: string;
  readonly openReport: BlockLogOpenReport;

  private readonly fh: FileHandle;
  private readonly maxLineBytes: number;
  private readonly rangeBatchBytes: number;
  private readonly cache: LruCache<number, string>;

  /** offsets[i] = byte offset of height i+1. */
  private offsets: Float64Array;
  private count: number; // == lastHeight
  private size: number; // bytes written (not necessarily durable)
  private queuedHeight: number; // last height accepted by append(), written or not
  private syncedSize: number;
  private syncedHeightValue: number;

  private writeChain: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | null = null;
  private failure: StoreError | null = null;
  private closed = false;

  private recordsAppended = 0;
  private writes = 0;
  private syncs = 0;

  private constructor(
    path: string,
    fh: FileHandle,
    opts: BlockLogOptions,
    scan: { offsets: Float64Array; count: number; size: number },
    report: BlockLogOpenReport,
  ) {
    this.path = path;
    this.fh = fh;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
    this.rangeBatchBytes = opts.rangeBatchBytes ?? 1024 * 1024;
    this.cache = new LruCache(opts.cacheEntries ?? 256, opts.cacheBytes ?? 32 * 1024 * 1024);
    this.offsets = scan.offsets;
    this.count = scan.count;
    this.size = scan.size;
    this.queuedHeight = scan.count;
    this.syncedSize = scan.size;
    this.syncedHeightValue = scan.count;
    this.openReport = report;
  }

  /**
   * Open (creating if missing) and scan the log. Cuts a torn tail (reported in `openReport`
   * and via the logger); throws StoreError `log_corrupt`, `height_gap` or `height_repeat`
   * with `offset` and `line` set when the file cannot be trusted.
   */
  static async open(path: string, opts: BlockLogOptions = {}): Promise<BlockLog> {
    const logger = opts.logger ?? consoleStoreLogger;
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 64) {
      throw new StoreError('bad_record', `maxLineBytes must be an integer >= 64, got ${maxLineBytes}`);
    }
    let created = false;
    try {
      await stat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      created = true;
    }
    const fh = await openFile(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    try {
      if (created) await fsyncDir(dirname(path));
      const scan = await scanLog(fh, path, maxLineBytes, opts.scanChunkBytes ?? 4 * 1024 * 1024);
      let tornTail: TornTailReport | null = null;
      if (scan.bad !== null) {
        tornTail = {
          offset: scan.bad.offset,
          line: scan.bad.line,
          bytesCut: scan.fileSize - scan.bad.offset,
          linesCut: scan.badLines,
          reason: scan.bad.reason,
        };
        await fh.truncate(scan.bad.offset);
        await fh.sync();
        logger.warn('block log: cut torn tail left by a crash', { path, ...tornTail });
      }
      const report: BlockLogOpenReport = {
        path,
        created,
        records: scan.count,
        lastHeight: scan.count,
        bytes: scan.size,
        tornTail,
      };
      logger.info('block log opened', { ...report });
      return new BlockLog(path, fh, opts, scan, report);
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  /** Highest height written by append() (may not be durable yet). 0 when empty. */
  get lastHeight(): number {
    return this.count;
  }

  /** Highest height covered by a completed fsync. */
  get syncedHeight(): number {
    return this.syncedHeightValue;
  }

  /** Bytes in the file written so far. */
  get sizeBytes(): number {
    return this.size;
  }

  stats(): BlockLogStats {
    return {
      recordsAppended: this.recordsAppended,
      writes: this.writes,
      syncs: this.syncs,
      cacheHits: this.cache.hits,
      cacheMisses: this.cache.misses,
      cacheEvicted: this.cache.evicted,
      cacheRefused: this.cache.refused,
    };
  }

  /**
   * Append records in one write. Heights must continue the log (after any appends still queued).
   * The whole batch is validated first: on a validation error nothing is written.
   * Not durable until sync() resolves.
   */
  async append(records: readonly LogRecord[]): Promise<void> {
    this.assertUsable();
    if (!Array.isArray(records)) throw new StoreError('bad_record', 'append: records must be an array');
    if (records.length === 0) return;
    const encoded = this.encodeBatch(records, this.queuedHeight + 1);
    this.queuedHeight += records.length;
    const run = this.writeChain.then(() => this.writeBatch(encoded.bytes, encoded.lineStarts));
    this.writeChain = run.catch(() => {});
    return run;
  }

  /** fsync everything appended before this call. Concurrent callers share fsyncs. */
  async sync(): Promise<void> {
    this.assertUsable();
    await this.writeChain;
    if (this.failure) throw this.failure;
    const target = this.size;
    while (this.syncedSize < target) {
      if (this.syncing === null) {
        const coversSize = this.size;
        const coversHeight = this.count;
        this.syncing = this.fh
          .datasync()
          .then(
            () => {
              this.syncs++;
              if (coversSize > this.syncedSize) {
                this.syncedSize = coversSize;
                this.syncedHeightValue = coversHeight;
              }
            },
            (e: unknown) => {
              throw this.poison('fsync', e);
            },
          )
          .finally(() => {
            this.syncing = null;
          });
      }
      await this.syncing;
    }
  }

  async appendAndSync(records: readonly LogRecord[]): Promise<void> {
    await this.append(records);
    await this.sync();
  }

  /**
   * append() + sync() as one synchronous call: durable when it returns. For the node's commit path,
   * where the async pair costs several event-loop turns, each waiting behind every ready RPC handler
   * (hundreds of ms a block under a flood), while the write and fdatasync themselves take ~1–2 ms.
   * Not to be mixed with async appends still in flight.
   */
  appendAndSyncNow(records: readonly LogRecord[]): void {
    this.assertUsable();
    if (!Array.isArray(records)) throw new StoreError('bad_record', 'append: records must be an array');
    if (records.length === 0) return;
    if (this.queuedHeight !== this.count || this.syncing !== null) {
      throw new StoreError('bad_record', `appendAndSyncNow: asynchronous appends or an fsync are still in flight on ${this.path}`);
    }
    const encoded = this.encodeBatch(records, this.queuedHeight + 1);
    this.queuedHeight += records.length;
    const base = this.size;
    try {
      writeFullySync(this.fh.fd, encoded.bytes, base);
    } catch (e) {
      throw this.poison('write', e);
    }
    this.noteWritten(base, encoded.bytes.length, encoded.lineStarts);
    try {
      fdatasyncSync(this.fh.fd);
    } catch (e) {
      throw this.poison('fsync', e);
    }
    this.syncs++;
    this.syncedSize = this.size;
    this.syncedHeightValue = this.count;
  }

  /** The record at `height` (1..lastHeight), read from disk and re-verified, or from the cache. */
  async read(height: number): Promise<LogRecord> {
    return JSON.parse(await this.readJson(height)) as LogRecord;
  }

  /** The record's JSON text exactly as stored (useful to serve peers without re-encoding). */
  async readJson(height: number): Promise<string> {
    this.assertReadable();
    this.checkRange('read', height, height);
    const cached = this.cache.get(height);
    if (cached !== undefined) return cached;
    const start = this.offsets[height - 1]!;
    const end = this.lineEnd(height);
    const buf = Buffer.allocUnsafe(end - start);
    const n = await readFully(this.fh, buf, 0, buf.length, start);
    if (n < buf.length) {
      throw new StoreError('log_corrupt', `block log ${this.path}: file ended inside height ${height} at byte offset ${start + n}`, {
        path: this.path,
        offset: start,
        line: height,
      });
    }
    const text = this.verifiedText(buf, 0, buf.length, height, start);
    this.cache.set(height, text, buf.length);
    return text;
  }

  /**
   * Records from..to (inclusive; `to` defaults to lastHeight at call time) in order, read in
   * large sequential batches and verified; bypasses the cache. For replay and block sync.
   */
  async *readRange(from: number, to: number = this.count): AsyncGenerator<LogRecord, void, undefined> {
    this.assertReadable();
    if (to < from && Number.isSafeInteger(from) && Number.isSafeInteger(to)) return;
    this.checkRange('readRange', from, to);
    let h = from;
    while (h <= to) {
      this.assertReadable();
      const start = this.offsets[h - 1]!;
      let last = h;
      while (last < to && this.lineEnd(last + 1) - start <= this.rangeBatchBytes) last++;
      const end = this.lineEnd(last);
      const buf = Buffer.allocUnsafe(end - start);
      const n = await readFully(this.fh, buf, 0, buf.length, start);
      if (n < buf.length) {
        throw new StoreError('log_corrupt', `block log ${this.path}: file ended at byte offset ${start + n} while reading heights ${h}..${last}`, {
          path: this.path,
          offset: start + n,
        });
      }
      const texts: string[] = [];
      for (let k = h; k <= last; k++) {
        const ls = this.offsets[k - 1]! - start;
        const le = this.lineEnd(k) - start;
        texts.push(this.verifiedText(buf, ls, le, k, start + ls));
      }
      h = last + 1;
      for (const t of texts) yield JSON.parse(t) as LogRecord;
    }
  }

  /** Wait for queued appends, fsync them (unless the log is poisoned), and close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.sync();
    } finally {
      this.closed = true;
      await this.writeChain;
      if (this.syncing) await this.syncing.catch(() => {});
      await this.fh.close();
    }
  }

  // ---- internals ----

  private lineEnd(height: number): number {
    return height < this.count ? this.offsets[height]! : this.size;
  }

  private checkRange(what: string, from: number, to: number): void {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to > this.count) {
      throw new StoreError('out_of_range', `${what}: heights ${from}..${to} outside the log's 1..${this.count}`, { path: this.path });
    }
  }

  /** Verify the line at buf[s..e) (LF included) is the record for `height`; return its JSON text. */
  private verifiedText(buf: Buffer, s: number, e: number, height: number, fileOffset: number): string {
    const bad = (reason: string): StoreError =>
      new StoreError('log_corrupt', `block log ${this.path}: height ${height} at byte offset ${fileOffset} (line ${height}) is corrupt: ${reason}`, {
        path: this.path,
        offset: fileOffset,
        line: height,
      });
    if (e - s < HEADER_BYTES + 3 || buf[e - 1] !== LF) throw bad('missing line end');
    const check = checkLine(buf.subarray(s, e - 1));
    if (!check.ok) throw bad(check.reason);
    if (check.height !== height) throw bad(`holds height ${check.height}`);
    return buf.toString('utf8', s + HEADER_BYTES, e - 1);
  }

  private encodeBatch(records: readonly LogRecord[], firstHeight: number): { bytes: Buffer; lineStarts: number[] } {
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
        throw new StoreError(code, `append: records[${i}].h is ${h} but the next height is ${want}`, { path: this.path });
      }
      const json = this.stringify(rec, i, want);
      let jsonBytes = 0;
      for (const part of json) jsonBytes += Buffer.byteLength(part, 'utf8');
      const lineBytes = HEADER_BYTES + jsonBytes + 1;
      if (lineBytes > this.maxLineBytes) {
        throw new StoreError('line_too_large', `append: records[${i}] (height ${h}) is ${lineBytes} bytes as a log line; the limit is ${this.maxLineBytes}`, {
          path: this.path,
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
  private stringify(rec: LogRecord, index: number, height: number): readonly string[] {
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

  private async writeBatch(bytes: Buffer, lineStarts: number[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StoreError('closed', `block log ${this.path} is closed`);
    const base = this.size;
    try {
      await writeFully(this.fh, bytes, base);
    } catch (e) {
      throw this.poison('write', e);
    }
    this.noteWritten(base, bytes.length, lineStarts);
  }

  /** Bookkeeping after `length` bytes holding lines at `lineStarts` were written at offset `base`. */
  private noteWritten(base: number, length: number, lineStarts: readonly number[]): void {
    if (this.count + lineStarts.length > this.offsets.length) {
      let cap = this.offsets.length;
      while (cap < this.count + lineStarts.length) cap *= 2;
      const grown = new Float64Array(cap);
      grown.set(this.offsets.subarray(0, this.count));
      this.offsets = grown;
    }
    for (const s of lineStarts) this.offsets[this.count++] = base + s;
    this.size = base + length;
    this.writes++;
    this.recordsAppended += lineStarts.length;
  }

  private poison(op: string, cause: unknown): StoreError {
    if (!this.failure) {
      this.failure = new StoreError(
        'log_poisoned',
        `block log ${this.path}: ${op} failed (${(cause as Error)?.message ?? String(cause)}); the log refuses further use, restart to recover from disk`,
        { path: this.path, cause },
      );
    }
    return this.failure;
  }

  private assertUsable(): void {
    if (this.closed) throw new StoreError('closed', `block log ${this.path} is closed`);
    if (this.failure) throw this.failure;
  }

  private assertReadable(): void {
    if (this.closed) throw new StoreError('closed', `block log ${this.path} is closed`);
  }
}

interface ScanResult {
  offsets: Float64Array;
  count: number;
  size: number; // end of the last good line
  fileSize: number;
  bad: { offset: number; line: number; reason: string } | null;
  badLines: number;
}

/** Read the whole file once: verify every line, build the height index, find a torn tail. */
async function scanLog(fh: FileHandle, path: string, maxLineBytes: number, chunkBytes: number): Promise<ScanResult> {
  const fileSize = (await fh.stat()).size;
  let offsets = new Float64Array(1024);
  let count = 0;
  let goodEnd = 0;
  let bad: ScanResult['bad'] = null;
  let badLines = 0;
  let lineNo = 0;

  const onLine = (offset: number, line: Uint8Array | null, reasonIfBad?: string): void => {
    lineNo++;
    const check: LineCheck = line === null ? { ok: false, reason: reasonIfBad ?? 'bad line' } : checkLine(line);
    if (!check.ok) {
      if (bad === null) bad = { offset, line: lineNo, reason: check.reason };
      badLines++;
      return;
    }
    if (bad !== null) {
      const b = bad as { offset: number; line: number; reason: string };
      throw new StoreError(
        'log_corrupt',
        `block log ${path} is corrupt at byte offset ${b.offset} (line ${b.line}): ${b.reason}, and valid records follow it at line ${lineNo}; ` +
          `this is not a torn write. Restore from a peer or, accepting the loss, truncate the file to ${b.offset} bytes`,
        { path, offset: b.offset, line: b.line },
      );
    }
    const want = count + 1;
    if (check.height !== want) {
      const code = check.height < want ? 'height_repeat' : 'height_gap';
      throw new StoreError(code, `block log ${path}: line ${lineNo} at byte offset ${offset} holds height ${check.height}, expected ${want}`, {
        path,
        offset,
        line: lineNo,
      });
    }
    if (count === offsets.length) {
      const grown = new Float64Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = offset;
    goodEnd = offset + line!.length + 1;
  };

  let buf = Buffer.allocUnsafe(Math.max(64, Math.min(chunkBytes, maxLineBytes, fileSize || 64)));
  let bufStart = 0; // file offset of buf[0]
  let bufLen = 0;
  let filePos = 0;
  let skipping = false; // inside an over-long line, looking for its end
  let skipStart = 0;

  while (true) {
    const n = filePos < fileSize ? await readFully(fh, buf, bufLen, buf.length - bufLen, filePos) : 0;
    filePos += n;
    bufLen += n;
    const eof = n === 0 || filePos >= fileSize;
    let p = 0;
    while (p < bufLen) {
      const nl = buf.indexOf(LF, p);
      if (nl === -1 || nl >= bufLen) break;
      if (skipping) {
        onLine(skipStart, null, `line longer than maxLineBytes (${maxLineBytes})`);
        skipping = false;
      } else {
        onLine(bufStart + p, buf.subarray(p, nl));
      }
      p = nl + 1;
    }
    if (eof) {
      if (skipping) onLine(skipStart, null, `line longer than maxLineBytes (${maxLineBytes}) at end of file`);
      else if (p < bufLen) onLine(bufStart + p, null, 'last line has no line end (interrupted write)');
      break;
    }
    if (skipping) {
      bufStart += bufLen;
      bufLen = 0;
      continue;
    }
    if (p === 0 && bufLen === buf.length) {
      // A line fills the whole buffer: grow up to the line limit, then give up on it.
      if (buf.length >= maxLineBytes) {
        skipping = true;
        skipStart = bufStart;
        bufStart += bufLen;
        bufLen = 0;
      } else {
        const grown = Buffer.allocUnsafe(Math.min(maxLineBytes, buf.length * 2));
        buf.copy(grown, 0, 0, bufLen);
        buf = grown;
      }
      continue;
    }
    buf.copy(buf, 0, p, bufLen);
    bufStart += p;
    bufLen -= p;
  }
  return { offsets, count, size: bad === null ? goodEnd : (bad as { offset: number }).offset, fileSize, bad, badLines };
}
