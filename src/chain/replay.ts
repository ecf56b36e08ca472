// Replay protection that does not depend on any cache remembering things.
//
// Rule: a transaction is valid in a block at height h iff  h ≤ validUntil ≤ h + W  and its txid is
// not in the committed-txid index. The index holds every applied txid whose validUntil is still ≥
// the next height; an entry with validUntil < h can be dropped because the window check alone
// rejects that transaction at every height ≥ h. Each committed block adds at most maxTxsPerBlock
// entries, each expiring within W + 1 heights, so the index never exceeds (W + 1) × maxTxsPerBlock.
import type { Canon } from '../codec/canonical.ts';
import type { ReplayRejection } from './reject-reasons.ts';

export interface ReplayVerdict {
  readonly code: ReplayRejection;
  readonly field: string;
  readonly message: string;
}

/** Window check alone (no index): is validUntil acceptable in a block at `height`? */
export function checkWindow(validUntil: number, height: number, window: number): ReplayVerdict | null {
  if (validUntil < height) return { code: 'expired', field: 'validUntil', message: `validUntil ${validUntil} is below block height ${height}` };
  if (validUntil > height + window) {
    return { code: 'too_far_ahead', field: 'validUntil', message: `validUntil ${validUntil} is more than ${window} blocks beyond height ${height}` };
  }
  return null;
}

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly code: 'bad_snapshot' | 'index_full' | 'bad_height',
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ReplayIndexOptions {
  /** W: how far beyond the block height validUntil may be */
  readonly window: number;
  /** hard bound on entries; (W + 1) × maxTxsPerBlock can never be exceeded by valid blocks */
  readonly maxEntries: number;
}

export class ReplayIndex {
  readonly window: number;
  readonly maxEntries: number;
  /** txid hex → validUntil */
  private readonly byTxid = new Map<string, number>();
  /** validUntil → txids expiring there (to prune without scanning everything) */
  private readonly byExpiry = new Map<number, string[]>();
  /**
   * Each bucket's export string as of the last export, with the bucket length it was built from.
   * Buckets only grow until dropped, so an equal length means the same ids: most of the index sits
   * in buckets that stopped growing, and a snapshot then sorts and joins only the few recent ones.
   */
  private readonly exported = new Map<number, { readonly n: number; readonly ids: string }>();
  /** every entry with validUntil < prunedBelow has been dropped */
  private prunedBelow = 0;
  /** entries dropped by pruning, for metrics */
  pruned = 0;

  constructor(opts: ReplayIndexOptions) {
    if (!Number.isSafeInteger(opts.window) || opts.window < 0) throw new RangeError('window must be an integer ≥ 0');
    if (!Number.isSafeInteger(opts.maxEntries) || opts.maxEntries < 1) throw new RangeError('maxEntries must be an integer ≥ 1');
    this.window = opts.window;
    this.maxEntries = opts.maxEntries;
  }

  get size(): number {
    return this.byTxid.size;
  }

  has(txidHex: string): boolean {
    return this.byTxid.has(txidHex);
  }

  /** Window + committed-index check for a block at `height` (speculative overlays are the caller's). */
  check(txidHex: string, validUntil: number, height: number): ReplayVerdict | null {
    const w = checkWindow(validUntil, height, this.window);
    if (w) return w;
    if (this.byTxid.has(txidHex)) return { code: 'replayed', field: 'txid', message: `transaction ${txidHex} was already applied` };
    return null;
  }

  /**
   * Record txids applied by a committed block. Throws 'index_full' only if blocks bigger than the
   * bound assumed in maxEntries were committed — a configuration bug, never bad user input.
   */
  add(entries: Iterable<{ readonly txidHex: string; readonly validUntil: number }>): void {
    for (const { txidHex, validUntil } of entries) {
      if (this.byTxid.has(txidHex) || validUntil < this.prunedBelow) continue;
      if (this.byTxid.size >= this.maxEntries) throw new ReplayError('index_full', 'txid', `replay index is full (${this.maxEntries}); maxTxsPerBlock × (window + 1) was exceeded`);
      this.byTxid.set(txidHex, validUntil);
      let bucket = this.byExpiry.get(validUntil);
      if (!bucket) this.byExpiry.set(validUntil, (bucket = []));
      bucket.push(txidHex);
    }
  }

  /** Drop every entry that can no longer matter for blocks at heights ≥ nextHeight. */
  prune(nextHeight: number): void {
    if (nextHeight <= this.prunedBelow) return;
    if (nextHeight - this.prunedBelow > this.byExpiry.size) {
      // Big jump (e.g. after a snapshot import): scan the buckets instead of the heights.
      for (const [v, ids] of this.byExpiry) if (v < nextHeight) this.dropBucket(v, ids);
    } else {
      for (let v = this.prunedBelow; v < nextHeight; v++) {
        const ids = this.byExpiry.get(v);
        if (ids) this.dropBucket(v, ids);
      }
    }
    this.prunedBelow = nextHeight;
  }

