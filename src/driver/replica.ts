// One validator's driver: it feeds every input to the consensus core through one serial queue and
// performs each `Ready` batch the core returns, in the batch's order (blocks and safety state
// durable, then messages out, then commits applied and logged, then the timer). It talks to the
// world only through the interfaces of world.ts, so the validator process (src/node) and the
// simulator (src/sim) run this same code with the real ChainApp and engine.
import type { ChainApp, CommitResult } from '../chain/app.ts';
import { encodeCanonical } from '../codec/canonical.ts';
import { blockToCanon, qcToCanon } from '../consensus/block.ts';
import type { ConsensusCore } from '../consensus/core.ts';
import { decodeMessage, encodeMessage, syncBlockBytes, syncResponseBudget, type ConsensusMessage } from '../consensus/messages.ts';
import type { Note, Ready } from '../consensus/ready.ts';
import type { Block, QC } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import { encodeSnapshot } from '../chain/snapshot.ts';
import { Admission } from './admission.ts';
import { InflightVerifications, preverifyTxs } from './preverify.ts';
import { decodeRecord, makeRecord } from './records.ts';
import { SerialQueue } from './serial-queue.ts';
import { StorageFullError, type ReplicaClock, type ReplicaLogger, type ReplicaNetwork, type ReplicaStorage, type SignaturePool, type TimerHandle, type WireKind } from './world.ts';
import { PocProver, type PocProverParts } from './poc-prover.ts';

export interface ReplicaConfig {
  readonly index: number;
  /** Number of validators (1: nothing to gossip). */
  readonly validators: number;
  /** Bounds for decoding the replica's own log records. */
  readonly maxTxsPerBlock: number;
  readonly maxTxBytes: number;
  /** Snapshot every N blocks (0 = never)... */
  readonly snapshotEvery: number;
  /** ...or once this many transactions were committed since the last one. */
  readonly snapshotTxs: number;
  /** Inputs waiting for the core beyond which droppable ones are refused. */
  readonly maxQueuedInputs?: number;
}

export interface CommittedBlock {
  readonly block: Block;
  readonly qc: QC;
  readonly result: CommitResult;
}

/** What the host watches: metrics and RPC bookkeeping in a node, invariants in the simulator. All optional. */
export interface ReplicaObserver {
  /** Blocks committed and durable in the log, in height order. */
  committed?(commits: readonly CommittedBlock[]): void;
  note?(note: Note): void;
  /** A client or gossiped transaction was admitted to the mempool (`gossiped`: from a peer). */
  admitted?(txid: string, gossiped: boolean): void;
  /** Transactions refused, by reason (malformed gossip, a full admission gate, ...). */
  refused?(code: string, count: number): void;
  /** Block transactions whose signatures were checked on the pool before the block reached the core. */
  preverified?(count: number): void;
  /** Seconds the app took to apply one input's committed blocks (when the clock has perfNow). */
  applySeconds?(seconds: number): void;
  /** A peer sent too many invalid consensus messages and is ignored for a while (see PeerMute). */
  peerMuted?(peer: number, invalid: number): void;
  /** Consensus messages from a muted peer, dropped before any verification. */
  mutedDropped?(count: number): void;
  /** The disk filled up writing `op`: the replica is paused until the write succeeds (null: resumed). */
  storageFull?(state: { readonly op: string; readonly since: number; readonly reason: string } | null): void;
}

export interface ReplicaParts {
  readonly config: ReplicaConfig;
  readonly core: ConsensusCore;
  readonly app: ChainApp;
  readonly storage: ReplicaStorage;
  readonly network: ReplicaNetwork;
  readonly clock: ReplicaClock;
  readonly pool: SignaturePool | null;
  readonly logger: ReplicaLogger;
  readonly observer?: ReplicaObserver;
  /** The QC certifying the committed tip (snapshots store it beside the block). */
  readonly tipQc: QC;
  /** Something the replica cannot go on from (a failed fsync, an app that refuses a certified block). */
  readonly onFatal: (e: Error) => void;
  /** This validator's proof-of-capacity prover (a chain with PoC and a replica to prove). */
  readonly poc?: PocProverParts;
}

