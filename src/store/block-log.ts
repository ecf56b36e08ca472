/*
 * Append-only block log: one checksummed JSON record per line (the format: log-line.ts), a height
 * index built at open by a scan that cuts a torn tail and refuses real corruption (log-scan.ts).
 *
 * Durability: append() writes (one pwrite per batch) but does not fsync; sync() fsyncs and is
 * shared by concurrent callers (group commit). A record is durable once a sync() that started
 * after its append() resolved has resolved. Any failed write or fsync poisons the log: after
 * an fsync error the kernel may have dropped dirty pages, so the only safe recovery is to
 * restart and rescan the file. One exception, for appendAndSyncNow only: a write or fsync that fails
 * with ENOSPC (disk full) cuts the file back to where the append began (ftruncate + fdatasync), so
 * nothing torn stays behind, and rethrows the errno error without poisoning: the caller may retry
 * the same append once there is space (the bytes are all written again).
 */
import { open as openFile, stat, type FileHandle } from 'node:fs/promises';
import { constants as fsConstants, fdatasyncSync, ftruncateSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './errors.ts';
import { consoleStoreLogger, type StoreLogger } from './logger.ts';
import { LruCache } from './lru-cache.ts';
import { fsyncDir, readFully, writeFully, writeFullySync } from './fs-util.ts';
import { DEFAULT_MAX_LINE, encodeLines, verifiedLineText } from './log-line.ts';
import { scanAndRepair, type LogIndex, type TornTailReport } from './log-scan.ts';
import type { LogRecord } from '../util/log-record.ts';

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
    scan: LogIndex,
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
      const { index: scan, tornTail } = await scanAndRepair(fh, path, maxLineBytes, opts.scanChunkBytes ?? 4 * 1024 * 1024, logger);
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
    const encoded = encodeLines(records, this.queuedHeight + 1, this.maxLineBytes, this.path);
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
    const encoded = encodeLines(records, this.queuedHeight + 1, this.maxLineBytes, this.path);
    this.queuedHeight += records.length;
    const base = this.size;
    const countBefore = this.count;
    try {
      writeFullySync(this.fh.fd, encoded.bytes, base);
    } catch (e) {
      throw this.failedSyncAppend('write', e, base, countBefore);
    }
    this.noteWritten(base, encoded.bytes.length, encoded.lineStarts);
    try {
      fdatasyncSync(this.fh.fd);
    } catch (e) {
      throw this.failedSyncAppend('fsync', e, base, countBefore);
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
    const text = verifiedLineText(buf, 0, buf.length, height, start, this.path);
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
        texts.push(verifiedLineText(buf, ls, le, k, start + ls, this.path));
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

  /** Times a disk-full append was cut back to its start (appendAndSyncNow). */
  fullAppendsUndone = 0;

  /**
   * A failed appendAndSyncNow. ENOSPC: cut the file back to `base` (where the append began) and
   * forget the append, then hand back the errno error; the log stays usable. Anything else poisons.
   */
  private failedSyncAppend(op: string, cause: unknown, base: number, countBefore: number): unknown {
    if ((cause as NodeJS.ErrnoException)?.code !== 'ENOSPC') return this.poison(op, cause);
    try {
      ftruncateSync(this.fh.fd, base);
      fdatasyncSync(this.fh.fd);
    } catch (e) {
      return this.poison(`${op} failed with ENOSPC and cutting the torn append back failed:`, e);
    }
    this.recordsAppended -= this.count - countBefore;
    this.count = countBefore;
    this.queuedHeight = countBefore;
    this.size = base;
    this.fullAppendsUndone++;
    return cause;
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
