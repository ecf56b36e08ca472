// One NUMCHAIN validator process: wires the sans-IO state machines (consensus core, chain executor,
// mempool) to the real world (clock, disk, TCP, HTTP). Every input to the core goes through one
// serial queue, and every action list is performed in order, so a `persist` is durable before the
// message it protects leaves, and a receipt is visible only after its block was fsynced.
import { join } from 'node:path';
import { ChainApp, type AdmitResult, type CommitResult } from '../chain/app.ts';
import type { SignedTx } from '../chain/tx.ts';
import { Mempool, DEFAULT_MEMPOOL_OPTIONS, type MempoolOptions } from '../chain/mempool.ts';
import type { Receipt } from '../chain/receipts.ts';
import { decodeSnapshot, encodeSnapshot } from '../chain/snapshot.ts';
import { decodeCanonical, encodeCanonical } from '../codec/canonical.ts';
import { blockToCanon, blockFromCanon, genesisHash, qcFromCanon, qcToCanon } from '../consensus/block.ts';
import { ConsensusCore, type Action, type CommittedTip } from '../consensus/core.ts';
import { decodeMessage, encodeMessage, syncBlockBytes, syncResponseBudget, type ConsensusMessage, type MessageType } from '../consensus/messages.ts';
import { decodeSafety, encodeSafety } from '../consensus/safety.ts';
import type { Block, QC, SigVerifier, Validator } from '../consensus/types.ts';
import { Verifier } from '../crypto/ed25519.ts';
import { nodeSigner } from '../rpc/node-signer.ts';
import { loadFastVerifier, nodeSha256, nodeSha256Hex, nodeSha256Into } from '../crypto/fast-verify-node.ts';
import { threadCpuReader } from '../metrics/thread-cpu.ts';
import { VerifyPool } from '../crypto/verify-pool.ts';
import { bytesEqual, fromHex, toHex, useSha256 } from '../crypto/sha256.ts';
import type { MaEngine } from '../engine/engine.ts';
import { engineSha256Hex, loadEngine } from '../engine/node-loader.ts';
import { NodeMetrics } from '../metrics/metrics.ts';
import { MsgType, type AppMsgType } from '../net/messages.ts';
import { Transport } from '../net/transport.ts';
import { BlockLog } from '../store/block-log.ts';
import { openDataDir, type DataDirLock } from '../store/data-dir.ts';
import { SafetyStore } from '../store/safety-store.ts';
import { SnapshotStore } from '../store/snapshot.ts';
import { keyPathFor, readGenesis, readKeyFile, type Genesis } from './genesis.ts';
import type { Logger } from './logger.ts';
import { PendingBlockStore } from './pending-blocks.ts';
import { decodeRecord, makeRecord, type BlockRecord } from './records.ts';
import { ReceiptIndex } from './receipt-index.ts';
import { AdmissionGate } from './admission-gate.ts';
import { InflightVerifications, preverifyTxs, verifyOnPool } from './preverify.ts';
import { SerialQueue } from './serial-queue.ts';
import { FifoMap } from '../util/fifo-map.ts';

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
}

export interface CommitEvent {
  readonly height: number;
  readonly block: Block;
  readonly result: CommitResult;
}

const KIND_TO_NET: Record<MessageType, AppMsgType> = {
  proposal: MsgType.PROPOSAL,
  vote: MsgType.VOTE,
  timeout: MsgType.TIMEOUT,
  cert: MsgType.QC,
  sync_request: MsgType.SYNC_REQUEST,
  sync_response: MsgType.SYNC_RESPONSE,
  evidence: MsgType.COMMIT,
};

const NET_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MsgType).map(([n, v]) => [v, n]));

export const REJECT_REASONS = [
  'too_large', 'malformed', 'non_canonical', 'bad_domain', 'bad_chain_id', 'bad_sender', 'bad_nonce', 'bad_valid_until', 'bad_op',
  'bad_shard', 'bad_layer', 'bad_slot', 'bad_src', 'bad_vec_length', 'bad_vec_value', 'bad_factor', 'bad_alpha', 'bad_bound',
  'bad_signature', 'bad_txid', 'wrong_chain', 'busy', 'duplicate', 'replayed', 'expired', 'too_far_ahead', 'mempool_full',
  'sender_rate', 'sender_queue_full', 'no_mempool',
] as const;