export class Replica {
  readonly core: ConsensusCore;
  readonly app: ChainApp;
  readonly admission: Admission;
  readonly prover: PocProver | null;
  private readonly queue: SerialQueue;
  private readonly verifying = new InflightVerifications();
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private networkOff = false;
  private tipQcValue: QC;
  /** height and state root of the last block whose log record is durable */
  private durable: { height: number; root: Uint8Array };
  private lastSnapshotHeight: number;
  private txsSinceSnapshot = 0;
  private snapshotWrite: Promise<void> | null = null;
  private fatal: Error | null = null;
  private readonly mute = new PeerMute();
  /** set while a write waits for disk space (durably) */
  private full: { op: string; since: number } | null = null;

  constructor(private readonly parts: ReplicaParts) {
    this.core = parts.core;
    this.app = parts.app;
    this.tipQcValue = parts.tipQc;
    this.lastSnapshotHeight = parts.core.committedHeight;
    this.durable = { height: parts.app.height, root: parts.app.stateRoot };
    this.queue = new SerialQueue(parts.config.maxQueuedInputs ?? 10_000, (e) => this.die(e));
    this.prover = parts.poc !== undefined ? new PocProver(parts.poc, parts.app, parts.logger, () => parts.clock.perfNow?.() ?? parts.clock.now()) : null;
    this.admission = new Admission({
      app: parts.app, pool: parts.pool, verifying: this.verifying, clock: parts.clock, network: parts.network, observer: parts.observer,
      gossip: parts.config.validators > 1, committedHeight: () => this.core.committedHeight,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Re-insert the stored uncommitted blocks, then enter the first round. */
  async start(pending: readonly Block[]): Promise<void> {
    this.queue.push(async () => {
      await this.perform(this.core.restoreBlocks(pending, this.parts.clock.now()));
      await this.perform(this.core.start(this.parts.clock.now()));
    }, false);
    await this.queue.drain();
  }

  /** Finish what is queued (its sends still go out, its commits are logged), then go quiet. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) this.parts.clock.clearTimer(this.timer);
    this.admission.stop();
    await this.queue.drain();
    await this.snapshotWrite;
    this.networkOff = true;
  }

  /** The first fatal error, or null. */
  get failure(): Error | null {
    return this.fatal;
  }

  get tipQc(): QC {
    return this.tipQcValue;
  }

  /** Height and state root of the last block whose log record is durable: what survives a crash. */
  get durableHeight(): number {
    return this.durable.height;
  }

  get durableRoot(): Uint8Array {
    return this.durable.root;
  }

  get queuedInputs(): number {
    return this.queue.length;
  }

  /** Inputs finished so far: if it stands still while inputs wait, the queue is stuck on an await. */
  get completedInputs(): number {
    return this.queue.completed;
  }

  // ---------------------------------------------------------------- inputs

  /** A message from validator `from` (authenticated by the network). */
  receive(from: number, kind: WireKind, payload: Uint8Array): void {
    if (this.stopped) return;
    if (kind === 'txs') {
      this.admission.receiveGossip(from, payload);
      return;
    }
    if (this.mute.muted(from, this.parts.clock.now())) {
      this.parts.observer?.mutedDropped?.(1);
      return;
    }
    if (kind === 'sync_request' && this.serveSyncFromLog(from, payload)) return;
    if ((kind === 'proposal' || kind === 'sync_response') && this.parts.pool !== null) {
      this.queueBlockMessage(this.parts.pool, from, payload);
      return;
    }
    this.queue.push(() => this.fromPeer(from, payload));
  }

  /**
   * One peer message into the core. A peer whose messages keep failing the core's checks (invalid
   * signatures, malformed) is muted: what it sends is dropped before any verification, here and on
   * receipt, so a flood of bad signatures from an authenticated peer cannot hold the queue.
   */
  private fromPeer(from: number, msg: Uint8Array | ConsensusMessage): Promise<void> | void {
    const now = this.parts.clock.now();
    if (this.mute.muted(from, now)) {
      this.parts.observer?.mutedDropped?.(1);
      return;
    }
    const before = this.core.metrics.invalidMessages;
    const ready = this.core.onMessage(from, msg, now);
    if (this.core.metrics.invalidMessages > before && this.mute.invalid(from, now)) {
      this.parts.logger.warn('peer muted: too many invalid consensus messages; ignoring its consensus messages for a while', { peer: from, invalidPerWindow: PeerMute.LIMIT, muteMs: PeerMute.MUTE_MS });
      this.parts.observer?.peerMuted?.(from, PeerMute.LIMIT);
    }
    return this.perform(ready);
  }

  /**
   * A proposal or sync response: its transactions' signatures are checked on the pool first (see
   * preverify.ts). Verification starts now, in parallel with whatever the queue is doing; the core
   * sees the message in arrival order, once both are done.
   */
  private queueBlockMessage(pool: SignaturePool, from: number, payload: Uint8Array): void {
    let msg: ConsensusMessage;
    try {
      msg = decodeMessage(payload, this.core.limits);
    } catch {
      // The core counts and logs the malformed message.
      this.queue.push(() => this.fromPeer(from, payload));
      return;
    }
    const txs = msg.type === 'proposal' ? msg.block.txs : msg.type === 'sync_response' ? msg.blocks.flatMap((b) => b.txs) : [];
    const ready = txs.length > 0 ? preverifyTxs(this.app, pool, this.verifying, txs) : null;
    this.queue.push(async () => {
      if (ready) this.parts.observer?.preverified?.((await ready).verified);
      await this.fromPeer(from, msg);
    });
  }

  private onTimer(): void {
    const at = this.timerAt;
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    // A host timer can fire a little before `at` (Node starts it from the event loop's cached clock,
    // which lags after long synchronous work). The core only asks for a timer when its deadline
    // changes, so an early onTimer would leave no timer at all: wait out the rest.
    if (this.parts.clock.now() < at) {
      this.setTimer(at);
      return;
    }
    this.queue.push(() => this.perform(this.core.onTimer(this.parts.clock.now())), false);
  }

  /**
   * The core serves sync requests from its in-memory window only; a peer asking for a height below
   * it (further behind, or behind the snapshot this replica restarted from) is served from the block
   * log here (bounded per response), with the QC certifying the last block sent.
   */
  private serveSyncFromLog(from: number, payload: Uint8Array): boolean {
    let msg;
    try {
      msg = decodeMessage(payload, this.core.limits);
    } catch {
      return false;
    }
    const storage = this.parts.storage;
    if (msg.type !== 'sync_request' || msg.fromHeight < 1 || msg.fromHeight > storage.syncedHeight) return false;
    if (msg.fromHeight >= this.core.lowestCachedHeight) return false;
    const to = Math.min(storage.syncedHeight, msg.fromHeight + this.core.limits.maxSyncBlocks - 1);
    const budget = syncResponseBudget(this.core.limits);
    const { maxTxsPerBlock, maxTxBytes } = this.parts.config;
    void (async () => {
      const blocks: Block[] = [];
      let qc: QC | null = null;
      let size = 0;
      for await (const rec of storage.readCommitted(msg.fromHeight, to)) {
        const d = decodeRecord(rec, maxTxsPerBlock, maxTxBytes);
        size += syncBlockBytes(d.block);
        if (blocks.length > 0 && size > budget) break;
        blocks.push(d.block);
        qc = d.qc;
      }
      if (this.networkOff) return;
      this.parts.network.send(from, 'sync_response', encodeMessage({ type: 'sync_response', blocks, qc }));
      this.parts.logger.debug('served blocks from the log', { peer: from, from: msg.fromHeight, to: msg.fromHeight + blocks.length - 1 });
    })().catch((e) => this.parts.logger.warn('could not serve a sync request from the log', { peer: from, error: (e as Error).message }));
    return true;
  }

  // ---------------------------------------------------------------- performing a Ready batch

  /** True while a write waits for disk space; nothing queued runs meanwhile. */
  get storageFull(): { readonly op: string; readonly since: number } | null {
    return this.full;
  }

  /**
   * The batch in its own order: what must be durable is, before anything leaves. A block the same
   * batch commits reaches the durable log below, so it is not stored as pending first. A write that
   * finds the disk full holds the batch right there (durably): nothing after it is sent, committed
   * or reported until it succeeds.
   */
  private async perform(ready: Ready): Promise<void> {
    const { storage, network } = this.parts;
    const committedHere = ready.commits.length > 0 ? new Set(ready.commits.map((c) => toHex(c.block.hash))) : null;
    for (const b of ready.blocks) if (committedHere === null || !committedHere.has(toHex(b.hash))) await this.durably(() => storage.putPendingBlock(b));
    const safety = ready.safety;
    if (safety !== null) await this.durably(() => storage.saveSafety(safety));
    if (!this.networkOff) {
      for (const m of ready.messages) {
        if (m.to === 'all') network.broadcast(m.kind, m.bytes);
        else if (m.to !== this.parts.config.index) network.send(m.to, m.kind, m.bytes);
      }
    }
    if (ready.commits.length > 0) await this.commit(ready);
    if (ready.timerAt !== null) this.setTimer(ready.timerAt);
    for (const n of ready.notes) this.report(n);
  }

  /**
   * Make one write; if the disk is full, retry the same write (every 100 ms, backing off to 1 s)
   * until it succeeds, and only then return. The serial queue waits behind it, so the consensus
   * core sees no input meanwhile; droppable inputs beyond the queue's bound are refused and counted.
   * Any other failure is thrown as before (fatal).
   */
  private durably(write: () => void): Promise<void> | undefined {
    try {
      write();
      return undefined;
    } catch (e) {
      if (!(e instanceof StorageFullError)) throw e;
      return this.waitForSpace(write, e);
    }
  }

  private async waitForSpace(write: () => void, first: StorageFullError): Promise<void> {
    const { clock, logger, observer } = this.parts;
    const since = clock.now();
    this.full = { op: first.op, since };
    const reason = `disk full (ENOSPC) writing ${first.op}; paused, retrying`;
    logger.error('disk full: paused (no vote, proposal, send or commit until this write succeeds); retrying', { op: first.op, code: 'ENOSPC', error: first.message });
    observer?.storageFull?.({ op: first.op, since, reason });
    let delay = 100;
    let attempts = 1;
    for (;;) {
      await new Promise<void>((r) => clock.setTimer(clock.now() + delay, r));
      delay = Math.min(1000, delay * 2);
      if (this.stopped) {
        // Shutting down: nothing after the failed write is done; a restart recovers from disk.
        throw new Error(`stopped while the disk was full (${first.op} not written after ${attempts} attempts)`);
      }
      attempts++;
      try {
        write();
        break;
      } catch (e) {
        if (!(e instanceof StorageFullError)) throw e;
      }
    }
    this.full = null;
    logger.info('disk space available again: write succeeded, resuming', { op: first.op, attempts, pausedMs: clock.now() - since });
    observer?.storageFull?.(null);
  }

  /** Apply committed blocks to the app, log them durably, and only then report them. */
  private async commit(ready: Ready): Promise<void> {
    const perf = this.parts.clock.perfNow;
    const t = perf?.();
    const done: CommittedBlock[] = ready.commits.map((c) => ({ block: c.block, qc: c.qc, result: this.app.commit(c.block.hash) }));
    if (t !== undefined && perf !== undefined) this.parts.observer?.applySeconds?.((perf() - t) / 1000);
    const records = done.map((c) => makeRecord(c.block, c.qc, c.result));
    await this.durably(() => this.parts.storage.appendCommitted(records));
    const last = done[done.length - 1]!;
    this.tipQcValue = last.qc;
    this.durable = { height: last.block.header.height, root: last.result.stateRoot };
    this.parts.storage.prunePendingBlocks(last.block.header.height);
    this.parts.observer?.committed?.(done);
    if (this.prover !== null) {
      // Commits and answers go through the core like a peer's: kept for inclusion and gossiped.
      for (const item of this.prover.afterCommit(this.core.committedState, last.block.header.height)) {
        this.queue.push(() => this.perform(this.core.onPocItem(item, this.parts.clock.now())));
      }
    }
    for (const c of done) this.txsSinceSnapshot += c.block.txs.length;
    // Snapshot every N blocks, or sooner once many transactions piled up since the last one, so a
    // restart never replays more than ~snapshotTxs transactions however full the blocks are.
    const { snapshotEvery, snapshotTxs } = this.parts.config;
    const h = last.block.header.height;
    const byBlocks = snapshotEvery > 0 && Math.floor(h / snapshotEvery) > Math.floor(this.lastSnapshotHeight / snapshotEvery);
    if (snapshotEvery > 0 && (byBlocks || this.txsSinceSnapshot >= snapshotTxs)) this.startSnapshot();
  }

  private report(n: Note): void {
    const log = this.parts.logger;
    switch (n.type) {
      case 'evidence':
        log.warn('equivocation evidence', { validator: n.evidence.validator, round: n.evidence.round, kind: n.evidence.kind });
        break;
      case 'slashing':
        log.warn('slashing committed', { event: n.event });
        break;
      case 'poc_outcome': {
        const o = n.outcome;
        log[o.outcome === 'ontime' ? 'info' : 'warn']('PoC epoch outcome', { validator: o.validator, epoch: o.epoch, outcome: o.outcome, reliability: `${o.relBefore} → ${o.relAfter}` });
        break;
      }
      case 'state_root_mismatch':
        log.error('state root mismatch: not voting for this block', { height: n.height, round: n.round, proposer: n.proposer, ours: toHex(n.ours), theirs: toHex(n.theirs) });
        break;
      case 'log':
        log[n.level](n.msg);
        break;
    }
    this.parts.observer?.note?.(n);
  }

  /**
   * Snapshot the committed state now and write it off the consensus path: the data is captured
   * synchronously (so it is exactly this height's), the write runs in the background, one at a
   * time; a snapshot due while one is being written is retried on the next commit.
   */
  private startSnapshot(): void {
    if (this.snapshotWrite !== null) return;
    const { clock } = this.parts;
    const t = clock.now();
    const height = this.core.committedHeight;
    const tip = encodeCanonical([blockToCanon(this.core.committedBlock), qcToCanon(this.tipQcValue)]);
    const write = this.parts.storage.writeSnapshot(height, { chain: encodeSnapshot(this.app.exportState()), consensus: this.core.exportState(), tip });
    this.lastSnapshotHeight = height;
    this.txsSinceSnapshot = 0;
    this.snapshotWrite = write.then(
      () => this.parts.logger.info('snapshot written', { height, ms: clock.now() - t }),
      (e: unknown) => {
        // A snapshot is an optimisation: on a full disk, skip it (the log has every block; the
        // next one is due as usual); any other failure is fatal.
        if ((e as NodeJS.ErrnoException)?.code !== 'ENOSPC') return this.die(e);
        this.parts.logger.warn('disk full (ENOSPC): snapshot not written; the log has every block, the next one is due as usual', { height });
      },
    ).finally(() => {
      this.snapshotWrite = null;
    });
  }

  private setTimer(at: number): void {
    if (this.stopped) return;
    const { clock } = this.parts;
    if (this.timer !== null) clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = clock.setTimer(at, () => this.onTimer());
  }

  private die(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.fatal === null) this.fatal = err;
    this.parts.onFatal(err);
  }
}

/**
 * Per-peer count of consensus messages the core refused. More than LIMIT within WINDOW_MS mutes the
 * peer for MUTE_MS. An honest peer sends none or a few (a message from a round the core has just
 * moved past is ignored, not refused), so only a faulty or hostile one crosses it.
 */
export class PeerMute {
  static readonly LIMIT = 50;
  static readonly WINDOW_MS = 1000;
  static readonly MUTE_MS = 10_000;
  private readonly peers = new Map<number, { windowStart: number; count: number; until: number }>();

  muted(peer: number, now: number): boolean {
    const p = this.peers.get(peer);
    return p !== undefined && now < p.until;
  }

  /** Count one refused message; true when this one mutes the peer. */
  invalid(peer: number, now: number): boolean {
    let p = this.peers.get(peer);
    if (p === undefined) this.peers.set(peer, (p = { windowStart: now, count: 0, until: 0 }));
    if (now - p.windowStart > PeerMute.WINDOW_MS) {
      p.windowStart = now;
      p.count = 0;
    }
    if (++p.count <= PeerMute.LIMIT) return false;
    p.until = now + PeerMute.MUTE_MS;
    p.count = 0;
    return true;
  }
}
