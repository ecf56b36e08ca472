// A NodeApi backed by a real MaEngine, for RPC tests: admission decodes and verifies like a node
// (txFromJson / decodeTx + ZIP-215), commit() turns the pending txs into a block with receipts, so
// proofs verify and long-polls resolve. No consensus, no network.
import { decodeTx, txFromJson, TxError, txLimits, type SignedTx, type TxLimits } from '../../src/chain/tx.ts';
import { verifyZip215 } from '../../src/crypto/ed25519.ts';
import { sha256, toHex } from '../../src/crypto/sha256.ts';
import { loadEngineSync } from '../../src/host/node-loader.ts';
import type { MaEngine } from '../../src/engine/engine.ts';
import { MaError, type MaParams, type RowTarget } from '../../src/engine/types.ts';
import type { BlockJson, HealthJson, NodeApi, ParamsJson, ReceiptJson, StateJson, SubmitResult } from '../../src/rpc/api.ts';

export const SMALL_MA: MaParams = Object.freeze({ shards: 2, layers: 2, slots: 4, dim: 4, q: 1024, decay: 0.985, clip: 8.0 });

export interface FakeNodeOptions {
  readonly chainId?: string;
  readonly txWindow?: number;
  readonly maxBatch?: number;
  /** commit pending txs every this many ms (0 = only when commit() is called) */
  readonly autoCommitMs?: number;
}

