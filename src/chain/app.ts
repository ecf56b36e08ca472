// The block executor: ChainApp implements the consensus ↔ application boundary (ConsensusApp) on
// top of one MaEngine. Blocks are executed speculatively (several forks may be in flight); each
// execution keeps an engine checkpoint of its post-state, so executing a child of any known block
// is restore + apply. Commit makes one block's post-state the committed state, feeds its applied
// txids into the replay index and prunes every fork that can no longer commit. Admission
// (admission.ts), one transaction's execution (execute-tx.ts) and the verified-signature cache
// (verified-cache.ts) live beside it.
import { encodeCanonical } from '../codec/canonical.ts';
import type { ConsensusApp, ExecResult } from '../consensus/app.ts';
import { AppError } from '../consensus/app.ts';
import type { EngineCheckpoint, MaEngine } from '../engine/engine.ts';
import type { RowProof, RowTarget } from '../engine/types.ts';
import { Verifier } from '../crypto/ed25519.ts';
import { merkleRoot } from '../crypto/merkle.ts';
import { sha256, toHex } from '../crypto/sha256.ts';
import { TxAdmission } from './admission.ts';
import type { Mempool } from './mempool.ts';
import type { Receipt } from './receipts.ts';
import { ReplayIndex } from './replay.ts';
import type { ChainSnapshot } from './snapshot.ts';
import { decodeTx, txLimits, TxError, type TxLimits } from './tx.ts';
import { VerifiedTxs } from './verified-cache.ts';
import { FifoMap } from '../util/fifo-map.ts';
import { executeTx, type TxContext } from './execute-tx.ts';
import type { AdmitResult } from './admission.ts';
export type { AdmitCode, AdmitResult } from './admission.ts';

/** The engine surface the executor uses (MaEngine satisfies it). */
export type ChainEngine = Pick<
  MaEngine,
  'params' | 'bound' | 'rowCount' | 'check' | 'apply' | 'root' | 'rowIndex' | 'leafHash' | 'rowLeafHashOf' | 'rowLeafHexOf' | 'readRow' | 'proof' | 'checkpoint' | 'restore' | 'exportSnapshot' | 'importSnapshot'
>;

/** Chain rules from genesis: identical on every node. */
export interface ChainParams {
  readonly chainId: string;
  /** W: validUntil may be at most height + W */
  readonly txWindow: number;
  readonly maxTxsPerBlock: number;
  readonly maxBlockBytes: number;
  readonly maxTxBytes: number;
}

export interface ChainAppOptions {
  readonly engine: ChainEngine;
  readonly chain: ChainParams;
  /** hash of the genesis block (height 0, all-zero tensor) as defined by consensus */
  readonly genesisHash: Uint8Array;
  readonly verifier?: Verifier;
  readonly mempool?: Mempool | null;
  /** attached, not yet committed blocks kept (each holds an engine checkpoint) */
  readonly maxPendingBlocks?: number;
  /** executions kept for attach()/re-execution (each holds an engine checkpoint) */
  readonly maxExecutions?: number;
  /**
   * signature-verified transactions (and their decoding) remembered between admission and execution;
   * default: room for a full mempool plus a few blocks, so a backlog never evicts what it will execute
   */
  readonly verifiedCacheSize?: number;
  /**
   * Post-states of the last this-many committed blocks kept (one engine checkpoint each), so a
   * proof-of-processing answer can prove a row as it stood after a recent block. 0: none.
   */
  readonly keepCommittedStates?: number;
}

export interface CommitResult {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly receipts: readonly Receipt[];
}

const EXEC_DOMAIN = 'numchain/exec/v1';

interface Execution {
  readonly id: string;
  readonly parentHex: string;
  readonly height: number;
  readonly txRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly checkpoint: EngineCheckpoint;
  readonly receipts: readonly Receipt[];
  /** txids applied by this block (enter the replay index on commit) */
  readonly applied: readonly { readonly txidHex: string; readonly validUntil: number }[];
  /** every decodable txid in the block (leave the mempool on commit, applied or not) */
  readonly included: readonly string[];
  /** the block's transactions (kept after commit only for the last keepCommittedStates blocks) */
  readonly txs: readonly Uint8Array[];
}

interface PendingBlock {
  readonly hashHex: string;
  readonly parentHex: string;
  readonly height: number;
  readonly exec: Execution;
}

interface Committed {
  readonly hash: Uint8Array;
  readonly hashHex: string;
  readonly height: number;
  readonly stateRoot: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly checkpoint: EngineCheckpoint;
}

