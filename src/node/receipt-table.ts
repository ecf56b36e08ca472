// Committed receipts by txid, packed into fixed-size records in typed arrays, forgetting the oldest
// first.
//
// Why not a Map of receipt objects: each receipt held as a JS object with two 64-character hex
// strings costs about 450 bytes of V8 heap, so the default bound of 1,000,000 receipts grew a
// validator's heap by ~450 MiB under a long flood (bench/soak.ts) and made every major GC walk it.
// Here a record is 80 bytes outside the V8 heap (txid and leaf as raw bytes, numbers as u32, reason
// and field as interned codes) plus 8 bytes of open-addressing index, and a receipt object is built
// only when someone asks for it.
import type { Receipt } from '../chain/receipts.ts';
import { toHex } from '../crypto/sha256.ts';

const ID_BYTES = 32;
const NUMS = 3; // height, index, row
const TAGS = 2; // reason code (0 = applied), field code
/** Codes are u16; the last one stands for a word that no longer fits the dictionary. */
const MAX_WORDS = 0xfffe;
const UNRECORDED = 'unrecorded';

export class ReceiptTable {
  private readonly ids: Uint8Array;
  private readonly leaves: Uint8Array;
  private readonly nums: Uint32Array;
  private readonly tags: Uint16Array;
  /** slot + 1 of the record whose txid hashes here (linear probing); 0 = empty */
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private readonly words: string[] = [''];
  private readonly codes = new Map<string, number>();
  private readonly scratch = new Uint8Array(ID_BYTES);
  private oldest = 0;
  private count = 0;
  /** records forgotten because the table was full */
  evicted = 0;