  private dropBucket(v: number, ids: readonly string[]): void {
    for (const id of ids) this.byTxid.delete(id);
    this.pruned += ids.length;
    this.byExpiry.delete(v);
    this.exported.delete(v);
  }

  /**
   * Deterministic export: [prunedBelow, [[validUntil, txids]...]], one pair per expiry height in
   * ascending order, where txids is that height's ids (lowercase hex) sorted and concatenated.
   * Built from the expiry buckets (each holds exactly the entries with its validUntil). One string
   * per bucket instead of one [txid, validUntil] pair per entry: a node under load holds hundreds
   * of thousands of entries, and building, encoding and collecting that many small arrays stalled
   * the consensus thread at every snapshot.
   */
  export(): Canon {
    const buckets: [number, string][] = [];
    for (const v of [...this.byExpiry.keys()].sort((a, b) => a - b)) {
      const bucket = this.byExpiry.get(v)!;
      let done = this.exported.get(v);
      if (done === undefined || done.n !== bucket.length) {
        // In place: the next export finds the old part sorted. Default order is UTF-16 code-unit
        // order, the same as comparing the strings with < (the ids are lowercase hex anyway).
        done = { n: bucket.length, ids: bucket.sort().join('') };
        this.exported.set(v, done);
      }
      buckets.push([v, done.ids]);
    }
    return [this.prunedBelow, buckets];
  }

  /**
   * Replace the contents with an export. Also reads the first snapshot format, one [txidHex,
   * validUntil] pair per entry, so a data directory written before still opens. Throws
   * ReplayError('bad_snapshot') on malformed input.
   */
  import(data: Canon): void {
    const bad = (field: string, m: string): never => {
      throw new ReplayError('bad_snapshot', field, m);
    };
    if (!Array.isArray(data) || data.length !== 2) bad('replay', 'replay index must be [prunedBelow, entries]');
    const [below, rows] = data as readonly Canon[];
    if (typeof below !== 'number' || !Number.isSafeInteger(below) || below < 0) bad('replay.prunedBelow', 'prunedBelow must be an integer ≥ 0');
    if (!Array.isArray(rows)) bad('replay.entries', 'entries must be an array');
    const list = rows as readonly Canon[];
    const entries: { txidHex: string; validUntil: number }[] = [];
    const validUntilOk = (v: Canon): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= (below as number);
    const pairPerEntry = list.length > 0 && Array.isArray(list[0]) && typeof (list[0] as readonly Canon[])[0] === 'string';
    if (pairPerEntry) {
      if (list.length > this.maxEntries) bad('replay.entries', `more than ${this.maxEntries} entries`);
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        if (!Array.isArray(r) || r.length !== 2) bad(`replay.entries[${i}]`, 'entry must be [txidHex, validUntil]');
        const [id, v] = r as readonly Canon[];
        if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) bad(`replay.entries[${i}].txid`, 'txid must be 64 lowercase hex characters');
        if (!validUntilOk(v)) bad(`replay.entries[${i}].validUntil`, 'validUntil must be an integer ≥ prunedBelow');
        entries.push({ txidHex: id as string, validUntil: v as number });
      }
    } else {
      let last = -1;
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        if (!Array.isArray(r) || r.length !== 2) bad(`replay.entries[${i}]`, 'bucket must be [validUntil, txids]');
        const [v, ids] = r as readonly Canon[];
        if (!validUntilOk(v)) bad(`replay.entries[${i}].validUntil`, 'validUntil must be an integer ≥ prunedBelow');
        if ((v as number) <= last) bad(`replay.entries[${i}].validUntil`, 'buckets must be in ascending validUntil order, each once');
        last = v as number;
        if (typeof ids !== 'string' || ids.length === 0 || ids.length % 64 !== 0 || !/^[0-9a-f]+$/.test(ids)) {
          bad(`replay.entries[${i}].txids`, 'txids must be one or more 64-character lowercase hex ids, concatenated');
        }
        const n = (ids as string).length / 64;
        if (entries.length + n > this.maxEntries) bad('replay.entries', `more than ${this.maxEntries} entries`);
        for (let k = 0; k < n; k++) entries.push({ txidHex: (ids as string).slice(64 * k, 64 * k + 64), validUntil: v as number });
      }
    }
    this.byTxid.clear();
    this.byExpiry.clear();
    this.exported.clear();
    this.prunedBelow = below as number;
    this.add(entries);
  }
}