export interface ChainAppStats {
  height: number;
  pendingBlocks: number;
  executions: number;
  blocksEvicted: number;
  executionsEvicted: number;
  executionsReused: number;
  verifiedCacheHits: number;
  /** txs whose signature had to be checked while executing a block (not seen at admission) */
  executionVerified: number;
  verifiedCacheSize: number;
  replayIndexSize: number;
  admitted: number;
  admitRejected: Record<string, number>;
}

export class ChainApp implements ConsensusApp {
  readonly chain: ChainParams;
  readonly limits: TxLimits;
  readonly verifier: Verifier;
  readonly mempool: Mempool | null;
  readonly replay: ReplayIndex;
  private readonly engine: ChainEngine;
  private readonly maxPendingBlocks: number;
  private readonly maxExecutions: number;
  /** transactions whose signature passed (and their decoding), shared by admission and execution */
  readonly verified: VerifiedTxs;
  /** the mempool's way in: client and gossiped transactions */
  readonly admission: TxAdmission;
  private committed: Committed;
  private readonly blocks = new Map<string, PendingBlock>();
  /** LRU by Map order */
  private readonly execs = new Map<string, Execution>();
  /** which checkpoint the engine's live state equals (null: unknown, restore before use) */
  private engineAt: EngineCheckpoint | null;
  private readonly counters = { blocksEvicted: 0, executionsEvicted: 0, executionsReused: 0, verifiedCacheHits: 0, executionVerified: 0 };
  private readonly txContext: TxContext;
  /** committed height → its post-state and transactions (the last keepCommittedStates blocks) */
  private readonly recentStates: FifoMap<number, { readonly checkpoint: EngineCheckpoint; readonly txs: readonly Uint8Array[] }> | null;

  constructor(opts: ChainAppOptions) {
    const c = opts.chain;
    if (typeof c.chainId !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(c.chainId)) throw new RangeError('chain.chainId must be 1–64 characters of [A-Za-z0-9._:-]');
    for (const k of ['txWindow', 'maxTxsPerBlock', 'maxBlockBytes', 'maxTxBytes'] as const) {
      if (!Number.isSafeInteger(c[k]) || c[k] < (k === 'txWindow' ? 0 : 1)) throw new RangeError(`chain.${k} must be a positive integer`);
    }
    if (!(opts.genesisHash instanceof Uint8Array) || opts.genesisHash.length !== 32) throw new RangeError('genesisHash must be 32 bytes');
    this.chain = Object.freeze({ ...c });
    this.engine = opts.engine;
    this.limits = txLimits(opts.engine.params, opts.engine.bound, c.maxTxBytes);
    this.verifier = opts.verifier ?? new Verifier();
    this.mempool = opts.mempool ?? null;
    this.maxPendingBlocks = opts.maxPendingBlocks ?? 64;
    this.maxExecutions = opts.maxExecutions ?? 32;
    this.verified = new VerifiedTxs(opts.verifiedCacheSize ?? Math.max(50_000, (this.mempool?.opts.maxTxs ?? 0) + 4 * c.maxTxsPerBlock));
    // Every block applies at most maxTxsPerBlock txids, each remembered for at most W + 1 heights.
    this.replay = new ReplayIndex({ window: c.txWindow, maxEntries: (c.txWindow + 1) * c.maxTxsPerBlock });
    this.recentStates = (opts.keepCommittedStates ?? 0) > 0 ? new FifoMap(opts.keepCommittedStates!) : null;
    this.txContext = { chainId: c.chainId, txWindow: c.txWindow, limits: this.limits, engine: this.engine, verifier: this.verifier, verified: this.verified, replay: this.replay, counters: this.counters };
    this.admission = new TxAdmission({ chainId: c.chainId, limits: this.limits, replay: this.replay, mempool: this.mempool, verifier: this.verifier, verified: this.verified });
    const snap = this.engine.exportSnapshot();
    if (snap.tensor.some((b) => b !== 0)) throw new RangeError('the engine must hold the genesis (all-zero) state');
    this.engine.root();
    const cp = this.engine.checkpoint();
    this.engineAt = cp;
    this.committed = { hash: opts.genesisHash.slice(), hashHex: toHex(opts.genesisHash), height: 0, stateRoot: snap.root, txRoot: merkleRoot([]), checkpoint: cp };
  }

  // ------------------------------------------------------------------ committed state (for RPC)

  get height(): number {
    return this.committed.height;
  }

  get committedHash(): Uint8Array {
    return this.committed.hash.slice();
  }

  get stateRoot(): Uint8Array {
    return this.committed.stateRoot.slice();
  }

