// One NUMCHAIN validator process: opens and recovers its data directory, then runs the replica
// driver (src/driver/replica.ts) with the real world: the file system (fs-storage.ts), the TCP
// transport, the signature worker pool and the process clock. What the RPC reads (receipts, recent
// blocks, heights to wait for) and the Prometheus view (node-metrics.ts) are kept here.
import { join } from 'node:path';
import { ChainApp, type AdmitResult } from '../chain/app.ts';
import { Mempool, DEFAULT_MEMPOOL_OPTIONS, type MempoolOptions } from '../chain/mempool.ts';
import type { Receipt } from '../chain/receipts.ts';
import { genesisHash } from '../consensus/block.ts';
import { ConsensusCore } from '../consensus/core.ts';
import { decodeSafety } from '../consensus/safety.ts';
import type { Block, QC, SigVerifier, Validator } from '../consensus/types.ts';
import { Verifier } from '../crypto/ed25519.ts';
import { loadFastVerifier, nodeSha256, nodeSha256Hex, nodeSha256Into } from '../crypto/fast-verify-node.ts';
import { bytesEqual, fromHex, toHex, useSha256 } from '../crypto/sha256.ts';
import type { MaEngine } from '../engine/engine.ts';
import { loadSnapshot, replayLog } from '../driver/recovery.ts';
import { Replica, type CommittedBlock } from '../driver/replica.ts';
import type { BlockRecord } from '../driver/records.ts';
import type { ReplicaClock } from '../driver/world.ts';
import { engineSha256Hex, loadEngine } from '../host/node-loader.ts';
import { VerifyPool } from '../host/verify-pool.ts';
import { NodeMetrics } from '../metrics/metrics.ts';
import { Transport } from '../net/transport.ts';
import { rateLimitedRefusalLog } from '../net/tls.ts';
import { nodeSigner } from '../rpc/node-signer.ts';
import { BlockLog } from '../store/block-log.ts';
import { openDataDir, type DataDirLock } from '../store/data-dir.ts';
import { SafetyStore } from '../store/safety-store.ts';
import { SnapshotStore } from '../store/snapshot.ts';
import { FifoMap } from '../util/fifo-map.ts';
import { FsStorage } from './fs-storage.ts';
import { keyPathFor, readGenesis, readKeyFile, type Genesis } from './genesis.ts';
import type { Logger } from './logger.ts';
import { EXIT_PERSIST_FAILED, fsFaultFromEnv, type PersistOp } from './fs-fault.ts';
import { NodeTelemetry } from './node-metrics.ts';
import { PendingBlockStore } from './pending-blocks.ts';
import { ReceiptIndex } from './receipt-index.ts';
import { QueueWatchdog } from './queue-watchdog.ts';
import { REJECT_REASONS } from '../chain/reject-reasons.ts';
import { KIND_TO_NET, kindOfNet } from './wire-kinds.ts';
import { ensureReplica, PocReplicaSource } from './poc-replica.ts';
import { maxAnswerBytes } from '../poc/params.ts';
import { wireLimits } from '../poc/wire.ts';
import type { PocConfig } from '../consensus/types.ts';
import type { PocProverParts } from '../driver/poc-prover.ts';

export { REJECT_REASONS } from '../chain/reject-reasons.ts';

export const NODE_VERSION = '0.1.0';

export interface NodeOptions {
  readonly genesisPath: string;
  readonly index: number;
  readonly dataDir: string;
  /** default: key-<index>.json beside genesis */
  readonly keyPath?: string;
  /** gossip listen address (default: this validator's genesis address) */
  readonly gossip?: string;
  /** peer gossip addresses overriding genesis: index → host:port */
  readonly peers?: ReadonlyMap<number, string>;
  /** TLS 1.3 on peer links (default true; see src/net/tls.ts) */
  readonly peerTls?: boolean;
  readonly logger: Logger;
  /** snapshot every N blocks (0 = never) */
  readonly snapshotEvery?: number;
  /** also snapshot once this many transactions were committed since the last snapshot */
  readonly snapshotTxs?: number;
  readonly snapshotsKept?: number;
  readonly mempool?: Partial<MempoolOptions>;
  /** committed receipts kept for GET /receipt */
  readonly receiptIndexSize?: number;
  /** injected clock (ms); the only time source the core ever sees */
  readonly now?: () => number;
  /** worker threads verifying admission signatures (0 = verify on the main thread) */
  readonly verifyWorkers?: number;
  /**
   * OS nice value of those threads (default 10). Under load the consensus thread then gets a core
   * first and verification takes what is left: a round waits for the consensus thread, never for
   * admission, so this shortens rounds without changing how much gets verified.
   */
  readonly verifyNice?: number;
  /** where this validator keeps its PoC replica (default <dataDir>/poc); used when genesis has `poc` */
  readonly pocDir?: string;
  /** chunks of the replica built at first start when there is none (default genesis poc.targetChunks; 0: build none) */
  readonly pocChunks?: number;
}

