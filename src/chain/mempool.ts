// Sans-IO mempool: admitted transactions waiting for a block. It stores bytes and the few decoded
// facts it needs (txid, sender, validUntil); decoding and signature checks happen before add()
// (see ChainApp.admit). Everything is bounded and every refusal is counted by reason.
import { KeyedBuckets, checkRateOptions, type RateOptions } from '../crypto/token-bucket.ts';
import { FifoMap } from '../util/fifo-map.ts';
import type { MempoolRejection } from './reject-reasons.ts';

export interface PoolTx {
  readonly txidHex: string;
  /** sender public key, hex */
  readonly senderHex: string;
  readonly validUntil: number;
  /** wire bytes */
  readonly bytes: Uint8Array;
}

/** The reasons of reject-reasons.ts that the pool itself can give (each counted from 0). */
export const MEMPOOL_REJECTIONS: readonly MempoolRejection[] = ['duplicate', 'mempool_full', 'sender_rate', 'sender_queue_full', 'expired', 'too_far_ahead', 'too_large'];

export type MempoolVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: MempoolRejection };

export interface MempoolOptions {
  readonly maxTxs: number;
  readonly maxBytes: number;
  readonly maxTxBytes: number;
  /** queued transactions per sender */
  readonly maxPerSender: number;
  /** admissions per sender (token bucket; `now` comes from add()) */
  readonly senderRate: RateOptions;
  /** senders whose rate bucket is remembered */
  readonly maxTrackedSenders: number;
  /** txids remembered for dedup (LRU), including ones already removed */
  readonly seenCacheSize: number;
  /** W from chain params: validUntil may be at most height + W */
  readonly txWindow: number;
}

export const DEFAULT_MEMPOOL_OPTIONS: MempoolOptions = Object.freeze({
  maxTxs: 20_000,
  maxBytes: 16 * 1024 * 1024,
  maxTxBytes: 4 * 1024,
  maxPerSender: 256,
  senderRate: Object.freeze({ perSecond: 100, burst: 200 }),
  maxTrackedSenders: 10_000,
  seenCacheSize: 100_000,
  txWindow: 1000,
});

/** Counters the metrics module reads; every key is present from the start (0, not absent). */
export type MempoolCounts = Record<MempoolRejection | 'accepted' | 'removed_committed' | 'dropped_expired' | 'seen_evicted', number>;

export class Mempool {
  readonly opts: MempoolOptions;
  readonly counts: MempoolCounts;
  /** sender hex → FIFO of its queued txs; Map order is the round-robin order */
  private readonly queues = new Map<string, PoolTx[]>();
  /** txid hex → queued tx */
  private readonly byTxid = new Map<string, PoolTx>();
  /** txids seen, oldest forgotten first */
  private readonly seen: FifoMap<string, true>;
  private readonly rates: KeyedBuckets;
  private totalBytes = 0;
  /** at most the lowest validUntil in the pool (+∞ when it is empty since the last scan) */
  private lowestValidUntil = Number.POSITIVE_INFINITY;

  constructor(opts: Partial<MempoolOptions> = {}) {
    const o = { ...DEFAULT_MEMPOOL_OPTIONS, ...opts };
    for (const k of ['maxTxs', 'maxBytes', 'maxTxBytes', 'maxPerSender', 'maxTrackedSenders', 'seenCacheSize'] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new RangeError(`mempool option ${k} must be an integer ≥ 1`);
    }
    if (!Number.isSafeInteger(o.txWindow) || o.txWindow < 0) throw new RangeError('mempool option txWindow must be an integer ≥ 0');
    checkRateOptions(o.senderRate, 'senderRate');
    this.opts = Object.freeze(o);
    this.rates = new KeyedBuckets(o.senderRate, o.maxTrackedSenders);
    this.seen = new FifoMap(o.seenCacheSize);
    const counts = { accepted: 0, removed_committed: 0, dropped_expired: 0, seen_evicted: 0 } as MempoolCounts;
    for (const r of MEMPOOL_REJECTIONS) counts[r] = 0;
    this.counts = counts;
  }

