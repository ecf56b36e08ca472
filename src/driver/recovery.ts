// Restart: the committed state is the latest valid snapshot plus a replay of the log after it,
// every replayed state root checked against the logged one. Two steps with the consensus core's
// construction between them (it needs the snapshot's tip): loadSnapshot(), then replayLog().
import type { ChainApp, CommitResult } from '../chain/app.ts';
import { decodeSnapshot } from '../chain/snapshot.ts';
import type { Receipt } from '../chain/receipts.ts';
import { decodeCanonical, type Canon } from '../codec/canonical.ts';
import { blockFromCanon, qcFromCanon } from '../consensus/block.ts';
import type { CommittedTip, ConsensusCore } from '../consensus/core.ts';
import type { QC } from '../consensus/types.ts';
import { bytesEqual, toHex } from '../crypto/sha256.ts';
import type { LogRecord } from '../util/log-record.ts';
import { decodeRecord } from './records.ts';
import type { SnapshotBlobs } from './world.ts';

/** What recovery reads: the store's snapshots and log. */
export interface RecoverySource {
  /** The latest snapshot that passes its checksums, or null. */
  latestSnapshot(): Promise<{ readonly height: number; readonly blobs: SnapshotBlobs } | null>;
  /** Height of the last record in the log. */
  readonly logHeight: number;
  readLog(from: number, to: number): AsyncIterable<LogRecord>;
}

export interface RecoveryBounds {
  readonly maxTxsPerBlock: number;
  readonly maxTxBytes: number;
}

export interface SnapshotStart {
  /** The committed tip the core starts from (null: genesis). */
  readonly tip: CommittedTip | null;
  /** The core's committed-derived state at that tip (importState), or null. */
  readonly consensusState: Uint8Array | null;
  /** The first height the log replay starts at. */
  readonly fromHeight: number;
}

/** Load the latest valid snapshot into `app`. Throws with the reason when the data directory cannot be trusted. */
export async function loadSnapshot(source: RecoverySource, app: ChainApp, bounds: RecoveryBounds): Promise<SnapshotStart> {
  const snap = await source.latestSnapshot();
  if (snap === null) return { tip: null, consensusState: null, fromHeight: 1 };
  if (snap.height > source.logHeight) {
    throw new Error(`snapshot at height ${snap.height} is ahead of the block log, which ends at ${source.logHeight}: the log lost fsynced blocks; restore the data directory from a backup`);
  }
  const chainSnap = decodeSnapshot(snap.blobs.chain, app.snapshotMaxBytes());
  app.importState(chainSnap);
  const t = decodeCanonical(snap.blobs.tip, 64 << 20) as readonly Canon[];
  const tip: CommittedTip = {
    block: blockFromCanon(t[0], 'snapshot.tip.block', bounds.maxTxsPerBlock, bounds.maxTxBytes),
    qc: qcFromCanon(t[1], 'snapshot.tip.qc'),
  };
  if (!bytesEqual(tip.block.hash, chainSnap.blockHash)) throw new Error(`snapshot at height ${snap.height}: consensus tip and chain state disagree`);
  return { tip, consensusState: snap.blobs.consensus, fromHeight: snap.height + 1 };
}

/**
 * Replay the log from `fromHeight` through the app and the core; every state root must match the
 * logged one. `replayed` sees each block's receipts. Returns the QC of the last replayed block.
 */
export async function replayLog(
  source: RecoverySource, app: ChainApp, core: ConsensusCore, fromHeight: number, bounds: RecoveryBounds,
  replayed: (height: number, receipts: readonly Receipt[]) => void,
): Promise<{ readonly count: number; readonly tipQc: QC | null }> {
  let count = 0;
  let tipQc: QC | null = null;
  for await (const rec of source.readLog(fromHeight, source.logHeight)) {
    const { block, qc, root, receipts: logged } = decodeRecord(rec, bounds.maxTxsPerBlock, bounds.maxTxBytes);
    const h = block.header.height;
    // Signatures of transactions this node applied before were ZIP-215-checked then; checking
    // them again would only cost restart time (the state root check below catches any change).
    logged.forEach((r, i) => {
      if (r.status === 'applied' && block.txs[i]) app.trustAsVerified(block.txs[i]);
    });
    const res = app.execute(block.header.parentHash, h, block.txs);
    if (toHex(res.stateRoot) !== root || !bytesEqual(res.stateRoot, block.header.stateRoot)) {
      throw new Error(`replay: state root at height ${h} is ${toHex(res.stateRoot)}, but the block log says ${root}: the engine or the log differs from the one that committed it`);
    }
    app.attach(res.id, block.hash);
    const result: CommitResult = app.commit(block.hash);
    core.replayCommitted(block, qc);
    tipQc = qc;
    replayed(h, result.receipts.length ? result.receipts : logged);
    count++;
  }
  return { count, tipQc };
}
