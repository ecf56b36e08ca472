// Everything a replica needs from the world, as small interfaces. A validator process provides
// them with the file system, TCP and a worker pool (src/node); the simulator with seeded fakes that
// lose unsynced writes, tear appends, drop and delay messages and answer verifications late
// (src/sim). The replica (replica.ts) is the same code in both.
import type { MessageType } from '../consensus/messages.ts';
import type { Block, QC, SafetyState } from '../consensus/types.ts';
import type { LogRecord } from '../util/log-record.ts';

/** What travels between validators: a consensus message kind, or a batch of gossiped transactions. */
export type WireKind = MessageType | 'txs';

export interface ReplicaNetwork {
  send(to: number, kind: WireKind, bytes: Uint8Array): void;
  /** To every other validator. */
  broadcast(kind: WireKind, bytes: Uint8Array): void;
}

export interface SnapshotBlobs {
  readonly chain: Uint8Array;
  readonly consensus: Uint8Array;
  /** The committed tip block and its QC. */
  readonly tip: Uint8Array;
}

/**
 * A write the storage could not make because the disk is full (ENOSPC). Unlike any other failed
 * write, it left nothing behind that the replica would read back (a torn append is cut off before
 * this is thrown), so the same call may be made again once there is space; until it succeeds the
 * replica performs nothing that came after it (replica.ts: durably).
 */
export class StorageFullError extends Error {
  constructor(
    /** which write: safety, block or log */
    readonly op: string,
    override readonly cause: unknown,
  ) {
    super(`disk full (ENOSPC) writing ${op}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'StorageFullError';
  }
}

/**
 * Where a replica keeps what must survive a crash. Every write is durable when it returns (a
 * crash during one leaves it either done or not done, never torn into something the replica
 * would read back as valid). saveSafety, putPendingBlock and appendCommitted throw
 * StorageFullError when the disk is full and the call may be retried as is.
 */
export interface ReplicaStorage {
  /** The consensus safety state (what forbids signing twice). */
  saveSafety(state: SafetyState): void;
  /** An uncommitted block the core asked to keep; restoreBlocks() gets them back. */
  putPendingBlock(block: Block): void;
  prunePendingBlocks(committedHeight: number): void;
  /** Committed blocks' log records, in height order. */
  appendCommitted(records: readonly LogRecord[]): void;
  /** Height of the last committed block that is durable. */
  readonly syncedHeight: number;
  /** Logged records of heights from..to (ascending), for serving a peer that is behind. */
  readCommitted(from: number, to: number): AsyncIterable<LogRecord>;
  /** Write a snapshot in the background; at most one at a time. Resolves once it is durable. */
  writeSnapshot(height: number, blobs: SnapshotBlobs): Promise<void>;
}

/** Time and timers. `now()` is the only clock the consensus core ever sees. */
export interface ReplicaClock {
  now(): number;
  /** Call `fire` once, at or after `at` (in now()'s ms). */
  setTimer(at: number, fire: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** High-resolution ms for metrics only (never reaches the core); absent in the simulator. */
  perfNow?(): number;
}

export type TimerHandle = { readonly __timer: unique symbol } | number | object;

export interface SigItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Ed25519 fast-path verification off the consensus thread. `true` means valid; `false` means "not
 * confirmed" (ZIP-215 on the replica decides); null means not answered (saturated, closed, a
 * worker died): the replica verifies itself.
 */
export interface SignaturePool {
  verify(items: readonly SigItem[]): Promise<boolean[] | null>;
}

export interface ReplicaLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The certified blocks a replica served or received, as they travel in a sync response. */
export interface CertifiedRange {
  readonly blocks: readonly Block[];
  readonly qc: QC | null;
}
