// Transactions whose signature this node has verified, with their decoding, remembered between
// admission (or a block's preverification on the pool) and execution, so that no signature is
// checked twice and no transaction decoded twice. Bounded; the oldest are forgotten first, which
// costs a re-verification, never a wrong answer.
import { bytesEqual } from '../crypto/sha256.ts';
import { FifoMap } from '../util/fifo-map.ts';
import type { SignedTx } from './tx.ts';

export class VerifiedTxs {
  /** verifiedKey(wire bytes) → the decoded tx */
  private readonly byKey: FifoMap<number, SignedTx>;

  constructor(readonly capacity: number) {
    this.byKey = new FifoMap(capacity);
  }

  get size(): number {
    return this.byKey.size;
  }

  /**
   * Remember `tx` as verified. Only for a signature ZIP-215 accepted, or one the fast path accepted
   * (it accepts a subset of what ZIP-215 accepts, so the answer is the same), or a transaction this
   * node's own fsynced log says it applied.
   */
  remember(tx: SignedTx): void {
    this.byKey.set(verifiedKey(tx.bytes), tx);
  }

  /** The verified decoding of exactly these bytes, if remembered. */
  lookup(bytes: Uint8Array): SignedTx | undefined {
    const tx = this.byKey.get(verifiedKey(bytes));
    return tx !== undefined && bytesEqual(tx.bytes, bytes) ? tx : undefined;
  }

  /** Whether exactly these bytes are a transaction whose signature this node has verified. */
  has(bytes: Uint8Array): boolean {
    return this.lookup(bytes) !== undefined;
  }
}

/**
 * Cache key of a wire transaction: 30 bits of its signature (the envelope ends with the signature;
 * the last byte, the top of S < L, carries almost none) as a small integer. Only a key: a hit counts
 * only when the whole byte string equals the cached one, so a collision (accidental or ground by an
 * attacker) costs a miss and a re-verification, never a wrong answer. A small integer because V8
 * keys a Map by it without boxing or hashing a heap number (about 5× faster per lookup in a
 * 300,000-entry map than a 48-bit number or a hex string), and it is cheaper than SHA-256 of the
 * bytes, which admission and execution would otherwise each compute.
 */
export function verifiedKey(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 5) {
    let k = n;
    for (let i = 0; i < n; i++) k = (k << 8) | bytes[i]!;
    return k & 0x3fffffff;
  }
  return ((bytes[n - 5]! & 0x3f) << 24) | (bytes[n - 4]! << 16) | (bytes[n - 3]! << 8) | bytes[n - 2]!;
}