/** The process clock: what the core sees (injectable), Node timers, and performance.now for metrics. */
function processClock(now: () => number): ReplicaClock {
  return {
    now,
    perfNow: () => performance.now(),
    setTimer: (at, fire) => setTimeout(fire, Math.max(0, at - now())),
    clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  };
}

export class NumchainNode {
  readonly metrics: NodeMetrics;
  readonly receipts: ReceiptIndex;
  readonly chainId: string;
  readonly replica: Replica;
  /**
   * Admission time of txids not yet committed, for the submit-to-commit histogram. A commit deletes
   * its entry, so what stays is what waits (at most a mempool, 50,000 by default) and what never
   * commits (expired, refused by execution): twice the mempool is room for both.
   */
  private readonly admittedAt = new FifoMap<string, number>(100_000);
  private readonly blockWaiters = new Map<number, Set<() => void>>();
  private lastBlockTime: number | null = null;
  /** why consensus is paused (a full disk), or null; /health reports it */
  storageFullReason: string | null = null;
  /** recently committed blocks with their receipts, so RPC readers need not re-read the log */
  readonly recent = new FifoMap<number, { readonly block: Block; readonly receipts: readonly Receipt[] }>(256);
  private readonly telemetry: NodeTelemetry;
  private stopped = false;
  private readonly watchdog: QueueWatchdog;
  private watchdogTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly genesis: Genesis,
    readonly index: number,
    readonly engine: MaEngine,
    readonly app: ChainApp,
    readonly mempool: Mempool,
    readonly core: ConsensusCore,
    readonly transport: Transport,
    private readonly storage: FsStorage,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
    opts: NodeOptions,
    metrics: NodeMetrics,
    receipts: ReceiptIndex,
    now: () => number,
    tipQc: QC,
    private readonly pool: VerifyPool | null,
    prover: PocProverParts | undefined,
    private readonly pocSource: PocReplicaSource | null,
  ) {
    this.metrics = metrics;
    this.receipts = receipts;
    this.chainId = genesis.chainId;
    this.telemetry = new NodeTelemetry({ metrics, core, app, mempool, transport, pool, syncing: () => this.syncing });
    const observed = this.telemetry.observer((txid) => this.admittedAt.set(txid, performance.now()));
    this.replica = new Replica({
      config: {
        index, validators: genesis.validators.length, maxTxsPerBlock: genesis.chain.maxTxsPerBlock, maxTxBytes: genesis.chain.maxTxBytes,
        snapshotEvery: opts.snapshotEvery ?? 200, snapshotTxs: opts.snapshotTxs ?? 20_000,
      },
      core, app, storage, pool, logger, tipQc,
      clock: processClock(now),
      network: {
        send: (to, kind, bytes) => transport.send(to, KIND_TO_NET[kind], bytes),
        broadcast: (kind, bytes) => transport.broadcast(KIND_TO_NET[kind], bytes),
      },
      observer: {
        ...observed,
        committed: (commits) => this.onCommitted(commits),
        applySeconds: (s) => metrics.blockApplySeconds.observe(s),
        peerMuted: () => metrics.peerMutes.inc(),
        mutedDropped: (n) => metrics.mutedMessages.inc(n),
        storageFull: (state) => {
          this.storageFullReason = state?.reason ?? null;
          metrics.storageFull.set(state === null ? 0 : 1);
          if (state !== null) metrics.storageFullPauses.inc();
        },
      },
      onFatal: (e) => this.die(e),
      ...(prover !== undefined ? { poc: prover } : {}),
    });
    const replica = this.replica;
    this.watchdog = new QueueWatchdog(
      () => ({ waiting: replica.queuedInputs, completed: replica.completedInputs }),
      {
        stalledSeconds: (sec) => metrics.queueStalledSeconds.set(sec),
        stall: () => metrics.queueStalls.inc(),
        warn: (msg, fields) => logger.warn(msg, fields),
        info: (msg, fields) => logger.info(msg, fields),
      },
      () => ({ storageFull: this.storageFullReason, verifyJobsPending: pool?.pending ?? 0, round: core.currentRound, height: core.committedHeight }),
    );
  }

  /**
   * Open the data directory and recover: genesis + latest snapshot + replay of the log after it.
   * Refuses to start (throws with the reason) on an engine or key that does not match genesis, or a
   * replayed state root that differs from the logged one.
   */
  static async open(opts: NodeOptions): Promise<NumchainNode> {
    const log = opts.logger;
    const now = opts.now ?? Date.now;
    useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });
    const genesis = readGenesis(opts.genesisPath);
    const engineHash = engineSha256Hex();
    if (engineHash !== genesis.engine.sha256) {
      throw new Error(`this node's engine build/ma.wasm has SHA-256 ${engineHash}, but genesis requires ${genesis.engine.sha256}: rebuild (npm run build:wasm) or use a genesis made for this engine`);
    }
    if (!Number.isInteger(opts.index) || opts.index < 0 || opts.index >= genesis.validators.length) {
      throw new Error(`--node-index ${opts.index} is not a validator index in genesis (0..${genesis.validators.length - 1})`);
    }
    const secretKey = readKeyFile(opts.keyPath ?? keyPathFor(opts.genesisPath, opts.index), genesis, opts.index);

    const { layout, lock } = await openDataDir(opts.dataDir);
    try {
      const metrics = new NodeMetrics({ rejectReasons: [...REJECT_REASONS], messageTypes: Object.keys(KIND_TO_NET) });
      const engine = await loadEngine(genesis.ma);
      const validators: Validator[] = genesis.validators.map((v) => ({ publicKey: fromHex(v.publicKey, 'publicKey', 32), power: v.bond }));
      const genesisRoot = engine.root();
      const gHash = genesisHash(genesis.chainId, genesis.genesisTime, genesisRoot, validators);
      const verifier = new Verifier({ fast: await loadFastVerifier() });
      const mempool = new Mempool({ ...DEFAULT_MEMPOOL_OPTIONS, senderRate: { perSecond: 2000, burst: 4000 }, maxPerSender: 4096, maxTxs: 50_000, maxBytes: 64 << 20, ...opts.mempool, txWindow: genesis.chain.txWindow, maxTxBytes: genesis.chain.maxTxBytes });
      const pocParams = genesis.poc;
      // PoP answers prove rows as they stood after recent blocks: keep those states (one checkpoint each).
      const app = new ChainApp({ engine, chain: { chainId: genesis.chainId, ...genesis.chain }, genesisHash: gHash, verifier, mempool, keepCommittedStates: pocParams === undefined ? 0 : pocParams.popWindow + 2 });
      let poc: { config: PocConfig; source: PocReplicaSource; maxBytesPerBlock: number } | null = null;
      if (pocParams !== undefined) {
        const dim = genesis.ma.dim;
        const wire = wireLimits(pocParams, genesis.chain.maxTxBytes, dim, maxAnswerBytes(pocParams, genesis.chain.maxTxBytes, dim));
        const dir = opts.pocDir ?? join(opts.dataDir, 'poc');
        await ensureReplica(dir, { chainId: genesis.chainId, publicKey: fromHex(genesis.validators[opts.index]!.publicKey, 'publicKey', 32), params: pocParams, chunks: opts.pocChunks ?? pocParams.targetChunks }, log);
        poc = {
          config: { params: pocParams, wire, targetOf: (tx) => app.targetOf(tx), rowIndex: (t) => app.rowIndex(t) },
          source: new PocReplicaSource(dir, log),
          // two items per validator in one block at most (consensus/core-state.ts)
          maxBytesPerBlock: 2 * genesis.validators.length * wire.maxBytes,
        };
      }
      const blockLog = await BlockLog.open(layout.blockLog, { logger: storeLogger(log) });
      if (blockLog.openReport.tornTail) log.warn('cut a torn tail off the block log (a crash mid-write)', { ...blockLog.openReport.tornTail });
      const snapshots = await SnapshotStore.open(layout.snapshotsDir, { keep: opts.snapshotsKept ?? 3, logger: storeLogger(log) });
      const safetyStore = new SafetyStore(layout.safetyFile);
      const pending = await PendingBlockStore.open(join(opts.dataDir, 'pending'), 512, log);
      // A failed write or fsync on the consensus path stops the process at once (not after an async
      // shutdown): nothing may be voted, proposed or acknowledged on state that is not on disk.
      const onPersistFailure = (op: PersistOp, e: unknown): never => {
        const err = e as NodeJS.ErrnoException;
        log.error('cannot persist; stopping so nothing is acknowledged that is not on disk', { op, code: err.code ?? 'unknown', error: err.message, exitCode: EXIT_PERSIST_FAILED });
        process.exit(EXIT_PERSIST_FAILED);
      };
      const storage = new FsStorage(blockLog, safetyStore, pending, snapshots, metrics, onPersistFailure, fsFaultFromEnv());
      const receipts = new ReceiptIndex(opts.receiptIndexSize ?? 1_000_000, 10_000);
      const bounds = { maxTxsPerBlock: genesis.chain.maxTxsPerBlock, maxTxBytes: genesis.chain.maxTxBytes };

      // 1. Latest valid snapshot (if any) gives the committed state at its height.
      const t0 = performance.now();
      const start = await loadSnapshot(storage, app, bounds);
      const safetyBytes = await safetyStore.load();
      // A missing data directory looks exactly like a first start and is created; say which one the
      // node thinks this is, because a validator whose data was lost has forgotten its last vote.
      // Blocks on disk without a safety state is stranger still (a file lost or deleted): warn.
      if (safetyBytes === null) {
        const level = blockLog.lastHeight > 0 || start.tip !== null ? 'warn' : 'info';
        log[level]('no consensus safety state in the data directory: starting as a validator that has never voted. If this key voted before (its data directory was lost, replaced or restored from an old copy), stop now: it could vote twice in a round (docs/operators.md, key custody)', { dataDir: opts.dataDir, loggedHeight: blockLog.lastHeight });
      }
      const core = new ConsensusCore(
        {
          chainId: genesis.chainId,
          validators,
          self: opts.index,
          genesis: { timeMs: genesis.genesisTime, stateRoot: genesisRoot },
          epochLength: genesis.consensus.epochLength,
          timeoutBaseMs: genesis.consensus.timeoutBaseMs,
          timeoutExponentCap: genesis.consensus.timeoutExponentCap,
          blockIntervalMs: genesis.consensus.blockIntervalMs,
          slashPermille: genesis.consensus.slashPermille,
          randaoPenaltyPermille: genesis.consensus.randaoPenaltyPermille,
          limits: { maxTxsPerBlock: bounds.maxTxsPerBlock, maxBlockBytes: genesis.chain.maxBlockBytes, maxMessageBytes: genesis.chain.maxBlockBytes + (1 << 20) + (poc?.maxBytesPerBlock ?? 0) },
          ...(poc !== null ? { poc: poc.config } : {}),
        },
        app,
        // Deterministic Ed25519: libsodium/OpenSSL sign the same bytes as noble, ~40× faster.
        nodeSigner(secretKey),
        { verify: (pk, m, s) => verifier.verifyConsensus(pk, m, s) } satisfies SigVerifier,
        safetyBytes ? decodeSafety(safetyBytes) : null,
        start.tip,
      );
      if (core.genesis.hash.length !== 32 || !bytesEqual(core.genesis.hash, gHash)) throw new Error('consensus and chain disagree on the genesis hash');
      if (start.consensusState) core.importState(start.consensusState);

      // 2. Receipts of the recent past (bounded), so GET /receipt keeps answering after a restart.
      const receiptFrom = Math.max(1, Math.min(start.fromHeight, blockLog.lastHeight - 2000));
      for await (const rec of blockLog.readRange(receiptFrom, start.fromHeight - 1)) receipts.add((rec as BlockRecord).receipts ?? []);

      // 3. Replay the log after the snapshot; every state root must match the logged one.
      const replay = await replayLog(storage, app, core, start.fromHeight, bounds, (_h, r) => receipts.add(r));
      log.info('recovered', { height: core.committedHeight, snapshot: start.fromHeight - 1, replayed: replay.count, ms: Math.round(performance.now() - t0), root: toHex(app.stateRoot) });

      const me = genesis.validators[opts.index]!;
      const transport = new Transport({
        chainId: genesis.chainId,
        index: opts.index,
        secretKey,
        validators: genesis.validators.map((v) => ({ index: v.index, publicKey: fromHex(v.publicKey, 'publicKey', 32), address: opts.peers?.get(v.index) ?? v.gossip })),
        listen: opts.gossip ?? me.gossip,
        relayGossip: false,
        tls: opts.peerTls ?? true,
        onTlsRefused: rateLimitedRefusalLog((msg, f) => log.warn(msg, f), () => performance.now()),
        maxFrameBytes: genesis.chain.maxBlockBytes * 2 + (4 << 20) + 2 * (poc?.maxBytesPerBlock ?? 0),
      });

      const workers = opts.verifyWorkers ?? 2;
      if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new Error(`verifyWorkers must be an integer 0..64, got ${workers}`);
      const nice = opts.verifyNice ?? 10;
      if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`verifyNice must be an integer 0..19, got ${nice}`);
      const pool = workers > 0 ? new VerifyPool(workers, { nice }) : null;
      const tipQc = replay.tipQc ?? start.tip?.qc ?? core.highestQC;
      const signer = nodeSigner(secretKey);
      const prover: PocProverParts | undefined = poc === null ? undefined : {
        chainId: genesis.chainId, self: opts.index, epochLength: genesis.consensus.epochLength, params: pocParams!,
        sign: (m) => signer.sign(m), replica: () => poc!.source.get(),
      };
      const node = new NumchainNode(genesis, opts.index, engine, app, mempool, core, transport, storage, lock, log, opts, metrics, receipts, now, tipQc, pool, prover, poc?.source ?? null);
      node.lastBlockTime = core.committedHeight > 0 ? core.committedBlock.header.timestamp : null;
      node.metrics.height.set(core.committedHeight);
      return node;
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
  }

  /** Join the network and start consensus. */
  async start(): Promise<void> {
    this.transport.onMessage((from, type, payload) => {
      const kind = kindOfNet(type);
      if (kind !== undefined) this.replica.receive(from, kind, payload);
    });
    this.transport.onPeer((peer, up) => {
      this.metrics.peers.set(this.transport.connectedPeers().length);
      this.logger.info(up ? 'peer connected' : 'peer disconnected', { peer });
    });
    const addr = await this.transport.start();
    this.logger.info('gossip listening', { address: `${addr.host}:${addr.port}`, validators: this.genesis.validators.length });
    await this.replica.start(await this.storage.loadPendingBlocks(this.genesis.chain.maxTxsPerBlock, this.genesis.chain.maxTxBytes));
    this.watchdogTimer = setInterval(() => this.watchdog.check(performance.now()), 1000);
    this.watchdogTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watchdogTimer !== null) clearInterval(this.watchdogTimer);
    // Finish what is queued (its sends still go out, its commits are fsynced), then disconnect.
    await this.replica.stop();
    await this.transport.stop();
    await this.pool?.close();
    this.pocSource?.close();
    this.receipts.close();
    for (const ws of this.blockWaiters.values()) for (const w of ws) w();
    this.blockWaiters.clear();
    await this.log.close();
    this.storage.close();
    await this.lock.release();
  }

  /** The first fatal error (the process should exit), or null. */
  get failure(): Error | null {
    return this.replica.failure;
  }

  /** The snapshot store (RPC serves the latest certified snapshot to light clients). */
  get snapshots(): SnapshotStore {
    return this.storage.snapshots;
  }

  /** The block log (RPC reads blocks and receipts from it). */
  get log(): BlockLog {
    return this.storage.log;
  }

  // ---------------------------------------------------------------- inputs

  /** A transaction from a client (RPC): admit, then gossip it to the other validators. */
  admit(bytes: Uint8Array, clientKey: string): AdmitResult {
    return this.replica.admission.admit(bytes, clientKey);
  }

  /** Many transactions at once; signatures are checked on the worker pool when there is one. */
  admitBatch(list: readonly Uint8Array[], clientKey: string): Promise<AdmitResult[]> {
    return this.replica.admission.admitBatch(list, clientKey);
  }

  // ---------------------------------------------------------------- what commits

  /** Committed blocks are durable in the log: make their receipts visible and wake the waiters. */
  private onCommitted(commits: readonly CommittedBlock[]): void {
    const nowPerf = performance.now();
    for (const c of commits) {
      const h = c.block.header.height;
      this.receipts.add(c.result.receipts);
      this.recent.set(h, { block: c.block, receipts: c.result.receipts });
      this.observeCommitted(c.result.receipts, nowPerf);
      this.metrics.blockTxs.observe(c.block.txs.length);
      this.metrics.txCommitted.inc(c.block.txs.length);
      this.lastBlockTime = c.block.header.timestamp;
      this.metrics.lastBlockTime.set(c.block.header.timestamp / 1000);
      const ws = this.blockWaiters.get(h);
      if (ws) {
        this.blockWaiters.delete(h);
        for (const w of ws) w();
      }
    }
    this.metrics.height.set(commits[commits.length - 1]!.block.header.height);
    this.metrics.mempoolSize.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
  }

  private observeCommitted(receipts: readonly Receipt[], nowPerf: number): void {
    for (const r of receipts) {
      if (r.txid === null) continue;
      const at = this.admittedAt.get(r.txid);
      if (at !== undefined) {
        this.admittedAt.delete(r.txid);
        this.metrics.submitToCommitSeconds.observe((nowPerf - at) / 1000);
      }
    }
  }

  private die(e: Error): void {
    this.logger.error('fatal error in the consensus loop; stopping', { error: e.message, stack: e.stack?.split('\n').slice(0, 4).join(' | ') });
    void this.stop().finally(() => process.exit(70));
  }

  // ---------------------------------------------------------------- reads (RPC)

  /** Height of the last block that is fsynced (never ahead of what survives a crash). */
  get height(): number {
    return this.replica.durableHeight;
  }

  get durableRoot(): Uint8Array {
    return this.replica.durableRoot;
  }

  /** Resolves once everything committed so far is fsynced (the commit → fsync window is short). */
  async whenDurable(): Promise<void> {
    const h = this.app.height;
    if (h > this.height) await this.waitForHeight(h, 5_000);
  }

  get latestBlockTime(): number | null {
    return this.lastBlockTime;
  }

  get syncing(): boolean {
    return this.core.highestQC.height > this.core.committedHeight + 2;
  }

  /** Resolves when `height` is committed and fsynced, or after timeoutMs. */
  waitForHeight(height: number, timeoutMs: number): Promise<boolean> {
    if (height <= this.log.syncedHeight) return Promise.resolve(true);
    if (timeoutMs <= 0 || this.stopped) return Promise.resolve(false);
    let count = 0;
    for (const s of this.blockWaiters.values()) count += s.size;
    if (count >= 10_000 || height > this.log.syncedHeight + 10_000) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.blockWaiters.get(height);
      if (!set) this.blockWaiters.set(height, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        resolve(height <= this.log.syncedHeight);
      };
      const timer = setTimeout(() => {
        set!.delete(done);
        if (set!.size === 0) this.blockWaiters.delete(height);
        resolve(false);
      }, timeoutMs);
      set.add(done);
    });
  }

  /** Prometheus text; gauges and the core's counters are brought up to date first. */
  metricsText(): Promise<string> {
    return this.telemetry.text();
  }
}

function storeLogger(log: Logger) {
  return { info: (msg: string, data?: unknown) => log.info(msg, data as Record<string, unknown>), warn: (msg: string, data?: unknown) => log.warn(msg, data as Record<string, unknown>) };
}