export class NumchainNode {
  readonly metrics: NodeMetrics;
  readonly receipts: ReceiptIndex;
  readonly chainId: string;
  private readonly queue: SerialQueue;
  /** client and gossip transaction batches admitted at once (see AdmissionGate) */
  private readonly admission = new AdmissionGate(4, 64);
  private readonly verifying = new InflightVerifications();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private transportStopped = false;
  /** height and state root of the last block whose log line is fsynced: what /health reports */
  private durable: { height: number; root: Uint8Array };
  /** admission time of recent txids, for the submit-to-commit histogram */
  private readonly admittedAt = new FifoMap<string, number>(500_000);
  private readonly blockWaiters = new Map<number, Set<() => void>>();
  private lastBlockTime: number | null = null;
  /** recently committed blocks with their receipts, so RPC readers need not re-read the log */
  readonly recent = new FifoMap<number, { readonly block: Block; readonly receipts: readonly Receipt[] }>(256);
  private lastSnapshotHeight: number;
  private snapshotWrite: Promise<void> | null = null;
  private txsSinceSnapshot = 0;
  private fatal: Error | null = null;

  private constructor(
    readonly genesis: Genesis,
    readonly index: number,
    readonly engine: MaEngine,
    readonly app: ChainApp,
    readonly mempool: Mempool,
    readonly core: ConsensusCore,
    readonly transport: Transport,
    readonly log: BlockLog,
    readonly snapshots: SnapshotStore,
    private readonly safety: SafetyStore,
    private readonly pending: PendingBlockStore,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
    private readonly opts: NodeOptions,
    metrics: NodeMetrics,
    receipts: ReceiptIndex,
    private readonly now: () => number,
    /** the QC certifying the committed tip (snapshots store it beside the block) */
    private tipQc: QC,
    private readonly pool: VerifyPool | null,
  ) {
    this.metrics = metrics;
    this.receipts = receipts;
    this.chainId = genesis.chainId;
    this.lastSnapshotHeight = core.committedHeight;
    this.durable = { height: app.height, root: app.stateRoot };
    this.queue = new SerialQueue(10_000, (e) => this.die(e));
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
      const metrics = new NodeMetrics({ rejectReasons: [...REJECT_REASONS], messageTypes: Object.keys(KIND_TO_NET).map((k) => k) });
      const engine = await loadEngine(genesis.ma);
      const validators: Validator[] = genesis.validators.map((v) => ({ publicKey: fromHex(v.publicKey, 'publicKey', 32), power: v.bond }));
      const genesisRoot = engine.root();
      const gHash = genesisHash(genesis.chainId, genesis.genesisTime, genesisRoot, validators);
      const fast = await loadFastVerifier();
      const verifier = new Verifier({ fast });
      const mempool = new Mempool({ ...DEFAULT_MEMPOOL_OPTIONS, senderRate: { perSecond: 2000, burst: 4000 }, maxPerSender: 4096, maxTxs: 50_000, maxBytes: 64 << 20, ...opts.mempool, txWindow: genesis.chain.txWindow, maxTxBytes: genesis.chain.maxTxBytes });
      const app = new ChainApp({ engine, chain: { chainId: genesis.chainId, ...genesis.chain }, genesisHash: gHash, verifier, mempool });
      const blockLog = await BlockLog.open(layout.blockLog, { logger: storeLogger(log) });
      if (blockLog.openReport.tornTail) log.warn('cut a torn tail off the block log (a crash mid-write)', { ...blockLog.openReport.tornTail });
      const snapshots = await SnapshotStore.open(layout.snapshotsDir, { keep: opts.snapshotsKept ?? 3, logger: storeLogger(log) });
      const safetyStore = new SafetyStore(layout.safetyFile);
      const pending = await PendingBlockStore.open(join(opts.dataDir, 'pending'), 512, log);
      const receipts = new ReceiptIndex(opts.receiptIndexSize ?? 1_000_000, 10_000);
      const maxTxs = genesis.chain.maxTxsPerBlock;
      const maxTxBytes = genesis.chain.maxTxBytes;

      // 1. Latest valid snapshot (if any) gives the committed state at its height.
      const t0 = performance.now();
      let tip: CommittedTip | null = null;
      let consensusState: Uint8Array | null = null;
      const snap = await snapshots.latestValid();
      if (snap && snap.height > blockLog.lastHeight) {
        throw new Error(`snapshot at height ${snap.height} is ahead of the block log, which ends at ${blockLog.lastHeight}: the log lost fsynced blocks; restore the data directory from a backup`);
      }
      if (snap) {
        const chainSnap = decodeSnapshot(snap.blobs.chain, app.snapshotMaxBytes());
        app.importState(chainSnap);
        const t = decodeCanonical(snap.blobs.tip, 64 << 20) as unknown[];
        tip = { block: blockFromCanon(t[0] as never, 'snapshot.tip.block', maxTxs, maxTxBytes), qc: qcFromCanon(t[1] as never, 'snapshot.tip.qc') };
        consensusState = snap.blobs.consensus;
        if (!bytesEqual(tip.block.hash, chainSnap.blockHash)) throw new Error(`snapshot at height ${snap.height}: consensus tip and chain state disagree`);
      }

      const safetyBytes = await safetyStore.load();
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
          limits: { maxTxsPerBlock: maxTxs, maxBlockBytes: genesis.chain.maxBlockBytes, maxMessageBytes: genesis.chain.maxBlockBytes + (1 << 20) },
        },
        app,
        // Deterministic Ed25519: libsodium/OpenSSL sign the same bytes as noble, ~40× faster.
        nodeSigner(secretKey),
        { verify: (pk, m, s) => verifier.verifyConsensus(pk, m, s) } satisfies SigVerifier,
        safetyBytes ? decodeSafety(safetyBytes) : null,
        tip,
      );
      if (core.genesis.hash.length !== 32 || !bytesEqual(core.genesis.hash, gHash)) throw new Error('consensus and chain disagree on the genesis hash');
      if (consensusState) core.importState(consensusState);

      // 2. Receipts of the recent past (bounded), so GET /receipt keeps answering after a restart.
      const fromHeight = snap ? snap.height + 1 : 1;
      const receiptFrom = Math.max(1, Math.min(fromHeight, blockLog.lastHeight - 2000));
      for await (const rec of blockLog.readRange(receiptFrom, fromHeight - 1)) receipts.add((rec as BlockRecord).receipts ?? []);

      // 3. Replay the log after the snapshot; every state root must match the logged one.
      let replayed = 0;
      let tipQc: QC = tip?.qc ?? core.highestQC;
      for await (const rec of blockLog.readRange(fromHeight, blockLog.lastHeight)) {
        const { block, qc, root, receipts: logged } = decodeRecord(rec, maxTxs, maxTxBytes);
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
        const result = app.commit(block.hash);
        core.replayCommitted(block, qc);
        tipQc = qc;
        receipts.add(result.receipts.length ? result.receipts : logged);
        replayed++;
      }
      const recoveryMs = performance.now() - t0;
      log.info('recovered', { height: core.committedHeight, snapshot: snap?.height ?? 0, replayed, ms: Math.round(recoveryMs), root: toHex(app.stateRoot) });

      const me = genesis.validators[opts.index];
      const transport = new Transport({
        chainId: genesis.chainId,
        index: opts.index,
        secretKey,
        validators: genesis.validators.map((v) => ({ index: v.index, publicKey: fromHex(v.publicKey, 'publicKey', 32), address: opts.peers?.get(v.index) ?? v.gossip })),
        listen: opts.gossip ?? me.gossip,
        relayGossip: false,
        maxFrameBytes: genesis.chain.maxBlockBytes * 2 + (4 << 20),
      });

      const workers = opts.verifyWorkers ?? 2;
      if (!Number.isInteger(workers) || workers < 0 || workers > 64) throw new Error(`verifyWorkers must be an integer 0..64, got ${workers}`);
      const nice = opts.verifyNice ?? 10;
      if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`verifyNice must be an integer 0..19, got ${nice}`);
      const pool = workers > 0 ? new VerifyPool(workers, { nice }) : null;
      const node = new NumchainNode(genesis, opts.index, engine, app, mempool, core, transport, blockLog, snapshots, safetyStore, pending, lock, log, opts, metrics, receipts, now, tipQc, pool);
      node.lastBlockTime = core.committedHeight > 0 ? core.committedBlock.header.timestamp : null;
      node.metrics.height.set(core.committedHeight);
      node.registerMirrors();
      return node;
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
  }

  /** Join the network and start consensus. */
  async start(): Promise<void> {
    this.transport.onMessage((from, type, payload) => this.onNetMessage(from, type, payload));
    this.transport.onPeer((peer, up) => {
      this.metrics.peers.set(this.transport.connectedPeers().length);
      this.logger.info(up ? 'peer connected' : 'peer disconnected', { peer });
    });
    const addr = await this.transport.start();
    this.logger.info('gossip listening', { address: `${addr.host}:${addr.port}`, validators: this.genesis.validators.length });
    const blocks = await this.pending.loadAll(this.genesis.chain.maxTxsPerBlock, this.genesis.chain.maxTxBytes);
    this.queue.push(async () => {
      await this.perform(this.core.restoreBlocks(blocks, this.now()));
      await this.perform(this.core.start(this.now()));
    }, false);
    await this.queue.drain();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.gossipTimer) clearTimeout(this.gossipTimer);
    // Finish what is queued (its sends still go out, its commits are fsynced), then disconnect.
    await this.queue.drain();
    await this.snapshotWrite;
    this.transportStopped = true;
    await this.transport.stop();
    await this.pool?.close();
    this.receipts.close();
    for (const ws of this.blockWaiters.values()) for (const w of ws) w();
    this.blockWaiters.clear();
    await this.log.close();
    this.safety.close();
    await this.lock.release();
  }

  /** The first fatal error (the process should exit), or null. */
  get failure(): Error | null {
    return this.fatal;
  }

  // ---------------------------------------------------------------- inputs

  /** A transaction from a client (RPC): admit, then gossip it to the other validators. */
  admit(bytes: Uint8Array, clientKey: string): AdmitResult {
    const r = this.app.admit(bytes, clientKey, this.now(), this.core.committedHeight);
    this.afterAdmit(r, bytes);
    return r;
  }

  /**
   * Many transactions at once: decode on this thread, verify the signatures on the worker pool
   * (when there is one), then admit in order. The consensus thread only pays for the decode.
   */
  admitBatch(list: readonly Uint8Array[], clientKey: string): Promise<AdmitResult[]> {
    return this.gated(
      list.length,
      () => list.map(() => ({ ok: false, txid: null, code: 'busy', field: 'txs', message: 'too many transaction batches are waiting for admission; retry later' }) as const),
      () => this.admitBatchNow(list, clientKey),
    );
  }

  /** Run `work` holding an admission slot; when the gate is full, count `txs` as 'busy' and return `refused()`. */
  private async gated<T>(txs: number, refused: () => T, work: () => Promise<T>): Promise<T> {
    if (!(await this.admission.enter())) {
      this.metrics.txRejected.labels('busy').inc(txs);
      return refused();
    }
    try {
      return await work();
    } finally {
      this.admission.leave();
    }
  }

  private async admitBatchNow(list: readonly Uint8Array[], clientKey: string): Promise<AdmitResult[]> {
    const decoded = list.map((b) => this.app.decodeForAdmission(b));
    const need: number[] = [];
    for (let i = 0; i < decoded.length; i++) {
      const d = decoded[i];
      if (!('ok' in d) && this.app.needsSignatureCheck(d, this.core.committedHeight)) need.push(i);
    }
    let fast: (boolean | undefined)[] = [];
    if (this.pool && need.length > 0) {
      const answers = await verifyOnPool(this.app, this.pool, this.verifying, need.map((i) => decoded[i] as SignedTx));
      if (answers) {
        fast = new Array(decoded.length);
        need.forEach((i, k) => (fast[i] = answers[k]));
      }
    }
    const now = this.now();
    const height = this.core.committedHeight;
    return decoded.map((d, i) => {
      const r = 'ok' in d ? d : this.app.admitDecoded(d, clientKey, now, height, fast[i]);
      this.afterAdmit(r, list[i]);
      return r;
    });
  }

  private afterAdmit(r: AdmitResult, bytes: Uint8Array): void {
    if (r.ok) {
      this.metrics.txAccepted.inc();
      this.admittedAt.set(r.txid, performance.now());
      if (this.genesis.validators.length > 1) this.queueGossip(bytes);
    } else if (r.code !== 'duplicate') this.metrics.txRejected.labels(r.code).inc();
  }

  private gossipBuf: Uint8Array[] = [];
  private gossipBytes = 0;
  private gossipTimer: NodeJS.Timeout | null = null;

  /** Gossip in batches: one frame per ~5 ms or 256 KiB instead of one per transaction. */
  private queueGossip(bytes: Uint8Array): void {
    this.gossipBuf.push(bytes);
    this.gossipBytes += bytes.length;
    if (this.gossipBytes >= 256 * 1024 || this.gossipBuf.length >= 1000) this.flushGossip();
    else if (!this.gossipTimer) this.gossipTimer = setTimeout(() => this.flushGossip(), 5);
  }

  private flushGossip(): void {
    if (this.gossipTimer) clearTimeout(this.gossipTimer);
    this.gossipTimer = null;
    if (this.gossipBuf.length === 0 || this.stopped) return;
    const batch = this.gossipBuf;
    this.gossipBuf = [];
    this.gossipBytes = 0;
    this.transport.broadcast(MsgType.TXGOSSIP, encodeCanonical(batch));
  }

  private onNetMessage(from: number, type: number, payload: Uint8Array): void {
    if (this.stopped) return;
    if (type === MsgType.TXGOSSIP) {
      let txs: unknown;
      try {
        txs = decodeCanonical(payload, 64 << 20);
      } catch {
        txs = null;
      }
      if (!Array.isArray(txs) || !txs.every((t) => t instanceof Uint8Array)) {
        this.metrics.txRejected.labels('malformed').inc();
        return;
      }
      // Gossiped transactions are not gossiped again (every validator is connected to every other).
      void this.admitGossip(txs as Uint8Array[], `peer:${from}`);
      return;
    }
    if (type === MsgType.SYNC_REQUEST && this.serveSyncFromLog(from, payload)) return;
    if ((type === MsgType.PROPOSAL || type === MsgType.SYNC_RESPONSE) && this.pool) {
      this.queueBlockMessage(this.pool, from, payload);
      return;
    }
    this.queue.push(() => this.perform(this.core.onMessage(from, payload, this.now())));
  }

  /**
   * A proposal or sync response: its transactions' signatures are checked on the pool first (see
   * preverify.ts). Verification starts now, in parallel with whatever the queue is doing; the core
   * sees the message in arrival order, once both are done.
   */
  private queueBlockMessage(pool: VerifyPool, from: number, payload: Uint8Array): void {
    let msg: ConsensusMessage;
    try {
      msg = decodeMessage(payload, this.core.limits);
    } catch {
      // The core counts and logs the malformed message.
      this.queue.push(() => this.perform(this.core.onMessage(from, payload, this.now())));
      return;
    }
    const txs = msg.type === 'proposal' ? msg.block.txs : msg.type === 'sync_response' ? msg.blocks.flatMap((b) => b.txs) : [];
    const ready = txs.length > 0 ? preverifyTxs(this.app, pool, this.verifying, txs) : null;
    this.queue.push(async () => {
      if (ready) {
        const r = await ready;
        this.metrics.blockTxsPreverified.inc(r.verified);
      }
      await this.perform(this.core.onMessage(from, msg, this.now()));
    });
  }

  private admitGossip(txs: Uint8Array[], clientKey: string): Promise<void> {
    // Gossip is best-effort: when admission is saturated the batch is dropped (and counted); the
    // transactions still reach the chain through the validator that received them from a client.
    return this.gated(txs.length, () => undefined, () => this.admitGossipNow(txs, clientKey));
  }

  private async admitGossipNow(txs: Uint8Array[], clientKey: string): Promise<void> {
    const decoded = txs.map((b) => this.app.decodeForAdmission(b));
    // A block carrying some of these may be having them verified right now (preverify.ts): wait for
    // that answer rather than verify them a second time.
    const waits = new Set<Promise<unknown>>();
    for (const d of decoded) {
      const w = 'ok' in d ? undefined : this.verifying.pending(d.bytes);
      if (w) waits.add(w);
    }
    if (waits.size > 0) await Promise.all([...waits].map((w) => w.catch(() => undefined)));
    const need = decoded.filter((d): d is SignedTx => !('ok' in d) && this.app.needsSignatureCheck(d, this.core.committedHeight));
    const answers = this.pool && need.length ? await verifyOnPool(this.app, this.pool, this.verifying, need) : null;
    const fast = new Map<SignedTx, boolean>();
    if (answers) need.forEach((tx, k) => fast.set(tx, answers[k]));
    const now = this.now();
    for (const d of decoded) {
      if ('ok' in d) {
        this.metrics.txRejected.labels(d.code).inc();
        continue;
      }
      const r = this.app.admitDecoded(d, clientKey, now, this.core.committedHeight, fast.get(d));
      if (!r.ok && r.code !== 'duplicate') this.metrics.txRejected.labels(r.code).inc();
    }
  }

  private onTimer(): void {
    const at = this.timerAt;
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    // Node starts a timer from the event loop's cached clock, which lags Date.now() after long
    // synchronous work (a big /txs batch), so it can fire before `at`. The core only asks for a timer
    // when its deadline changes, so an early onTimer would leave no timer at all: wait out the rest.
    if (this.now() < at) {
      this.setTimer(at);
      return;
    }
    this.queue.push(() => this.perform(this.core.onTimer(this.now())), false);
  }

  /**
   * The core serves sync requests from its in-memory window only; a peer further behind is served
   * from the block log here (bounded per response), with the QC certifying the last block sent.
   */
  private serveSyncFromLog(from: number, payload: Uint8Array): boolean {
    let msg;
    try {
      msg = decodeMessage(payload, this.core.limits);
    } catch {
      return false;
    }
    if (msg.type !== 'sync_request' || msg.fromHeight < 1 || msg.fromHeight > this.log.syncedHeight) return false;
    if (msg.fromHeight > this.core.committedHeight - 256) return false;
    const to = Math.min(this.log.syncedHeight, msg.fromHeight + this.core.limits.maxSyncBlocks - 1);
    const budget = syncResponseBudget(this.core.limits);
    void (async () => {
      const blocks: Block[] = [];
      let qc: QC | null = null;
      let size = 0;
      for await (const rec of this.log.readRange(msg.fromHeight, to)) {
        const d = decodeRecord(rec, this.genesis.chain.maxTxsPerBlock, this.genesis.chain.maxTxBytes);
        size += syncBlockBytes(d.block);
        if (blocks.length > 0 && size > budget) break;
        blocks.push(d.block);
        qc = d.qc;
      }
      const bytes = encodeMessage({ type: 'sync_response', blocks, qc });
      this.transport.send(from, MsgType.SYNC_RESPONSE, bytes);
      this.logger.debug('served blocks from the log', { peer: from, from: msg.fromHeight, to: msg.fromHeight + blocks.length - 1 });
    })().catch((e) => this.logger.warn('could not serve a sync request from the log', { peer: from, error: (e as Error).message }));
    return true;
  }

  // ---------------------------------------------------------------- actions

  private async perform(actions: Action[]): Promise<void> {
    const commits: { block: Block; qc: QC; result: CommitResult }[] = [];
    let persisted = false;
    // A block committed by this same list (a synced, already certified block) reaches the fsynced
    // block log below; a pending-block file for it would only be written and deleted again.
    let committedHere: Set<string> | null = null;
    for (const a of actions) if (a.type === 'commit') (committedHere ??= new Set()).add(toHex(a.block.hash));
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      switch (a.type) {
        case 'persist': {
          // Safety states only grow, so making the list's last one durable here, before any send
          // that follows this point, is at least as safe as each in turn, and costs one fsync pair
          // per input instead of one per state (a proposer persists twice per block).
          if (persisted) break;
          persisted = true;
          let last: Action & { type: 'persist' } = a;
          for (let k = i + 1; k < actions.length; k++) {
            const b = actions[k];
            if (b.type === 'persist') last = b;
          }
          const t = performance.now();
          await this.safety.save(encodeSafety(last.safety));
          this.metrics.persistSeconds.labels('safety').observe((performance.now() - t) / 1000);
          break;
        }
        case 'persistBlock': {
          if (committedHere?.has(toHex(a.block.hash))) break;
          const t = performance.now();
          await this.pending.put(a.block);
          this.metrics.persistSeconds.labels('block').observe((performance.now() - t) / 1000);
          break;
        }
        case 'send':
          if (this.transportStopped) break;
          if (a.to === 'all') this.transport.broadcast(KIND_TO_NET[a.kind], a.bytes);
          else if (a.to !== this.index) this.transport.send(a.to, KIND_TO_NET[a.kind], a.bytes);
          break;
        case 'commit': {
          const t = performance.now();
          const result = this.app.commit(a.block.hash);
          this.metrics.blockApplySeconds.observe((performance.now() - t) / 1000);
          commits.push({ block: a.block, qc: a.qc, result });
          break;
        }
        case 'setTimer':
          this.setTimer(a.at);
          break;
        case 'evidence':
          this.logger.warn('equivocation evidence', { validator: a.evidence.validator, round: a.evidence.round, kind: a.evidence.kind });
          break;
        case 'slashing':
          this.metrics.slashingEvents.inc();
          this.logger.warn('slashing committed', { event: a.event });
          break;
        case 'state_root_mismatch':
          this.metrics.stateRootMismatches.inc();
          this.logger.error('state root mismatch: not voting for this block', { height: a.height, round: a.round, proposer: a.proposer, ours: toHex(a.ours), theirs: toHex(a.theirs) });
          break;
        case 'log':
          this.logger[a.level](a.msg);
          break;
      }
    }
    if (commits.length) await this.persistCommits(commits);
  }

  /** Append committed blocks, fsync, and only then make their receipts visible. */
  private async persistCommits(commits: { block: Block; qc: QC; result: CommitResult }[]): Promise<void> {
    const records = commits.map((c) => makeRecord(c.block, c.qc, c.result));
    const t = performance.now();
    this.log.appendAndSyncNow(records);
    this.metrics.fsyncSeconds.observe((performance.now() - t) / 1000);
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
    const last = commits[commits.length - 1].block.header.height;
    this.tipQc = commits[commits.length - 1].qc;
    this.durable = { height: last, root: commits[commits.length - 1].result.stateRoot };
    this.txsSinceSnapshot += commits.reduce((n, c) => n + c.block.txs.length, 0);
    this.metrics.height.set(last);
    this.metrics.mempoolSize.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
    await this.pending.prune(last);
    // Snapshot every N blocks, or sooner once many transactions piled up since the last one, so a
    // restart never replays more than ~snapshotTxs transactions however full the blocks are.
    const every = this.opts.snapshotEvery ?? 200;
    const byBlocks = every > 0 && Math.floor(last / every) > Math.floor(this.lastSnapshotHeight / every);
    if (every > 0 && (byBlocks || this.txsSinceSnapshot >= (this.opts.snapshotTxs ?? 20_000))) this.startSnapshot();
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

  /**
   * Snapshot the committed state now and write it off the consensus path: the data is captured
   * synchronously (so it is exactly this height's), the file is written in the background, one
   * write at a time; a snapshot due while one is being written is retried on the next commit.
   */
  private startSnapshot(): void {
    if (this.snapshotWrite !== null) return;
    const t = performance.now();
    const height = this.core.committedHeight;
    const tip = encodeCanonical([blockToCanon(this.core.committedBlock), qcToCanon(this.tipQc)]);
    // Every blob is freshly encoded here and referenced nowhere else, so the store need not copy it.
    const write = this.snapshots.write(height, { chain: encodeSnapshot(this.app.exportState()), consensus: this.core.exportState(), tip }, { handOver: true });
    this.lastSnapshotHeight = height;
    this.txsSinceSnapshot = 0;
    this.snapshotWrite = write.then(
      () => {
        this.metrics.snapshotSeconds.observe((performance.now() - t) / 1000);
        this.logger.info('snapshot written', { height, ms: Math.round(performance.now() - t) });
      },
      (e: unknown) => this.die(e),
    ).finally(() => {
      this.snapshotWrite = null;
    });
  }

  private setTimer(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - this.now()));
  }

  private die(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (!this.fatal) this.fatal = err;
    this.logger.error('fatal error in the consensus loop; stopping', { error: err.message, stack: err.stack?.split('\n').slice(0, 4).join(' | ') });
    void this.stop().finally(() => process.exit(70));
  }

  // ---------------------------------------------------------------- reads (RPC)

  /** Height of the last block that is fsynced (never ahead of what survives a crash). */
  get height(): number {
    return this.durable.height;
  }

  get durableRoot(): Uint8Array {
    return this.durable.root;
  }

  /** Resolves once everything committed so far is fsynced (the commit → fsync window is short). */
  async whenDurable(): Promise<void> {
    const h = this.app.height;
    if (h > this.durable.height) await this.waitForHeight(h, 5_000);
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

  private registerMirrors(): void {
    const c = this.core.metrics;
    const m = this.metrics;
    m.mirrorCounter('consensus_events_total', 'Consensus core events by kind.', 'event', Object.keys(c), () => c as unknown as Record<string, number>);
    const pool = this.mempool.counts as unknown as Record<string, number>;
    m.mirrorCounter('mempool_events_total', 'Mempool events by kind (admissions, rejections, evictions).', 'event', Object.keys(pool), () => pool);
    const v = this.app.verifier.counters as unknown as Record<string, number>;
    m.mirrorCounter('signature_verifications_total', 'Ed25519 verifications by outcome (fast path, ZIP-215 slow path, rejected, busy).', 'outcome', Object.keys(v), () => v);
    const totals = this.transport.stats as unknown as Record<string, unknown>;
    const numeric = Object.keys(totals).filter((k) => typeof totals[k] === 'number');
    m.mirrorCounter('p2p_events_total', 'Transport events by kind (connects, auth failures, malformed frames, drops, retries).', 'event', numeric, () => totals as Record<string, number>);
    const cpu = threadCpuReader(() => this.pool?.threadIds ?? []);
    if (cpu) {
      m.mirrorCounter(
        'thread_cpu_seconds_total',
        'CPU time of this process by thread: consensus (the main thread: consensus, execution, admission, network, RPC), verify (signature worker threads), other (V8 garbage collection and compiler threads, libuv). Linux only.',
        'thread',
        ['consensus', 'verify', 'other'],
        () => ({ ...cpu() }),
      );
    }
  }

  /** Prometheus text; gauges and the core's counters are brought up to date first. */
  async metricsText(): Promise<string> {
    const m = this.metrics;
    const c = this.core.metrics;
    m.rounds.set(this.core.currentRound);
    m.syncing.set(this.syncing ? 1 : 0);
    m.syncTargetHeight.set(this.syncing ? this.core.highestQC.height : 0);
    m.peers.set(this.transport.connectedPeers().length);
    m.mempoolSize.set(this.mempool.size);
    m.mempoolBytes.set(this.mempool.bytes);
    this.advance(m.roundTimeouts, 'timeouts', c.timeouts);
    this.advance(m.tcsFormed, 'tcs', c.tcsFormed);
    this.advance(m.viewChanges, 'viewChanges', c.viewChanges);
    this.advance(m.votesReceived, 'votes', c.votesReceived);
    this.advance(m.proposals, 'proposals', c.proposalsMade);
    const net = this.transport.stats.byType as unknown as Record<string, { sent: number; sentBytes: number; received: number; receivedBytes: number; acked: number; retried: number }>;
    let acked = 0;
    let retried = 0;
    for (const [kind, type] of Object.entries(KIND_TO_NET)) {
      const st = net[NET_NAMES[type]];
      if (!st) continue;
      this.advance(m.p2pSentMessages.labels(kind), `s:${kind}`, st.sent);
      this.advance(m.p2pSentBytes.labels(kind), `sb:${kind}`, st.sentBytes);
      this.advance(m.p2pReceivedMessages.labels(kind), `r:${kind}`, st.received);
      this.advance(m.p2pReceivedBytes.labels(kind), `rb:${kind}`, st.receivedBytes);
    }
    for (const st of Object.values(net)) {
      acked += st.acked;
      retried += st.retried;
    }
    const app = this.app.stats();
    this.advance(m.execSignatureChecks.labels('cached'), 'execCached', app.verifiedCacheHits);
    this.advance(m.execSignatureChecks.labels('verified'), 'execVerified', app.executionVerified);
    this.advance(m.p2pAcked, 'acked', acked);
    this.advance(m.p2pRetried, 'retried', retried);
    return m.text();
  }

  private readonly seen = new Map<string, number>();

  /** Move a prom-client counter up to a module's running total. */
  private advance(counter: { inc(v: number): void }, key: string, total: number): void {
    const prev = this.seen.get(key) ?? 0;
    if (total > prev) counter.inc(total - prev);
    this.seen.set(key, Math.max(prev, total));
  }
}

function storeLogger(log: Logger) {
  return { info: (msg: string, data?: unknown) => log.info(msg, data as Record<string, unknown>), warn: (msg: string, data?: unknown) => log.warn(msg, data as Record<string, unknown>) };
}
