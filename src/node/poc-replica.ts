// The validator's PoC replica as its prover sees it: the files in <data-dir>/poc (host/poc-store.ts),
// built at first start when genesis has a `poc` block and there is none. It is looked at again
// before every use: a replica file deleted or replaced while the node runs must fail the next
// challenge, as the data it proves is gone, not be answered from a file handle still open on it.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplicaReader } from '../driver/poc-prover.ts';
import { buildReplicaFile, MANIFEST_FILE, openReplica, REPLICA_FILE, ReplicaError, type OpenReplica } from '../host/poc-store.ts';
import type { PocParams } from '../poc/params.ts';
import type { Logger } from './logger.ts';

export class PocReplicaSource {
  private open: OpenReplica | null = null;
  /** identity of the data file the open replica reads (a new inode or size means a new file) */
  private fileId = '';
  private lastError = '';

  constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** The replica, or null when there is none (or it is damaged): the prover then does not answer. */
  get(): ReplicaReader | null {
    const id = fileIdentity(join(this.dir, REPLICA_FILE));
    if (id === null) {
      this.closeOpen('the replica data file is gone');
      return null;
    }
    if (this.open !== null && id === this.fileId) return this.reader(this.open);
    this.closeOpen(null);
    try {
      this.open = openReplica(this.dir);
      this.fileId = id;
      this.lastError = '';
      this.log.info('PoC replica opened', { dir: this.dir, chunks: this.open.chunks, root: this.open.manifest.root });
      return this.reader(this.open);
    } catch (e) {
      if (!(e instanceof ReplicaError)) throw e;
      if (e.message !== this.lastError) this.log.warn('PoC replica cannot be used', { dir: this.dir, code: e.code, error: e.message });
      this.lastError = e.message;
      return null;
    }
  }

  close(): void {
    this.closeOpen(null);
  }

  private reader(r: OpenReplica): ReplicaReader {
    return { root: r.root, chunks: r.chunks, commitNonce: r.manifest.commitNonce, levels: r.levels, readChunk: (i) => r.readChunk(i) };
  }

  private closeOpen(why: string | null): void {
    if (this.open === null) return;
    this.open.close();
    this.open = null;
    this.fileId = '';
    if (why !== null) this.log.warn('PoC replica lost', { dir: this.dir, why });
  }
}

function fileIdentity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Build this validator's replica in `dir` unless one is there (a replica from an earlier start is
 * kept: its commitment may already be on chain). `chunks` 0: do not build (the operator will).
 */
export async function ensureReplica(dir: string, o: { chainId: string; publicKey: Uint8Array; params: PocParams; chunks: number }, log: Logger): Promise<void> {
  if (o.chunks === 0 || fileIdentity(join(dir, MANIFEST_FILE)) !== null) return;
  const t0 = performance.now();
  log.info('building the PoC replica (first start with proof of capacity)', { dir, chunks: o.chunks, bytes: o.chunks * o.params.chunkBytes });
  const root = await buildReplicaFile(dir, { chainId: o.chainId, publicKey: o.publicKey, commitNonce: 0, chunks: o.chunks, chunkBytes: o.params.chunkBytes, encodeRounds: o.params.encodeRounds });
  log.info('PoC replica built', { dir, chunks: o.chunks, ms: Math.round(performance.now() - t0), root: Buffer.from(root).toString('hex') });
}