  /**
   * @param seed keys the bucket hash, so txids ground to share a prefix do not pile into one run of
   *   buckets. Any value is correct; it only changes where records sit.
   */
  constructor(
    readonly capacity: number,
    private readonly seed: number,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 2 ** 26) throw new RangeError(`capacity must be an integer in [1, 2^26], got ${capacity}`);
    this.ids = new Uint8Array(capacity * ID_BYTES);
    this.leaves = new Uint8Array(capacity * ID_BYTES);
    this.nums = new Uint32Array(capacity * NUMS);
    this.tags = new Uint16Array(capacity * TAGS);
    let size = 2;
    while (size < capacity * 2) size *= 2;
    this.buckets = new Int32Array(size);
    this.mask = size - 1;
    // Touch every page now (TigerBeetle-style static allocation): the table's memory is resident
    // from the start instead of growing into it as receipts arrive, so what a validator needs is
    // known at start and a soak shows a flat line, not the table filling up.
    for (const a of [this.ids, this.leaves, this.nums, this.tags, this.buckets]) a.fill(0);
  }

  get size(): number {
    return this.count;
  }

  get(txid: string): Receipt | null {
    if (!parseId(txid, this.scratch)) return null;
    const b = this.find(this.scratch, 0);
    return b < 0 ? null : this.read(this.buckets[b]! - 1, txid);
  }

  /**
   * Insert, or overwrite the record of the same txid in place (it keeps its age) unless that record
   * says applied: a transaction applied once keeps that receipt when a later block carries it
   * again (refused there as a replay).
   */
  putUnlessApplied(r: Receipt & { readonly txid: string }): void {
    if (!parseId(r.txid, this.scratch)) throw new Error(`invariant: receipt txid is not 64 lowercase hex digits: ${r.txid}`);
    const b = this.find(this.scratch, 0);
    if (b >= 0) {
      const slot = this.buckets[b]! - 1;
      if (this.tags[slot * TAGS] !== 0) this.write(slot, r);
      return;
    }
    let slot: number;
    if (this.count === this.capacity) {
      slot = this.oldest;
      this.unlink(slot);
      this.oldest = (this.oldest + 1) % this.capacity;
      this.evicted++;
    } else {
      slot = (this.oldest + this.count) % this.capacity;
      this.count++;
    }
    this.ids.set(this.scratch, slot * ID_BYTES);
    this.write(slot, r);
    let i = this.home(this.ids, slot * ID_BYTES);
    while (this.buckets[i] !== 0) i = (i + 1) & this.mask;
    this.buckets[i] = slot + 1;
  }

  private write(slot: number, r: Receipt): void {
    const n = slot * NUMS;
    const t = slot * TAGS;
    this.nums[n] = r.height;
    this.nums[n + 1] = r.index;
    if (r.status === 'applied') {
      this.nums[n + 2] = r.row;
      if (!parseId(r.leaf, this.leaves, slot * ID_BYTES)) throw new Error(`invariant: receipt leaf is not 64 lowercase hex digits: ${r.leaf}`);
      this.tags[t] = 0;
      this.tags[t + 1] = 0;
    } else {
      this.nums[n + 2] = 0;
      this.tags[t] = this.code(r.reason);
      this.tags[t + 1] = this.code(r.field);
    }
  }

  /** Rebuilt with the same keys in the same order as the executor's receipts, so JSON stays identical. */
  private read(slot: number, txid: string): Receipt {
    const n = slot * NUMS;
    const t = slot * TAGS;
    const height = this.nums[n]!;
    const index = this.nums[n + 1]!;
    if (this.tags[t] === 0) {
      return { txid, height, index, status: 'applied', row: this.nums[n + 2]!, leaf: toHex(this.leaves.subarray(slot * ID_BYTES, (slot + 1) * ID_BYTES)) };
    }
    return { txid, height, index, status: 'rejected', reason: this.words[this.tags[t]!]!, field: this.words[this.tags[t + 1]!]! };
  }

  private code(word: string): number {
    let c = this.codes.get(word);
    if (c !== undefined) return c;
    if (this.words.length > MAX_WORDS) return this.code(UNRECORDED);
    c = this.words.length;
    this.words.push(word);
    this.codes.set(word, c);
    return c;
  }

  private home(bytes: Uint8Array, at: number): number {
    const w0 = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const w1 = (bytes[at + 28]! << 24) | (bytes[at + 29]! << 16) | (bytes[at + 30]! << 8) | bytes[at + 31]!;
    let h = Math.imul(w0 ^ this.seed, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ w1, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** The bucket holding this txid, or -1. */
  private find(id: Uint8Array, at: number): number {
    for (let i = this.home(id, at); ; i = (i + 1) & this.mask) {
      const s = this.buckets[i]!;
      if (s === 0) return -1;
      if (sameId(this.ids, (s - 1) * ID_BYTES, id, at)) return i;
    }
  }

  /** Remove a slot's bucket, shifting later members of its probe run back so lookups still find them. */
  private unlink(slot: number): void {
    let i = this.find(this.ids, slot * ID_BYTES);
    if (i < 0) throw new Error(`invariant: slot ${slot} is not in the index`);
    this.buckets[i] = 0;
    for (let j = (i + 1) & this.mask; this.buckets[j] !== 0; j = (j + 1) & this.mask) {
      const k = this.home(this.ids, (this.buckets[j]! - 1) * ID_BYTES);
      // The record at j may fill the hole at i unless its home lies cyclically in (i, j].
      if (((j - k) & this.mask) >= ((j - i) & this.mask)) {
        this.buckets[i] = this.buckets[j]!;
        this.buckets[j] = 0;
        i = j;
      }
    }
  }
}

function sameId(a: Uint8Array, ai: number, b: Uint8Array, bi: number): boolean {
  for (let k = 0; k < ID_BYTES; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

/** Parse 64 lowercase hex digits into out[at..at+32); false if the string is anything else. */
function parseId(hex: string, out: Uint8Array, at = 0): boolean {
  if (hex.length !== ID_BYTES * 2) return false;
  for (let k = 0; k < ID_BYTES; k++) {
    const hi = nibble(hex.charCodeAt(2 * k));
    const lo = nibble(hex.charCodeAt(2 * k + 1));
    if (hi < 0 || lo < 0) return false;
    out[at + k] = (hi << 4) | lo;
  }
  return true;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
