// A simulated validator's disk, kept across its crashes. It implements the replica's storage and
// recovery interfaces with the fault model of the real stores (src/store, src/node/fs-storage.ts):
// - the safety file has two slots written alternately, so a crash during a save leaves the
//   previous state (the torn slot fails its checksum);
// - a pending block is written and fsynced whole, or is absent;
// - a log append is durable once it returns; a crash during one leaves a torn tail, which the log
//   cuts at the next open (the records of that append are gone);
// - a snapshot is written in the background and exists once its write completed.
// A crash is injected by arming a countdown of world operations (storage writes and sends, see
// replica-node.ts): the operation that reaches zero throws `Crash` before it takes effect.
import { decodeSafety, encodeSafety } from '../consensus/safety.ts';
import type { SafetyState, Block } from '../consensus/types.ts';
import type { RecoverySource } from '../driver/recovery.ts';
import type { ReplicaStorage, SnapshotBlobs } from '../driver/world.ts';
import { toHex } from '../crypto/sha256.ts';
import { LOG_JSON, type LogRecord } from '../util/log-record.ts';

/** Thrown by a world operation of a node whose crash point was reached. */
export class Crash extends Error {
  override readonly name = 'Crash';
}

/** What happens to a node's world operations: counted down to a crash, or refused once it is down. */
export interface CrashGate {
  /** Called before every operation; throws Crash when the node dies at this point (or is dead). */
  step(): void;
}

/** A record as the log file holds it: its JSON text, parsed back (what a replay reads). */
function asStored(r: LogRecord): LogRecord {
  const own = r[LOG_JSON];
  const text = own === undefined ? JSON.stringify(r) : typeof own === 'string' ? own : own.join('');
  return JSON.parse(text) as LogRecord;
}

export class SimDisk implements ReplicaStorage, RecoverySource {
  /** The safety state's canonical bytes, as the safety file holds them. */
  private safetyBytes: Uint8Array | null = null;
  readonly pending = new Map<string, Block>();
  readonly log: LogRecord[] = [];
  readonly snapshots = new Map<number, SnapshotBlobs>();
  /** Snapshot writes started and not yet completed (they complete at a later simulated time). */
  private readonly writing = new Set<number>();
  tornTails = 0;
  gate: CrashGate = { step() {} };

  constructor(
    /** Schedules the completion of a background write after a simulated delay. */
    private readonly later: (fire: () => void) => void,
    private readonly snapshotsKept = 2,
  ) {}

  saveSafety(state: SafetyState): void {
    this.gate.step();
    this.safetyBytes = encodeSafety(state);
  }

  get safety(): SafetyState | null {
    return this.safetyBytes === null ? null : decodeSafety(this.safetyBytes);
  }

  putPendingBlock(block: Block): void {
    this.gate.step();
    this.pending.set(toHex(block.hash), block);
  }

  prunePendingBlocks(committedHeight: number): void {
    for (const [k, b] of this.pending) if (b.header.height <= committedHeight) this.pending.delete(k);
  }

  appendCommitted(records: readonly LogRecord[]): void {
    try {
      this.gate.step();
    } catch (e) {
      // Died mid-append: the bytes written so far form a torn tail that the next open cuts off.
      this.tornTails++;
      throw e;
    }
    for (const r of records) {
      if (r.h !== this.log.length + 1) throw new Error(`sim disk: appending height ${r.h} after ${this.log.length}`);
      this.log.push(asStored(r));
    }
  }

  get syncedHeight(): number {
    return this.log.length;
  }

  async *readCommitted(from: number, to: number): AsyncIterable<LogRecord> {
    for (let h = from; h <= Math.min(to, this.log.length); h++) yield this.log[h - 1]!;
  }

  writeSnapshot(height: number, blobs: SnapshotBlobs): Promise<void> {
    this.writing.add(height);
    return new Promise((resolve) => {
      this.later(() => {
        // A crash before completion loses the snapshot (crash() clears `writing`).
        if (!this.writing.delete(height)) return;
        this.snapshots.set(height, blobs);
        const heights = [...this.snapshots.keys()].sort((a, b) => a - b);
        while (heights.length > this.snapshotsKept) this.snapshots.delete(heights.shift()!);
        resolve();
      });
    });
  }

  /** What a crash does to the disk: background writes in progress never complete. */
  crashed(): void {
    this.writing.clear();
  }

  // ---- RecoverySource

  async latestSnapshot(): Promise<{ readonly height: number; readonly blobs: SnapshotBlobs } | null> {
    let best = -1;
    for (const h of this.snapshots.keys()) if (h > best && h <= this.log.length) best = h;
    return best < 0 ? null : { height: best, blobs: this.snapshots.get(best)! };
  }

  get logHeight(): number {
    return this.log.length;
  }

  readLog(from: number, to: number): AsyncIterable<LogRecord> {
    return this.readCommitted(from, to);
  }
}
