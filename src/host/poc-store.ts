// The proof-of-capacity replica on disk (docs/poc-pop.md, "What a node does"): build it once into
// `<dir>/replica.bin` + `replica.tree` + `replica.json` (crash-safe), open it with its checks, read
// chunks with positioned reads, and assemble the answer to a challenge with timings.
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { merkleLeafHash } from '../crypto/merkle.ts';
import { bytesEqual, fromHex, sha256, toHex } from '../crypto/sha256.ts';
import type { PocChallenge, PopPair } from '../poc/challenge.ts';
import { levelsRoot, type MerkleLevels } from '../poc/merkle-path.ts';
import { buildAnswer } from '../poc/prove.ts';
import { ReplicaBuilder, replicaSeed } from '../poc/replica.ts';
import { encodeAnswerBody, type PocAnswer, type PopItem } from '../poc/wire.ts';

export const REPLICA_FILE = 'replica.bin';
export const TREE_FILE = 'replica.tree';
export const MANIFEST_FILE = 'replica.json';
export const MANIFEST_FORMAT = 'numchain/poc/replica-manifest/v1';

export type ReplicaErrorCode = 'missing' | 'exists' | 'bad_manifest' | 'wrong_size' | 'manifest_mismatch' | 'short_read' | 'bad_params';