  /** Run `fn` against the committed state (the engine may be holding a speculative one). */
  withCommittedState<T>(fn: (engine: Pick<ChainEngine, 'readRow' | 'proof' | 'root' | 'leafHash' | 'rowIndex'>) => T): T {
    this.load(this.committed.checkpoint);
    return fn(this.engine);
  }

  /** A row's proof as it stood after committed block `height`, if that state is still kept. */
  proofAt(height: number, t: RowTarget): RowProof | null {
    const cp = height === this.committed.height ? this.committed.checkpoint : this.recentStates?.get(height)?.checkpoint;
    if (cp === undefined) return null;
    this.load(cp);
    return this.engine.proof(t);
  }

  /** The transactions of committed block `height`, if it is one of the last keepCommittedStates. */
  committedTxs(height: number): readonly Uint8Array[] | null {
    return this.recentStates?.get(height)?.txs ?? null;
  }

  /** The row a transaction writes (null if these bytes are not a transaction this chain executes). */
  targetOf(bytes: Uint8Array): RowTarget | null {
    try {
      const op = decodeTx(bytes, this.limits).body.op;
      return { shard: op.shard, layer: op.layer, slot: op.slot };
    } catch (e) {
      if (e instanceof TxError) return null;
      throw e;
    }
  }

  /** The leaf index of a row in the state tree. */
  rowIndex(t: RowTarget): number {
    return this.engine.rowIndex(t);
  }

  readRow(t: RowTarget): Int32Array {
    return this.withCommittedState((e) => e.readRow(t));
  }

  proof(t: RowTarget): RowProof {
    return this.withCommittedState((e) => e.proof(t));
  }

  stats(): ChainAppStats {
    return {
      height: this.committed.height,
      pendingBlocks: this.blocks.size,
      executions: this.execs.size,
      ...this.counters,
      verifiedCacheSize: this.verified.size,
      replayIndexSize: this.replay.size,
      admitted: this.admission.admitted,
      admitRejected: this.admission.rejected(),
    };
  }

  // ------------------------------------------------------------------ ConsensusApp

  selectTxs(parent: Uint8Array, height: number, maxTxs: number, maxBytes: number): Uint8Array[] {
    const p = this.stateOf(toHex(parent));
    if (!p) throw new AppError('unknown_parent', `no state for parent ${toHex(parent)}`, 'parent');
    if (!this.mempool) return [];
    const inFlight = new Set<string>();
    for (const b of this.ancestors(toHex(parent))) for (const id of b.exec.included) inFlight.add(id);
    return this.mempool.select(
      Math.min(maxTxs, this.chain.maxTxsPerBlock),
      Math.min(maxBytes, this.chain.maxBlockBytes),
      height,
      (id) => inFlight.has(id) || this.replay.has(id),
    );
  }

  hasBacklog(parent: Uint8Array, n: number): boolean {
    if (!this.mempool) return false;
    let waiting = this.mempool.size;
    for (const b of this.ancestors(toHex(parent))) waiting -= b.exec.included.length;
    return waiting >= n;
  }

  execute(parent: Uint8Array, height: number, txs: readonly Uint8Array[]): ExecResult {
    const parentHex = toHex(parent);
    const p = this.stateOf(parentHex);
    if (!p) throw new AppError('unknown_parent', `no state for parent ${parentHex}`, 'parent');
    if (height !== p.height + 1) throw new AppError('bad_block', `height ${height} is not parent height ${p.height} + 1`, 'height');
    if (txs.length > this.chain.maxTxsPerBlock) throw new AppError('limit', `${txs.length} txs exceed maxTxsPerBlock ${this.chain.maxTxsPerBlock}`, 'txs');
    let total = 0;
    for (const t of txs) {
      if (!(t instanceof Uint8Array)) throw new AppError('bad_tx', 'every tx must be bytes', 'txs');
      total += t.length;
    }
    if (total > this.chain.maxBlockBytes) throw new AppError('limit', `${total} tx bytes exceed maxBlockBytes ${this.chain.maxBlockBytes}`, 'txs');

    const txRoot = merkleRoot(txs);
    const id = toHex(sha256(encodeCanonical([EXEC_DOMAIN, parent, height, txRoot])));
    const cached = this.execs.get(id);
    if (cached) {
      this.execs.delete(id);
      this.execs.set(id, cached);
      this.counters.executionsReused++;
      return { id, stateRoot: cached.stateRoot.slice(), txRoot: cached.txRoot.slice() };
    }

    // txids applied by uncommitted ancestors count as applied for replay purposes.
    const ancestorsApplied = new Set<string>();
    for (const b of this.ancestors(parentHex)) for (const a of b.exec.applied) ancestorsApplied.add(a.txidHex);

    this.load(p.checkpoint);
    const receipts: Receipt[] = [];
    const applied: { txidHex: string; validUntil: number }[] = [];
    const included: string[] = [];
    const inBlock = new Set<string>();
    try {
      txs.forEach((bytes, index) => {
        const r = executeTx(this.txContext, bytes, index, height, ancestorsApplied, inBlock);
        if (r.txidHex !== null) included.push(r.txidHex);
        if (r.receipt.status === 'applied') applied.push({ txidHex: r.receipt.txid, validUntil: r.validUntil });
        receipts.push(r.receipt);
      });
    } catch (e) {
      this.engineAt = null; // the engine may hold a half-applied block
      throw e;
    }
    const stateRoot = this.engine.root();
    const checkpoint = this.engine.checkpoint();
    this.engineAt = checkpoint;
    const exec: Execution = { id, parentHex, height, txRoot, stateRoot, checkpoint, receipts, applied, included, txs };
    this.execs.set(id, exec);
    while (this.execs.size > this.maxExecutions) {
      this.execs.delete(this.execs.keys().next().value as string);
      this.counters.executionsEvicted++;
    }
    return { id, stateRoot: stateRoot.slice(), txRoot: txRoot.slice() };
  }

