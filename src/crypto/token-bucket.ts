// Token buckets for rate limits (slow-path signature budget, per-sender mempool rate). Lives in
// src/crypto because it is the lowest layer that needs one; src/chain reuses it.
// Arithmetic is in integer milli-tokens so refills are exact and identical everywhere.

export interface RateOptions {
  /** tokens added per second (integer ≥ 0) */
  readonly perSecond: number;
  /** bucket capacity in tokens (integer ≥ 1); a fresh bucket starts full */
  readonly burst: number;
}

export function checkRateOptions(o: RateOptions, field: string): void {
  if (!Number.isSafeInteger(o.perSecond) || o.perSecond < 0) throw new RangeError(`${field}.perSecond must be an integer ≥ 0`);
  if (!Number.isSafeInteger(o.burst) || o.burst < 1) throw new RangeError(`${field}.burst must be an integer ≥ 1`);
}

export class TokenBucket {
  private milli: number;
  private last: number;

  constructor(
    private readonly rate: RateOptions,
    now: number,
  ) {
    this.milli = rate.burst * 1000;
    this.last = now;
  }

  private refill(now: number): void {
    // A clock that steps backwards must not mint tokens; it just waits for time to catch up.
    if (now > this.last) {
      const cap = this.rate.burst * 1000;
      this.milli = Math.min(cap, this.milli + Math.floor(now - this.last) * this.rate.perSecond);
      this.last = now;
    }
  }

  /** Would one token be available at `now`? Does not consume. */
  available(now: number): boolean {
    this.refill(now);
    return this.milli >= 1000;
  }

  /** Take one token if available. */
  take(now: number): boolean {
    this.refill(now);
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }

  /** Whole tokens left at `now`. */
  tokens(now: number): number {
    this.refill(now);
    return Math.floor(this.milli / 1000);
  }
}

/**
 * One bucket per key (client address, sender key), at most `maxKeys` of them. The least recently
 * used key is forgotten when full (its next request gets a fresh bucket); `evicted` counts that, and
 * the caller should pair this with a global bucket so that key churn cannot buy unlimited tokens.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  evicted = 0;

  constructor(
    private readonly rate: RateOptions,
    private readonly maxKeys: number,
  ) {
    checkRateOptions(rate, 'rate');
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError('maxKeys must be an integer ≥ 1');
  }

  get size(): number {
    return this.buckets.size;
  }

  bucket(key: string, now: number): TokenBucket {
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-insert: Map order doubles as LRU order
    } else {
      b = new TokenBucket(this.rate, now);
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evicted++;
      }
    }
    this.buckets.set(key, b);
    return b;
  }
}