/** What can go wrong with a replica directory; `code` for programs, the message names the file. */
export class ReplicaError extends Error {
  override readonly name = 'ReplicaError';
  constructor(
    readonly code: ReplicaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ReplicaParams {
  readonly chainId: string;
  readonly publicKey: Uint8Array;
  readonly commitNonce: number;
  readonly chunks: number;
  readonly chunkBytes: number;
  readonly encodeRounds: number;
}

/** replica.json: what was encoded, the commitment root, and a checksum of the tree file. */
export interface ReplicaManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly chainId: string;
  readonly publicKey: string;
  readonly commitNonce: number;
  readonly chunks: number;
  readonly chunkBytes: number;
  readonly encodeRounds: number;
  readonly root: string;
  readonly replicaBytes: number;
  readonly treeBytes: number;
  /** SHA-256 of replica.tree: the levels are trusted for paths, so a flipped bit there must not pass silently */
  readonly treeSha256: string;
}

export interface BuildProgress {
  readonly done: number;
  readonly chunks: number;
}

export interface BuildOptions {
  /** called every `progressEvery` chunks (default 1024) and at the end; throwing aborts the build */
  readonly onProgress?: (p: BuildProgress) => void;
  readonly progressEvery?: number;
  /** replace an existing replica (its manifest goes first, so a crash never pairs old and new files) */
  readonly force?: boolean;
}

/** Bytes of all tree levels for `leaves` leaves (RFC 6962 shape: odd nodes carried up). */
export function treeBytes(leaves: number): number {
  let n = 0;
  for (let m = leaves; ; m = (m >> 1) + (m & 1)) {
    n += m;
    if (m === 1) return 32 * n;
  }
}

function checkParams(p: ReplicaParams): void {
  const bad = (m: string): never => {
    throw new ReplicaError('bad_params', m);
  };
  if (!Number.isSafeInteger(p.chunks) || p.chunks < 2) bad('chunks must be an integer ≥ 2 (chunk 0 is never challenged)');
  if (!Number.isSafeInteger(p.chunkBytes) || p.chunkBytes < 32 || p.chunkBytes % 32 !== 0) bad('chunkBytes must be a positive multiple of 32');
  if (!Number.isSafeInteger(p.encodeRounds) || p.encodeRounds < 1) bad('encodeRounds must be an integer ≥ 1');
  if (!Number.isSafeInteger(p.commitNonce) || p.commitNonce < 0) bad('commitNonce must be a non-negative integer');
  if (p.publicKey.length !== 32) bad('publicKey must be 32 bytes');
  if (p.chainId === '') bad('chainId must not be empty');
}

function writeAll(fd: number, buf: Uint8Array, len = buf.length): void {
  for (let off = 0; off < len; ) off += writeSync(fd, buf, off, len - off);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Yield to the event loop after every 1 MiB batch (~0.1 s of encoding), so a node building a replica keeps serving. */
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Encode the replica into `dir` and return its Merkle root. Memory stays bounded (one write batch of
 * chunks plus 32 bytes of leaf hash per chunk and the levels above). The data and tree go to
 * `*.tmp` files, are fsynced and renamed; the manifest is written (the same way) last, so a directory
 * with `replica.json` always holds a complete replica and a crash leaves none.
 */
export async function buildReplicaFile(dir: string, p: ReplicaParams, opts: BuildOptions = {}): Promise<Uint8Array> {
  checkParams(p);
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(dir, MANIFEST_FILE);
  if (existsSync(manifestPath)) {
    if (!opts.force) throw new ReplicaError('exists', `${manifestPath} exists; refusing to replace a replica without force`);
    rmSync(manifestPath);
    fsyncDir(dir);
  }
  const dataTmp = join(dir, `${REPLICA_FILE}.tmp`);
  const treeTmp = join(dir, `${TREE_FILE}.tmp`);
  const every = Math.max(1, opts.progressEvery ?? 1024);
  const b = new ReplicaBuilder(replicaSeed(p.chainId, p.publicKey, p.commitNonce), p.chunks, p.chunkBytes, p.encodeRounds);
  // Write in batches of ~1 MiB: one syscall per batch, the CPU-bound encoding dominates anyway.
  const perBatch = Math.max(1, Math.floor((1 << 20) / p.chunkBytes));
  const batch = new Uint8Array(perBatch * p.chunkBytes);
  let fd = openSync(dataTmp, 'w', 0o600);
  let levels: MerkleLevels;
  try {
    try {
      let fill = 0;
      for (let i = 0; i < p.chunks; i++) {
        batch.set(b.next(), fill * p.chunkBytes);
        if (++fill === perBatch || i === p.chunks - 1) {
          writeAll(fd, batch, fill * p.chunkBytes);
          fill = 0;
          await yieldNow();
        }
        if ((i + 1) % every === 0 && i + 1 < p.chunks) opts.onProgress?.({ done: i + 1, chunks: p.chunks });
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    levels = b.finish();
    fd = openSync(treeTmp, 'w', 0o600);
    try {
      for (const l of levels.levels) writeAll(fd, l);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    opts.onProgress?.({ done: p.chunks, chunks: p.chunks });
  } catch (e) {
    rmSync(dataTmp, { force: true });
    rmSync(treeTmp, { force: true });
    throw e;
  }
  renameSync(dataTmp, join(dir, REPLICA_FILE));
  renameSync(treeTmp, join(dir, TREE_FILE));
  fsyncDir(dir);
  const root = levelsRoot(levels);
  const treeSha = sha256(concatLevels(levels));
  const manifest: ReplicaManifest = {
    format: MANIFEST_FORMAT,
    chainId: p.chainId,
    publicKey: toHex(p.publicKey),
    commitNonce: p.commitNonce,
    chunks: p.chunks,
    chunkBytes: p.chunkBytes,
    encodeRounds: p.encodeRounds,
    root: toHex(root),
    replicaBytes: p.chunks * p.chunkBytes,
    treeBytes: treeBytes(p.chunks),
    treeSha256: toHex(treeSha),
  };
  const mTmp = `${manifestPath}.tmp`;
  fd = openSync(mTmp, 'w', 0o644);
  try {
    writeAll(fd, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(mTmp, manifestPath);
  fsyncDir(dir);
  return root;
}

function concatLevels(t: MerkleLevels): Uint8Array {
  const out = new Uint8Array(t.levels.reduce((n, l) => n + l.length, 0));
  let off = 0;
  for (const l of t.levels) {
    out.set(l, off);
    off += l.length;
  }
  return out;
}

function parseManifest(text: string, path: string): ReplicaManifest {
  const bad = (m: string): never => {
    throw new ReplicaError('bad_manifest', `${path}: ${m}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('must be a JSON object');
  const o = v as Record<string, unknown>;
  if (o.format !== MANIFEST_FORMAT) bad(`format must be "${MANIFEST_FORMAT}"`);
  const str = (k: string): string => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : bad(`${k} must be a non-empty string`));
  const int = (k: string, lo: number): number => (Number.isSafeInteger(o[k]) && (o[k] as number) >= lo ? (o[k] as number) : bad(`${k} must be an integer ≥ ${lo}`));
  const hex = (k: string, n: number): string => {
    try {
      return toHex(fromHex(o[k], k, n));
    } catch (e) {
      return bad((e as Error).message);
    }
  };
  const m: ReplicaManifest = {
    format: MANIFEST_FORMAT,
    chainId: str('chainId'),
    publicKey: hex('publicKey', 32),
    commitNonce: int('commitNonce', 0),
    chunks: int('chunks', 2),
    chunkBytes: int('chunkBytes', 32),
    encodeRounds: int('encodeRounds', 1),
    root: hex('root', 32),
    replicaBytes: int('replicaBytes', 0),
    treeBytes: int('treeBytes', 0),
    treeSha256: hex('treeSha256', 32),
  };
  if (m.chunkBytes % 32 !== 0) bad('chunkBytes must be a multiple of 32');
  if (m.replicaBytes !== m.chunks * m.chunkBytes) bad(`replicaBytes ${m.replicaBytes} is not chunks × chunkBytes = ${m.chunks * m.chunkBytes}`);
  if (m.treeBytes !== treeBytes(m.chunks)) bad(`treeBytes ${m.treeBytes} does not fit ${m.chunks} leaves (${treeBytes(m.chunks)})`);
  return m;
}

/** An open replica: positioned reads of its chunks and the stored tree levels for the paths. */
export interface OpenReplica {
  readonly dir: string;
  readonly manifest: ReplicaManifest;
  readonly root: Uint8Array;
  readonly levels: MerkleLevels;
  readonly chunks: number;
  readonly chunkBytes: number;
  /**
   * Chunk i, read from disk every time with pread (no cache of ours on purpose: the proof is about
   * reading the disk). Throws ReplicaError 'short_read' if the file ends early.
   */
  readChunk(index: number, out?: Uint8Array): Uint8Array;
  /** the chunk matches its leaf in the stored tree (one SHA-256, no path needed) */
  chunkMatches(index: number, chunk: Uint8Array): boolean;
  close(): void;
}

function sizeOf(path: string, what: string): number {
  try {
    return statSync(path).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ReplicaError('missing', `${path} is missing (${what})`);
    throw e;
  }
}

/** Open and check a replica directory: manifest, exact file sizes, tree checksum and root. */
export function openReplica(dir: string): OpenReplica {
  const mPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(mPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ReplicaError('missing', `${mPath} is missing: no complete replica in ${dir} (run numchain poc init)`);
    throw e;
  }
  const m = parseManifest(text, mPath);
  const dPath = join(dir, REPLICA_FILE);
  const tPath = join(dir, TREE_FILE);
  const dSize = sizeOf(dPath, 'the replica data');
  if (dSize !== m.replicaBytes) throw new ReplicaError('wrong_size', `${dPath} is ${dSize} bytes, the manifest says ${m.replicaBytes}${dSize < m.replicaBytes ? ' (truncated)' : ''}`);
  const tSize = sizeOf(tPath, 'the Merkle tree');
  if (tSize !== m.treeBytes) throw new ReplicaError('wrong_size', `${tPath} is ${tSize} bytes, the manifest says ${m.treeBytes}${tSize < m.treeBytes ? ' (truncated)' : ''}`);
  const tree = new Uint8Array(readFileSync(tPath));
  if (toHex(sha256(tree)) !== m.treeSha256) throw new ReplicaError('manifest_mismatch', `${tPath} does not match the manifest's treeSha256 (the tree file is damaged)`);
  const levels: Uint8Array[] = [];
  let off = 0;
  for (let w = m.chunks; ; w = (w >> 1) + (w & 1)) {
    levels.push(tree.subarray(off, off + 32 * w));
    off += 32 * w;
    if (w === 1) break;
  }
  const t: MerkleLevels = { leaves: m.chunks, levels };
  const root = levelsRoot(t);
  if (toHex(root) !== m.root) throw new ReplicaError('manifest_mismatch', `the root of ${tPath} is not the manifest's root ${m.root}`);
  const fd = openSync(dPath, 'r');
  let open = true;
  return {
    dir,
    manifest: m,
    root,
    levels: t,
    chunks: m.chunks,
    chunkBytes: m.chunkBytes,
    readChunk(index: number, out = new Uint8Array(m.chunkBytes)): Uint8Array {
      if (!open) throw new ReplicaError('short_read', `${dPath} is closed`);
      if (!Number.isSafeInteger(index) || index < 0 || index >= m.chunks) throw new RangeError(`chunk ${index} outside [0, ${m.chunks})`);
      let got = 0;
      while (got < m.chunkBytes) {
        const n = readSync(fd, out, got, m.chunkBytes - got, index * m.chunkBytes + got);
        if (n === 0) throw new ReplicaError('short_read', `${dPath} ends at ${fstatSync(fd).size} bytes, before chunk ${index} (the file was truncated after it was opened)`);
        got += n;
      }
      return out;
    },
    chunkMatches(index: number, chunk: Uint8Array): boolean {
      return bytesEqual(merkleLeafHash(chunk), levels[0]!.subarray(32 * index, 32 * index + 32));
    },
    close(): void {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export interface ProveOptions {
  readonly validator: number;
  readonly challenge: PocChallenge;
  /** PoP pairs of the challenge and their items (from the chain's state); none when PoP is off */
  readonly pairs?: readonly PopPair[];
  readonly popItem?: (pair: PopPair) => PopItem;
}

export interface ProveResult {
  readonly answer: PocAnswer;
  /** encoded answer body (the signature and envelope add ~70 bytes) */
  readonly bodyBytes: Uint8Array;
  /** wall time of the 2k positioned reads, and each read */
  readonly readMs: number;
  readonly readLatenciesMs: readonly number[];
  /** paths, PoP items and the body encoding */
  readonly assembleMs: number;
  /** challenged chunks (or their predecessors) that do not match the stored tree: submitting would be a fault */
  readonly badChunks: readonly number[];
}

/**
 * The answer to `challenge` from the replica on disk. Reads first (c − 1 and c for each challenge,
 * timed one by one), then assembles from what was read, so the two costs are measured apart. Each
 * chunk read is checked against its stored leaf: a damaged replica is reported to the caller
 * before it signs an answer that every node would count as `wrong`.
 */
export function proveChallenge(r: OpenReplica, o: ProveOptions): ProveResult {
  const read = new Map<number, Uint8Array>();
  const lat: number[] = [];
  const bad = new Set<number>();
  const t0 = performance.now();
  for (const c of o.challenge.chunks) {
    for (const i of [c - 1, c]) {
      if (read.has(i)) continue;
      const a = performance.now();
      const chunk = r.readChunk(i);
      lat.push(performance.now() - a);
      read.set(i, chunk);
    }
  }
  const t1 = performance.now();
  for (const [i, chunk] of read) if (!r.chunkMatches(i, chunk)) bad.add(i);
  const pairs = o.pairs ?? [];
  if (pairs.length > 0 && o.popItem === undefined) throw new RangeError('PoP pairs given without a popItem source');
  const answer = buildAnswer({
    chainId: r.manifest.chainId,
    validator: o.validator,
    challenge: o.challenge,
    levels: r.levels,
    readChunk: (i) => read.get(i)!,
    pairs,
    popItem: (pr) => o.popItem!(pr),
  });
  const bodyBytes = encodeAnswerBody(answer);
  const t2 = performance.now();
  return { answer, bodyBytes, readMs: t1 - t0, readLatenciesMs: lat, assembleMs: t2 - t1, badChunks: [...bad].sort((a, b) => a - b) };
}

export interface CheckResult {
  readonly checked: number;
  readonly bad: readonly number[];
  readonly ms: number;
}

/** Read every chunk in order and compare it with its stored leaf (an operator's full scrub). */
export async function checkReplica(r: OpenReplica, onProgress?: (p: BuildProgress) => void): Promise<CheckResult> {
  const t0 = performance.now();
  const bad: number[] = [];
  const buf = new Uint8Array(r.chunkBytes);
  for (let i = 0; i < r.chunks; i++) {
    if (!r.chunkMatches(i, r.readChunk(i, buf))) bad.push(i);
    if ((i + 1) % 4096 === 0) {
      onProgress?.({ done: i + 1, chunks: r.chunks });
      await yieldNow();
    }
  }
  return { checked: r.chunks, bad, ms: performance.now() - t0 };
}