export class FakeNode implements NodeApi {
  readonly engine: MaEngine;
  readonly limits: TxLimits;
  readonly chainId: string;
  readonly txWindow: number;
  readonly maxBatch: number;
  readonly blocks: BlockJson[] = [];
  readonly receipts = new Map<string, ReceiptJson>();
  readonly submitted: { tx: unknown; clientKey: string }[] = [];
  pending: SignedTx[] = [];
  /** make the next submit() throw (to test that the server survives) */
  throwOnSubmit = false;
  /** tamper with the next state() answer */
  tamperState = false;
  /** refuse every submission with this (to test admission refusals end to end) */
  refuseWith: { code: string; field: string; message: string; status: number } | null = null;
  /** execution rejects every tx with this reason */
  execRejectWith: string | null = null;
  metricsCalls = 0;
  private blockWaiters: { height: number; resolve: (b: BlockJson | null) => void }[] = [];
  private receiptWaiters: { txid: string; resolve: (r: ReceiptJson | null) => void }[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(opts: FakeNodeOptions = {}) {
    this.engine = loadEngineSync(SMALL_MA);
    this.limits = txLimits(SMALL_MA, this.engine.bound, 512);
    this.chainId = opts.chainId ?? 'fake-1';
    this.txWindow = opts.txWindow ?? 100;
    this.maxBatch = opts.maxBatch ?? 16;
    this.blocks.push(this.makeBlock([], []));
    if (opts.autoCommitMs) this.timer = setInterval(() => this.pending.length && this.commit(), opts.autoCommitMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.blockWaiters) w.resolve(null);
    for (const w of this.receiptWaiters) w.resolve(null);
    this.blockWaiters = [];
    this.receiptWaiters = [];
  }

  get height(): number {
    return this.blocks.length - 1;
  }

  private makeBlock(txids: string[], receipts: ReceiptJson[]): BlockJson {
    const height = this.blocks.length;
    const parent = height === 0 ? '00'.repeat(32) : this.blocks[height - 1]!.hash;
    const stateRoot = this.engine.rootHex();
    const hash = toHex(sha256(new TextEncoder().encode(`${parent}/${stateRoot}/${txids.join(',')}/${height}`)));
    return { height, hash, parent, stateRoot, txRoot: '00'.repeat(32), timestamp: 1_700_000_000_000 + height * 1000, txids, receipts };
  }

  /** Execute every pending tx into a new block. */
  commit(): BlockJson {
    const height = this.blocks.length;
    const receipts: ReceiptJson[] = [];
    const txs = this.pending;
    this.pending = [];
    txs.forEach((tx, index) => {
      const err = tx.body.validUntil < height ? 'expired' : this.execRejectWith;
      const maErr = err ? null : this.engine.check(tx.body.op);
      if (err || maErr) {
        receipts.push({ txid: tx.txidHex, height, index, status: 'rejected', reason: err ?? maErr!.code, field: err === 'expired' ? 'validUntil' : err ? 'op' : maErr!.field });
        return;
      }
      this.engine.apply(tx.body.op);
      const row = this.engine.rowIndex(tx.body.op);
      receipts.push({ txid: tx.txidHex, height, index, status: 'applied', row, leaf: toHex(this.engine.leafHash(row)) });
    });
    const block = this.makeBlock(
      txs.map((t) => t.txidHex),
      receipts,
    );
    this.blocks.push(block);
    for (const r of receipts) this.receipts.set(r.txid!, r);
    this.blockWaiters = this.blockWaiters.filter((w) => (w.height <= block.height ? (w.resolve(this.blocks[w.height]!), false) : true));
    this.receiptWaiters = this.receiptWaiters.filter((w) => {
      const r = this.receipts.get(w.txid);
      if (r) w.resolve(r);
      return !r;
    });
    return block;
  }

  submit(tx: unknown, clientKey: string): SubmitResult {
    this.submitted.push({ tx, clientKey });
    if (this.throwOnSubmit) {
      this.throwOnSubmit = false;
      throw new Error('boom');
    }
    let signed: SignedTx;
    try {
      signed = tx instanceof Uint8Array ? decodeTx(tx, this.limits) : txFromJson(tx, this.limits);
    } catch (e) {
      if (e instanceof TxError) return { accepted: false, txid: null, code: e.code, field: e.field, message: e.message, status: e.code === 'bad_vec_value' ? 422 : 400 };
      throw e;
    }
    const txid = signed.txidHex;
    if (this.refuseWith) return { accepted: false, txid, ...this.refuseWith };
    if (signed.body.chainId !== this.chainId) return { accepted: false, txid, code: 'wrong_chain', field: 'chainId', message: 'wrong chain', status: 422 };
    if (this.receipts.has(txid) || this.pending.some((p) => p.txidHex === txid)) return { accepted: false, txid, code: 'duplicate', field: 'txid', message: 'already seen', status: 409 };
    if (!verifyZip215(signed.body.sender, signed.bodyBytes, signed.signature)) return { accepted: false, txid, code: 'bad_signature', field: 'signature', message: 'bad signature', status: 422 };
    this.pending.push(signed);
    return { accepted: true, txid };
  }

  health(): HealthJson {
    const b = this.blocks[this.height]!;
    return {
      chainId: this.chainId,
      nodeIndex: 0,
      height: this.height,
      stateRoot: b.stateRoot,
      lastBlockTime: this.height === 0 ? null : b.timestamp,
      syncing: false,
      peers: 3,
      validators: 4,
      version: '0.1.0-fake',
      engineSha256: '00'.repeat(32),
    };
  }

  params(): ParamsJson {
    return { chainId: this.chainId, ma: { ...SMALL_MA }, bound: this.engine.bound, txWindow: this.txWindow, maxTxBytes: this.limits.maxTxBytes, maxBatch: this.maxBatch };
  }

  async block(height: number | 'latest'): Promise<BlockJson | null> {
    return this.blocks[height === 'latest' ? this.height : height] ?? null;
  }

  waitBlock(height: number, timeoutMs: number): Promise<BlockJson | null> {
    const b = this.blocks[height];
    if (b) return Promise.resolve(b);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.blockWaiters = this.blockWaiters.filter((x) => x !== w);
        resolve(null);
      }, timeoutMs);
      const w = { height, resolve: (b: BlockJson | null) => (clearTimeout(timer), resolve(b)) };
      this.blockWaiters.push(w);
    });
  }

  receipt(txid: string): ReceiptJson | null {
    return this.receipts.get(txid) ?? null;
  }

  waitReceipt(txid: string, timeoutMs: number): Promise<ReceiptJson | null> {
    const r = this.receipts.get(txid);
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.receiptWaiters = this.receiptWaiters.filter((x) => x !== w);
        resolve(null);
      }, timeoutMs);
      const w = { txid, resolve: (r: ReceiptJson | null) => (clearTimeout(timer), resolve(r)) };
      this.receiptWaiters.push(w);
    });
  }

  state(t: RowTarget): StateJson {
    if (t.slot === 999) throw new MaError('bad_slot', 'slot', 'unreachable in tests');
    const p = this.engine.proof(t);
    const values = Array.from(p.values);
    if (this.tamperState) {
      this.tamperState = false;
      values[0] = values[0]! + 1;
    }
    return {
      height: this.height,
      stateRoot: this.engine.rootHex(),
      shard: p.shard,
      layer: p.layer,
      slot: p.slot,
      index: p.index,
      rows: p.rows,
      values,
      path: p.path.map(toHex),
    };
  }

  evidence(): unknown {
    return { evidence: [], powers: [1, 1, 1, 1] };
  }

  async metricsText(): Promise<string> {
    this.metricsCalls++;
    return '# HELP numchain_consensus_height Height.\n# TYPE numchain_consensus_height gauge\nnumchain_consensus_height 0\n';
  }

  readonly metricsContentType = 'text/plain; version=0.0.4; charset=utf-8';
}
