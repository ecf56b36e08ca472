// Committed receipts by txid, bounded (oldest forgotten first), and the waiters of `?wait=` requests,
// also bounded. Entries only ever arrive after their block was fsynced.
import { randomInt } from 'node:crypto';
import type { Receipt } from '../chain/receipts.ts';
import { ReceiptTable } from './receipt-table.ts';

export class ReceiptIndex {
  private readonly byTxid: ReceiptTable;
  private readonly waiters = new Map<string, Set<(r: Receipt | null) => void>>();
  private waiting = 0;
  waitersRefused = 0;

  constructor(
    max: number,
    private readonly maxWaiters: number,
  ) {
    this.byTxid = new ReceiptTable(max, randomInt(2 ** 31));
  }

  get evicted(): number {
    return this.byTxid.evicted;
  }

  get size(): number {
    return this.byTxid.size;
  }

  /**
   * Index a committed block's receipts. A txid applied once keeps that receipt: a later block that
   * carries the same transaction again (a replay, refused by execution) must not make GET /tx
   * report the applied transaction as rejected.
   */
  add(receipts: readonly Receipt[]): void {
    for (const r of receipts) {
      if (r.txid === null) continue;
      this.byTxid.putUnlessApplied(r as Receipt & { txid: string });
      const ws = this.waiters.get(r.txid);
      if (ws) {
        this.waiters.delete(r.txid);
        this.waiting -= ws.size;
        for (const w of ws) w(r);
      }
    }
  }

  get(txid: string): Receipt | null {
    return this.byTxid.get(txid);
  }

  /** Resolves with the receipt once committed, or null after timeoutMs (or at once if too many wait). */
  wait(txid: string, timeoutMs: number): Promise<Receipt | null> {
    const have = this.get(txid);
    if (have || timeoutMs <= 0) return Promise.resolve(have);
    if (this.waiting >= this.maxWaiters) {
      this.waitersRefused++;
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      let set = this.waiters.get(txid);
      if (!set) this.waiters.set(txid, (set = new Set()));
      const done = (r: Receipt | null) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        if (set!.delete(done)) this.waiting--;
        if (set!.size === 0) this.waiters.delete(txid);
        resolve(null);
      }, timeoutMs);
      set.add(done);
      this.waiting++;
    });
  }

  /** Resolve every waiter with null (shutdown). */
  close(): void {
    for (const ws of this.waiters.values()) for (const w of ws) w(null);
    this.waiters.clear();
    this.waiting = 0;
  }
}
