// Transactions entering a replica: from clients (one, or a batch with signatures checked on the
// pool) and gossiped by other validators. Everything passes an admission gate (a few batches at
// once, a bounded wait, then `busy`), which keeps each event-loop turn short enough for the
// proposer's timer. Admitted client transactions are gossiped in batches.
import type { AdmitResult, ChainApp } from '../chain/app.ts';
import type { SignedTx } from '../chain/tx.ts';
import { decodeCanonical, encodeCanonical } from '../codec/canonical.ts';
import { AdmissionGate } from './admission-gate.ts';
import { verifyOnPool, type InflightVerifications } from './preverify.ts';
import type { ReplicaObserver } from './replica.ts';
import type { ReplicaClock, ReplicaNetwork, SignaturePool, TimerHandle } from './world.ts';

export interface AdmissionParts {
  readonly app: ChainApp;
  readonly pool: SignaturePool | null;
  readonly verifying: InflightVerifications;
  readonly clock: ReplicaClock;
  readonly network: ReplicaNetwork;
  readonly observer: ReplicaObserver | undefined;
  /** Whether admitted transactions are gossiped (false with one validator). */
  readonly gossip: boolean;
  readonly committedHeight: () => number;
}

const BUSY: AdmitResult = { ok: false, txid: null, code: 'busy', field: 'txs', message: 'too many transaction batches are waiting for admission; retry later' };
/** Largest gossip frame payload accepted from a peer. */
const MAX_GOSSIP_BYTES = 64 << 20;
/** Gossip goes out once this many bytes or transactions wait, or after GOSSIP_MS. */
const GOSSIP_BYTES = 256 * 1024;
const GOSSIP_TXS = 1000;
const GOSSIP_MS = 5;

