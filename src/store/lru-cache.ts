/** A small LRU bounded by entry count and total size; counts what it evicts or refuses. */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; size: number }>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  evicted = 0;
  refused = 0; // single values too large to be worth caching

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: K, value: V, size: number): void {
    if (this.maxEntries <= 0 || size > this.maxBytes / 4) {
      this.refused++;
      return;
    }
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.size;
      this.map.delete(key);
    }
    this.map.set(key, { value, size });
    this.bytes += size;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      const e = this.map.get(oldest.value)!;
      this.map.delete(oldest.value);
      this.bytes -= e.size;
      this.evicted++;
    }
  }

  get size(): number {
    return this.map.size;
  }
}