  get size(): number {
    return this.byTxid.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get senders(): number {
    return this.queues.size;
  }

  has(txidHex: string): boolean {
    return this.byTxid.has(txidHex);
  }

  /** Seen recently (queued now, or queued/committed before and not yet forgotten by the LRU). */
  hasSeen(txidHex: string): boolean {
    return this.seen.has(txidHex);
  }

  /** Forget every remembered txid (queued ones stay queued). Used after restarts and in tests. */
  clearSeen(): void {
    this.seen.clear();
    for (const id of this.byTxid.keys()) this.touchSeen(id);
  }

  private reject(reason: MempoolRejection): MempoolVerdict {
    this.counts[reason]++;
    return { ok: false, reason };
  }

  /**
   * Admit a tx that has already been decoded and signature-checked. `height` is the height of the
   * next block (the first one the tx could land in).
   */
  add(tx: PoolTx, now: number, height: number): MempoolVerdict {
    const pre = this.precheck(tx, height);
    if (pre !== null) return this.reject(pre);
    return this.addPrechecked(tx, now);
  }

  /**
   * add() for a tx that precheck() has just passed, with no mempool call in between (admission
   * checks the signature between the two, which changes nothing here): the same verdict without
   * repeating precheck's lookups.
   */
  addPrechecked(tx: PoolTx, now: number): MempoolVerdict {
    const queue = this.queues.get(tx.senderHex);
    // The rate bucket is charged last so that refusals for other reasons do not cost the sender.
    if (!this.rates.bucket(tx.senderHex, now).take(now)) return this.reject('sender_rate');
    if (queue) queue.push(tx);
    else this.queues.set(tx.senderHex, [tx]);
    this.byTxid.set(tx.txidHex, tx);
    this.totalBytes += tx.bytes.length;
    if (tx.validUntil < this.lowestValidUntil) this.lowestValidUntil = tx.validUntil;
    // precheck() found the id unseen, so it is inserted without looking it up again.
    this.seen.setFresh(tx.txidHex, true);
    this.counts.seen_evicted = this.seen.evicted;
    this.counts.accepted++;
    return { ok: true };
  }

  /** Count a refusal precheck() found (what add() would have answered). */
  refuse(reason: MempoolRejection): MempoolVerdict {
    return this.reject(reason);
  }

  /**
   * What add() would refuse for, short of the sender's rate (which only add() charges), without
   * counting anything: lets admission skip the signature check of a tx the pool cannot take anyway.
   */
  precheck(tx: PoolTx, height: number): MempoolRejection | null {
    if (tx.bytes.length > this.opts.maxTxBytes) return 'too_large';
    if (this.seen.has(tx.txidHex)) return 'duplicate';
    if (tx.validUntil < height) return 'expired';
    if (tx.validUntil > height + this.opts.txWindow) return 'too_far_ahead';
    if (this.byTxid.size >= this.opts.maxTxs || this.totalBytes + tx.bytes.length > this.opts.maxBytes) return 'mempool_full';
    const queue = this.queues.get(tx.senderHex);
    if (queue && queue.length >= this.opts.maxPerSender) return 'sender_queue_full';
    return null;
  }

  private touchSeen(id: string): void {
    this.seen.set(id, true);
    this.counts.seen_evicted = this.seen.evicted;
  }

  /**
   * Pick transactions for a block at `height`, round-robin over senders (one tx per sender per
   * round, each sender's txs in arrival order), skipping txs outside the validity window and any
   * txid `exclude` returns true for (e.g. txs in uncommitted ancestor blocks). Does not remove
   * anything: the block may never commit.
   */
  select(maxTxs: number, maxBytes: number, height: number, exclude?: (txidHex: string) => boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    const cursors = [...this.queues.values()].map((q) => ({ q, i: 0 }));
    let active = cursors;
    while (active.length > 0 && out.length < maxTxs) {
      const next: typeof cursors = [];
      for (const c of active) {
        if (out.length >= maxTxs) break;
        // Advance this sender to its next eligible tx.
        while (c.i < c.q.length) {
          const tx = c.q[c.i]!;
          const eligible = tx.validUntil >= height && tx.validUntil <= height + this.opts.txWindow && !(exclude?.(tx.txidHex) ?? false);
          if (eligible) break;
          c.i++;
        }
        if (c.i >= c.q.length) continue;
        const tx = c.q[c.i]!;
        // A tx that does not fit ends this sender's turn (keeping its order), not the whole block.
        if (bytes + tx.bytes.length > maxBytes) continue;
        out.push(tx.bytes);
        bytes += tx.bytes.length;
        c.i++;
        next.push(c);
      }
      active = next;
    }
    return out;
  }

  /**
   * Remove txs included in a committed block (applied or rejected: either way they must not be
   * proposed again). Senders who had a tx removed move to the back of the round-robin order, so a
   * sender served in this block yields to the others in the next one.
   */
  removeCommitted(txidHexes: Iterable<string>): void {
    const served = new Set<string>();
    for (const id of txidHexes) {
      this.touchSeen(id);
      const tx = this.byTxid.get(id);
      if (!tx) continue;
      this.removeOne(tx);
      served.add(tx.senderHex);
      this.counts.removed_committed++;
    }
    for (const s of served) {
      const q = this.queues.get(s);
      if (q) {
        this.queues.delete(s);
        this.queues.set(s, q);
      }
    }
  }

  /**
   * Drop txs that can no longer be included at heights ≥ nextHeight. Called at every commit, so
   * the pool is scanned only once some tx can have expired (below the lowest validUntil nothing
   * can), not every time: a full pool under load holds tens of thousands of txs.
   */
  pruneExpired(nextHeight: number): void {
    if (nextHeight <= this.lowestValidUntil) return;
    let lowest = Number.POSITIVE_INFINITY;
    // Deleting the entry being visited is safe while iterating a Map.
    for (const tx of this.byTxid.values()) {
      if (tx.validUntil < nextHeight) {
        this.removeOne(tx);
        this.counts.dropped_expired++;
      } else if (tx.validUntil < lowest) lowest = tx.validUntil;
    }
    this.lowestValidUntil = lowest;
  }

  private removeOne(tx: PoolTx): void {
    this.byTxid.delete(tx.txidHex);
    this.totalBytes -= tx.bytes.length;
    const q = this.queues.get(tx.senderHex);
    if (!q) return;
    const i = q.indexOf(tx);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(tx.senderHex);
  }
}