export class Admission {
  /** client and gossip transaction batches admitted at once */
  private readonly gate = new AdmissionGate(4, 64);
  private gossipBuf: Uint8Array[] = [];
  private gossipBytes = 0;
  private gossipTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly parts: AdmissionParts) {}

  stop(): void {
    this.stopped = true;
    if (this.gossipTimer !== null) this.parts.clock.clearTimer(this.gossipTimer);
    this.gossipTimer = null;
  }

  /** One transaction from a client: admit it, then gossip it. */
  admit(bytes: Uint8Array, clientKey: string): AdmitResult {
    const r = this.parts.app.admit(bytes, clientKey, this.parts.clock.now(), this.parts.committedHeight());
    this.after(r, bytes);
    return r;
  }

  /**
   * Many transactions at once: decode on this thread, verify the signatures on the worker pool
   * (when there is one), then admit in order. The consensus thread only pays for the decode.
   */
  admitBatch(list: readonly Uint8Array[], clientKey: string): Promise<AdmitResult[]> {
    return this.gated(list.length, () => list.map(() => BUSY), () => this.admitBatchNow(list, clientKey));
  }

  /** A batch gossiped by validator `from`. Gossip is best-effort: when admission is saturated it is dropped (and counted). */
  receiveGossip(from: number, payload: Uint8Array): void {
    let txs: unknown;
    try {
      txs = decodeCanonical(payload, MAX_GOSSIP_BYTES);
    } catch {
      txs = null;
    }
    if (!Array.isArray(txs) || !txs.every((t) => t instanceof Uint8Array)) {
      this.parts.observer?.refused?.('malformed', 1);
      return;
    }
    // Gossiped transactions are not gossiped again (every validator is connected to every other);
    // they still reach the chain through the validator that received them from a client.
    void this.gated(txs.length, () => undefined, () => this.admitGossipNow(txs as Uint8Array[], `peer:${from}`));
  }

  /** Run `work` holding an admission slot; when the gate is full, count `txs` as 'busy' and return `refused()`. */
  private async gated<T>(txs: number, refused: () => T, work: () => Promise<T>): Promise<T> {
    if (!(await this.gate.enter())) {
      this.parts.observer?.refused?.('busy', txs);
      return refused();
    }
    try {
      return await work();
    } finally {
      this.gate.leave();
    }
  }

  private async admitBatchNow(list: readonly Uint8Array[], clientKey: string): Promise<AdmitResult[]> {
    const { app, pool } = this.parts;
    const decoded = list.map((b) => app.admission.decodeForAdmission(b));
    const need: number[] = [];
    for (let i = 0; i < decoded.length; i++) {
      const d = decoded[i]!;
      if (!('ok' in d) && app.admission.needsSignatureCheck(d, this.parts.committedHeight())) need.push(i);
    }
    let fast: (boolean | undefined)[] = [];
    if (pool !== null && need.length > 0) {
      const answers = await verifyOnPool(app, pool, this.parts.verifying, need.map((i) => decoded[i] as SignedTx));
      if (answers) {
        fast = new Array(decoded.length);
        need.forEach((i, k) => (fast[i] = answers[k]));
      }
    }
    const now = this.parts.clock.now();
    const height = this.parts.committedHeight();
    return decoded.map((d, i) => {
      const r = 'ok' in d ? d : app.admission.admitDecoded(d, clientKey, now, height, fast[i]);
      this.after(r, list[i]!);
      return r;
    });
  }

  private async admitGossipNow(txs: readonly Uint8Array[], clientKey: string): Promise<void> {
    const { app, pool, verifying, observer } = this.parts;
    const decoded = txs.map((b) => app.admission.decodeForAdmission(b));
    // A block carrying some of these may be having them verified right now (preverify.ts): wait for
    // that answer rather than verify them a second time.
    const waits = new Set<Promise<unknown>>();
    for (const d of decoded) {
      const w = 'ok' in d ? undefined : verifying.pending(d.bytes);
      if (w) waits.add(w);
    }
    if (waits.size > 0) await Promise.all([...waits].map((w) => w.catch(() => undefined)));
    const need = decoded.filter((d): d is SignedTx => !('ok' in d) && app.admission.needsSignatureCheck(d, this.parts.committedHeight()));
    const answers = pool !== null && need.length > 0 ? await verifyOnPool(app, pool, verifying, need) : null;
    const fast = new Map<SignedTx, boolean>();
    if (answers) need.forEach((tx, k) => fast.set(tx, answers[k]!));
    const now = this.parts.clock.now();
    for (const d of decoded) {
      const r = 'ok' in d ? d : app.admission.admitDecoded(d, clientKey, now, this.parts.committedHeight(), fast.get(d));
      if (r.ok) observer?.admitted?.(r.txid, true);
      else if (r.code !== 'duplicate') observer?.refused?.(r.code, 1);
    }
  }

  private after(r: AdmitResult, bytes: Uint8Array): void {
    if (r.ok) {
      this.parts.observer?.admitted?.(r.txid, false);
      if (this.parts.gossip) this.queueGossip(bytes);
    } else if (r.code !== 'duplicate') this.parts.observer?.refused?.(r.code, 1);
  }

  /** Gossip in batches: one frame per few ms or 256 KiB instead of one per transaction. */
  private queueGossip(bytes: Uint8Array): void {
    this.gossipBuf.push(bytes);
    this.gossipBytes += bytes.length;
    if (this.gossipBytes >= GOSSIP_BYTES || this.gossipBuf.length >= GOSSIP_TXS) this.flushGossip();
    else if (this.gossipTimer === null) this.gossipTimer = this.parts.clock.setTimer(this.parts.clock.now() + GOSSIP_MS, () => this.flushGossip());
  }

  private flushGossip(): void {
    if (this.gossipTimer !== null) this.parts.clock.clearTimer(this.gossipTimer);
    this.gossipTimer = null;
    if (this.gossipBuf.length === 0 || this.stopped) return;
    const batch = this.gossipBuf;
    this.gossipBuf = [];
    this.gossipBytes = 0;
    this.parts.network.broadcast('txs', encodeCanonical(batch));
  }
}
