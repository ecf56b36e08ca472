/*
 * Snapshots: one file per height, `snap-<height>.bin`, holding named opaque blobs (engine tensor,
 * app state, consensus state...). Restart = latest valid snapshot + replay of the log after it.
 *
 * File format (all integers little-endian):
 *   0   8 bytes  magic "NUMCSNAP"
 *   8   u32      format version (1)
 *   12  u32      blob count
 *   16  u64      height
 *   24  blobs, each: u16 name length, name (ASCII [A-Za-z0-9_.-]{1,64}), u64 data length, data
 *   end 32 bytes SHA-256 of every preceding byte
 *
 * Writes go to `snap-<height>.bin.tmp`, are fsynced, renamed into place and the directory is
 * fsynced, so a crash leaves either no file or a complete one. A corrupt newest file (disk
 * fault, manual tampering) is skipped with a warning and the previous one is used.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StoreError } from './errors.ts';
import { consoleStoreLogger, type StoreLogger } from './logger.ts';
import { atomicWriteFile, fsyncDir } from './fs-util.ts';

export type SnapshotBlobs = Readonly<Record<string, Uint8Array>>;

export interface Snapshot {
  readonly height: number;
  /** Views into one buffer read from disk; in the order they were written. */
  readonly blobs: Record<string, Uint8Array>;
  readonly path: string;
  readonly bytes: number;
}

export interface SnapshotStoreOptions {
  /** Snapshots to keep (the highest heights). Default 3, minimum 1. */
  readonly keep?: number;
  readonly logger?: StoreLogger;
  /** Most blobs per snapshot. Default 64. */
  readonly maxBlobs?: number;
}

export interface SnapshotStats {
  readonly written: number;
  readonly pruned: number;
  readonly skippedCorrupt: number;
}

const MAGIC = Buffer.from('NUMCSNAP', 'latin1');
const VERSION = 1;
const HEADER = 24;
const DIGEST = 32;
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const FILE_RE = /^snap-(\d{1,16})\.bin$/;

export function snapshotFileName(height: number): string {
  return `snap-${height}.bin`;
}

/**
 * Encode a snapshot as chunks: header, then per blob its header and its data, then the digest.
 * The data is copied unless `handOver` says the caller never touches those buffers again.
 */
export function encodeSnapshot(height: number, blobs: SnapshotBlobs, maxBlobs = 64, handOver = false): Uint8Array[] {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new StoreError('bad_snapshot_input', `snapshot height must be an integer >= 0, got ${height}`);
  }
  const names = Object.keys(blobs);
  if (names.length > maxBlobs) throw new StoreError('bad_snapshot_input', `snapshot has ${names.length} blobs; the limit is ${maxBlobs}`);
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(names.length, 12);
  header.writeBigUInt64LE(BigInt(height), 16);
  const chunks: Uint8Array[] = [header];
  const hash = createHash('sha256').update(header);
  for (const name of names) {
    if (!NAME_RE.test(name)) throw new StoreError('bad_snapshot_input', `snapshot blob name ${JSON.stringify(name)} must match ${NAME_RE}`);
    const data = blobs[name];
    if (!(data instanceof Uint8Array)) throw new StoreError('bad_snapshot_input', `snapshot blob ${name} must be a Uint8Array`);
    const head = Buffer.alloc(2 + name.length + 8);
    head.writeUInt16LE(name.length, 0);
    head.write(name, 2, 'latin1');
    head.writeBigUInt64LE(BigInt(data.length), 2 + name.length);
    // The digest is computed now but the bytes are written later; a caller reusing its buffer in
    // between must not produce a snapshot that fails its own checksum, so keep a copy unless the
    // caller handed the buffer over (a node's chain blob is ~10 MB under load).
    const copy = handOver ? data : data.slice();
    hash.update(head).update(copy);
    chunks.push(head, copy);
  }
  chunks.push(hash.digest());
  return chunks;
}

