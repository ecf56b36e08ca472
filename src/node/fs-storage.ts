// The replica's storage on a real data directory: the fsynced safety file, one fsynced file per
// pending block, the append-only block log (appended and fdatasynced per commit), and snapshots
// written in the background. Writes on the consensus path are synchronous: each async step would
// wait a whole event-loop turn behind the RPC handlers, which under a flood stretched a block to
// seconds, while the writes and fsyncs themselves take about a millisecond.
import { encodeSafety } from '../consensus/safety.ts';
import type { Block, SafetyState } from '../consensus/types.ts';
import type { RecoverySource } from '../driver/recovery.ts';
import { StorageFullError, type ReplicaStorage, type SnapshotBlobs } from '../driver/world.ts';
import type { NodeMetrics } from '../metrics/metrics.ts';
import type { BlockLog } from '../store/block-log.ts';
import type { SafetyStore } from '../store/safety-store.ts';
import type { SnapshotStore } from '../store/snapshot.ts';
import type { LogRecord } from '../util/log-record.ts';
import { NO_FAULT, type FsFault, type PersistOp } from './fs-fault.ts';
import type { PendingBlockStore } from './pending-blocks.ts';

export class FsStorage implements ReplicaStorage, RecoverySource {
  constructor(
    readonly log: BlockLog,
    private readonly safety: SafetyStore,
    private readonly pending: PendingBlockStore,
    readonly snapshots: SnapshotStore,
    private readonly metrics: NodeMetrics,
    /**
     * Called when a write or fsync on the consensus path fails other than with ENOSPC; must not return. Continuing would
     * vote, propose or acknowledge on state that is not on disk, so the default rethrows and the
     * node's caller (node.ts) exits instead.
     */
    private readonly onPersistFailure: (op: PersistOp, e: unknown) => never = (_op, e) => {
      throw e;
    },
    private readonly fault: FsFault = NO_FAULT,
  ) {}

  /**
   * One write on the consensus path. ENOSPC (disk full) is thrown as StorageFullError: each store
   * leaves nothing torn behind on it (the block log cuts a partial append back, a pending block's
   * partial file is removed, the safety file alternates two checksummed slots), so the replica
   * pauses and retries the same write. Any other error (EIO) goes to onPersistFailure.
   */
  private persist(op: PersistOp, write: () => void): void {
    try {
      this.fault.check(op);
      write();
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC') throw new StorageFullError(op, e);
      this.onPersistFailure(op, e);
    }
  }

  saveSafety(state: SafetyState): void {
    const t = performance.now();
    this.persist('safety', () => this.safety.saveNow(encodeSafety(state)));
    this.metrics.persistSeconds.labels('safety').observe((performance.now() - t) / 1000);
  }

  putPendingBlock(block: Block): void {
    const t = performance.now();
    this.persist('block', () => this.pending.put(block));
    this.metrics.persistSeconds.labels('block').observe((performance.now() - t) / 1000);
  }

  prunePendingBlocks(committedHeight: number): void {
    this.pending.prune(committedHeight);
  }

  appendCommitted(records: readonly LogRecord[]): void {
    const t = performance.now();
    this.persist('log', () => this.log.appendAndSyncNow(records));
    this.metrics.fsyncSeconds.observe((performance.now() - t) / 1000);
  }

  get syncedHeight(): number {
    return this.log.syncedHeight;
  }

  readCommitted(from: number, to: number): AsyncIterable<LogRecord> {
    return this.log.readRange(from, to);
  }

  async writeSnapshot(height: number, blobs: SnapshotBlobs): Promise<void> {
    const t = performance.now();
    // Every blob is freshly encoded by the replica and referenced nowhere else: no copy needed.
    await this.snapshots.write(height, { chain: blobs.chain, consensus: blobs.consensus, tip: blobs.tip }, { handOver: true });
    this.metrics.snapshotSeconds.observe((performance.now() - t) / 1000);
  }

  // ---- RecoverySource

  async latestSnapshot(): Promise<{ readonly height: number; readonly blobs: SnapshotBlobs } | null> {
    const snap = await this.snapshots.latestValid();
    if (snap === null) return null;
    const { chain, consensus, tip } = snap.blobs;
    if (chain === undefined || consensus === undefined || tip === undefined) throw new Error(`snapshot at height ${snap.height} lacks a chain, consensus or tip blob`);
    return { height: snap.height, blobs: { chain, consensus, tip } };
  }

  get logHeight(): number {
    return this.log.lastHeight;
  }

  readLog(from: number, to: number): AsyncIterable<LogRecord> {
    return this.log.readRange(from, to);
  }

  loadPendingBlocks(maxTxs: number, maxTxBytes: number): Promise<Block[]> {
    return this.pending.loadAll(maxTxs, maxTxBytes);
  }

  close(): void {
    this.safety.close();
  }
}