  attach(id: string, blockHash: Uint8Array): void {
    const exec = this.execs.get(id);
    if (!exec) throw new AppError('unknown_execution', `no execution ${id}`, 'id');
    if (!(blockHash instanceof Uint8Array) || blockHash.length !== 32) throw new AppError('bad_block', 'block hash must be 32 bytes', 'blockHash');
    const hashHex = toHex(blockHash);
    const existing = this.blocks.get(hashHex);
    if (existing) {
      if (existing.exec.id !== id) throw new AppError('bad_block', `block ${hashHex} is already attached to another execution`, 'blockHash');
      return;
    }
    // A block at or below the committed height can never commit (heights commit once each); keep nothing.
    if (exec.height <= this.committed.height) return;
    const block: PendingBlock = { hashHex, parentHex: exec.parentHex, height: exec.height, exec };
    this.blocks.set(hashHex, block);
    if (this.blocks.size > this.maxPendingBlocks) {
      // Evict the oldest block that is not an ancestor of the new one, so the chain being extended survives.
      // If every pending block is an ancestor, refuse the new one instead: evicting an ancestor would
      // make the whole chain uncommittable, while refusing keeps it committable and the bound hard.
      const keep = new Set<string>([hashHex, ...[...this.ancestors(block.parentHex)].map((b) => b.hashHex)]);
      const victim = [...this.blocks.keys()].find((h) => !keep.has(h));
      if (victim === undefined) {
        this.blocks.delete(hashHex);
        throw new AppError('limit', `${this.maxPendingBlocks} uncommitted blocks are pending; refusing to extend further`, 'blockHash');
      }
      this.blocks.delete(victim);
      this.counters.blocksEvicted++;
    }
  }

  // ------------------------------------------------------------------ commit

  /**
   * Make `blockHash` (a child of the committed head, attached earlier) the committed state.
   * Called by the node driver once per block, in height order.
   */
  commit(blockHash: Uint8Array): CommitResult {
    const hashHex = toHex(blockHash);
    const block = this.blocks.get(hashHex);
    if (!block) throw new AppError('unknown_execution', `block ${hashHex} was never attached (or was pruned)`, 'blockHash');
    if (block.parentHex !== this.committed.hashHex || block.height !== this.committed.height + 1) {
      throw new AppError('bad_block', `block ${hashHex} at height ${block.height} does not extend the committed head at height ${this.committed.height}`, 'blockHash');
    }
    const { exec } = block;
    this.replay.add(exec.applied);
    this.replay.prune(block.height + 1);
    if (this.mempool) {
      this.mempool.removeCommitted(exec.included);
      this.mempool.pruneExpired(block.height + 1);
    }
    this.committed = { hash: blockHash.slice(), hashHex, height: block.height, stateRoot: exec.stateRoot, txRoot: exec.txRoot, checkpoint: exec.checkpoint };
    this.recentStates?.set(block.height, { checkpoint: exec.checkpoint, txs: exec.txs });
    this.blocks.delete(hashHex);
    this.pruneForks();
    return { height: block.height, blockHash: blockHash.slice(), stateRoot: exec.stateRoot.slice(), txRoot: exec.txRoot.slice(), receipts: exec.receipts };
  }