/** Decode and verify a snapshot file's bytes; throws StoreError `snapshot_corrupt` naming what is wrong. */
export function decodeSnapshot(bytes: Uint8Array, where = 'snapshot'): { height: number; blobs: Record<string, Uint8Array> } {
  const corrupt = (why: string): StoreError => new StoreError('snapshot_corrupt', `${where} is corrupt: ${why}`, { path: where });
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < HEADER + DIGEST) throw corrupt(`file is ${buf.length} bytes, too short`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw corrupt('bad magic');
  const body = buf.subarray(0, buf.length - DIGEST);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - DIGEST))) throw corrupt('SHA-256 mismatch');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw corrupt(`unknown format version ${version}`);
  const count = buf.readUInt32LE(12);
  const h = buf.readBigUInt64LE(16);
  if (h > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('height out of range');
  const blobs: Record<string, Uint8Array> = Object.create(null) as Record<string, Uint8Array>;
  let pos = HEADER;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > body.length) throw corrupt(`blob ${i} header runs past the end`);
    const nameLen = buf.readUInt16LE(pos);
    if (pos + 2 + nameLen + 8 > body.length) throw corrupt(`blob ${i} header runs past the end`);
    const name = buf.toString('latin1', pos + 2, pos + 2 + nameLen);
    if (!NAME_RE.test(name) || name in blobs) throw corrupt(`blob ${i} has a bad or repeated name`);
    const len = buf.readBigUInt64LE(pos + 2 + nameLen);
    const start = pos + 2 + nameLen + 8;
    if (len > BigInt(body.length - start)) throw corrupt(`blob ${name} runs past the end`);
    const end = start + Number(len);
    blobs[name] = new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
    pos = end;
  }
  if (pos !== body.length) throw corrupt(`${body.length - pos} unexpected bytes after the last blob`);
  return { height: Number(h), blobs };
}

export class SnapshotStore {
  readonly dir: string;
  private readonly keep: number;
  private readonly maxBlobs: number;
  private readonly logger: StoreLogger;
  private chain: Promise<unknown> = Promise.resolve();
  private written = 0;
  private pruned = 0;
  private skippedCorrupt = 0;

  private constructor(dir: string, opts: SnapshotStoreOptions) {
    this.dir = dir;
    this.keep = Math.max(1, Math.floor(opts.keep ?? 3));
    this.maxBlobs = opts.maxBlobs ?? 64;
    this.logger = opts.logger ?? consoleStoreLogger;
  }

  /** Create the directory if needed and remove temp files a crash left behind. */
  static async open(dir: string, opts: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(dir)) {
      if (f.startsWith('snap-') && f.endsWith('.tmp')) await unlink(join(dir, f)).catch(() => {});
    }
    return new SnapshotStore(dir, opts);
  }

  stats(): SnapshotStats {
    return { written: this.written, pruned: this.pruned, skippedCorrupt: this.skippedCorrupt };
  }

  /**
   * Durably write the snapshot for `height` (replacing one at the same height), then prune to `keep`.
   * `handOver`: the caller will not modify the blobs' bytes again, so they are written without a copy.
   */
  async write(height: number, blobs: SnapshotBlobs, opts: { readonly handOver?: boolean } = {}): Promise<string> {
    const chunks = encodeSnapshot(height, blobs, this.maxBlobs, opts.handOver === true);
    const run = this.chain.then(async () => {
      const path = join(this.dir, snapshotFileName(height));
      await atomicWriteFile(path, chunks);
      this.written++;
      await this.prune(height);
      return path;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Heights with a snapshot file, ascending (files are not verified). */
  async heights(): Promise<number[]> {
    const out: number[] = [];
    for (const f of await readdir(this.dir)) {
      const m = FILE_RE.exec(f);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** Load and verify one snapshot; throws `snapshot_corrupt` if it does not verify. */
  async load(height: number): Promise<Snapshot> {
    const path = join(this.dir, snapshotFileName(height));
    const bytes = await readFile(path);
    const snap = decodeSnapshot(bytes, path);
    if (snap.height !== height) {
      throw new StoreError('snapshot_corrupt', `${path} is corrupt: holds height ${snap.height}`, { path });
    }
    return { height, blobs: snap.blobs, path, bytes: bytes.length };
  }

  /** The newest snapshot that verifies, skipping (and logging) corrupt ones; null if none. */
  async latestValid(): Promise<Snapshot | null> {
    const hs = await this.heights();
    for (let i = hs.length - 1; i >= 0; i--) {
      try {
        return await this.load(hs[i]!);
      } catch (e) {
        const err = e as Error & { code?: string };
        if (err.code === 'ENOENT') continue; // pruned meanwhile
        if (err.code !== 'snapshot_corrupt' && err.code !== 'EIO') throw e;
        this.skippedCorrupt++;
        this.logger.warn('snapshot skipped: does not verify, falling back to an older one', {
          height: hs[i],
          error: err.message,
        });
      }
    }
    return null;
  }

  private async prune(justWritten: number): Promise<void> {
    const hs = await this.heights();
    const doomed = hs.slice(0, Math.max(0, hs.length - this.keep)).filter((h) => h !== justWritten);
    if (doomed.length === 0) return;
    for (const h of doomed) {
      await unlink(join(this.dir, snapshotFileName(h))).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      this.pruned++;
    }
    await fsyncDir(this.dir);
  }
}
