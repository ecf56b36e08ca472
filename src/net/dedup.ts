// Bounded "have I seen this?" memories. Both forget oldest-first once full and count what they forget.

/**
 * Message ids from one sender epoch. Ids increase at the sender, so anything at or below the highest
 * id this window has forgotten is treated as already seen ('stale'): a bounded window cannot
 * remember more, and redelivering a possibly-seen critical message would be worse than dropping it.
 */
export class RecentIdWindow {
  private readonly seen = new Set<number>();
  private readonly ring: Float64Array; // ids are safe integers, which float64 holds exactly
  private next = 0;
  private floor = 0;
  evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Float64Array(capacity);
  }

  /** Record `id` and say whether it is new. */
  admit(id: number): 'new' | 'duplicate' | 'stale' {
    if (id <= this.floor) return 'stale';
    if (this.seen.has(id)) return 'duplicate';
    if (this.seen.size === this.capacity) {
      const old = this.ring[this.next];
      this.seen.delete(old);
      if (old > this.floor) this.floor = old;
      this.evicted++;
    }
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.seen.add(id);
    return 'new';
  }

  get size(): number {
    return this.seen.size;
  }
}

/** Keys (e.g. payload hashes) with FIFO forgetting. */
export class RecentKeySet {
  private readonly seen = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  evicted = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<string | undefined>(capacity);
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  /** Add `key`; false if it was already present. */
  add(key: string): boolean {
    if (this.seen.has(key)) return false;
    const old = this.ring[this.next];
    if (old !== undefined) {
      this.seen.delete(old);
      this.evicted++;
    }
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.seen.add(key);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