  /** Keep only blocks that descend from the committed head; executions only above it. */
  private pruneForks(): void {
    const onChain = new Map<string, boolean>([[this.committed.hashHex, true]]);
    const descends = (hex: string): boolean => {
      const path: string[] = [];
      let cur = hex;
      let ok = false;
      for (;;) {
        const known = onChain.get(cur);
        if (known !== undefined) {
          ok = known;
          break;
        }
        const b = this.blocks.get(cur);
        if (!b || b.height <= this.committed.height) break;
        path.push(cur);
        cur = b.parentHex;
      }
      for (const h of path) onChain.set(h, ok);
      return ok;
    };
    for (const h of [...this.blocks.keys()]) if (!descends(h)) this.blocks.delete(h);
    for (const [id, e] of [...this.execs]) if (e.height <= this.committed.height) this.execs.delete(id);
  }

  // ------------------------------------------------------------------ admission (mempool path)

  /** admission.admit() at this app's committed height by default. */
  admit(bytes: Uint8Array, clientKey: string, now: number, height: number = this.committed.height): AdmitResult {
    return this.admission.admit(bytes, clientKey, now, height);
  }

  /**
   * Record a transaction as signature-verified without verifying it: only for replaying this node's
   * own fsynced log, where its receipt says it was applied (so it passed ZIP-215 when first executed).
   */
  trustAsVerified(bytes: Uint8Array): void {
    try {
      this.verified.remember(decodeTx(bytes, this.limits));
    } catch (e) {
      if (!(e instanceof TxError)) throw e;
    }
  }

  // ------------------------------------------------------------------ snapshots

  /** The committed state, for the store to persist. */
  exportState(): ChainSnapshot {
    this.load(this.committed.checkpoint);
    const { tensor, root } = this.engine.exportSnapshot();
    return { chainId: this.chain.chainId, height: this.committed.height, blockHash: this.committed.hash.slice(), stateRoot: root, tensor, replay: this.replay.export() };
  }

  /** Upper bound on encodeSnapshot() size for this chain (pass to decodeSnapshot). */
  snapshotMaxBytes(): number {
    const p = this.engine.params;
    // tensor + per replay entry (≤ 64 hex chars + framing + u32) + fixed fields.
    return p.shards * p.layers * p.slots * p.dim * 4 + this.replay.maxEntries * 80 + 4096;
  }

  /**
   * Replace all state with a snapshot (restart / state sync). Throws MaError('bad_snapshot') if the
   * tensor does not hash to stateRoot, ReplayError('bad_snapshot') for a bad replay index, and
   * AppError('bad_block') for another chain's snapshot. Speculative blocks are dropped.
   */
  importState(s: ChainSnapshot): void {
    if (s.chainId !== this.chain.chainId) throw new AppError('bad_block', `snapshot is for chain ${s.chainId}`, 'chainId');
    if (!Number.isSafeInteger(s.height) || s.height < 0) throw new AppError('bad_block', 'snapshot height must be an integer ≥ 0', 'height');
    if (!(s.blockHash instanceof Uint8Array) || s.blockHash.length !== 32) throw new AppError('bad_block', 'snapshot block hash must be 32 bytes', 'blockHash');
    const replay = new ReplayIndex({ window: this.replay.window, maxEntries: this.replay.maxEntries });
    replay.import(s.replay); // validate before touching anything
    this.engine.importSnapshot(s.tensor, s.stateRoot);
    this.engine.root();
    const cp = this.engine.checkpoint();
    this.engineAt = cp;
    this.replay.import(s.replay);
    this.replay.prune(s.height + 1);
    this.committed = { hash: s.blockHash.slice(), hashHex: toHex(s.blockHash), height: s.height, stateRoot: s.stateRoot.slice(), txRoot: merkleRoot([]), checkpoint: cp };
    this.blocks.clear();
    this.execs.clear();
  }

  // ------------------------------------------------------------------ internals

  private stateOf(hex: string): { height: number; checkpoint: EngineCheckpoint } | null {
    if (hex === this.committed.hashHex) return this.committed;
    const b = this.blocks.get(hex);
    return b ? { height: b.height, checkpoint: b.exec.checkpoint } : null;
  }

  /** Uncommitted blocks from `hex` back to (not including) the committed head. */
  private *ancestors(hex: string): Generator<PendingBlock> {
    let cur = hex;
    while (cur !== this.committed.hashHex) {
      const b = this.blocks.get(cur);
      if (!b) return;
      yield b;
      cur = b.parentHex;
    }
  }

  private load(cp: EngineCheckpoint): void {
    if (this.engineAt !== cp) {
      this.engine.restore(cp);
      this.engineAt = cp;
    }
  }
}
