// Challenges every node derives for validator v in epoch e (docs/poc-pop.md, "Objects"): from the
// epoch's RANDAO seed (fixed before the epoch starts, so no proposer can grind it by choosing block
// contents) and v's committed root. Chunk 0 is never challenged: it has no predecessor against
// which its encoding can be checked.
//
// Index draws use the first 48 bits of a hash modulo C − 1; the bias of that reduction is below
// C / 2^48 (< 2^-24 at the largest C), far under anything a prover could exploit.
import { encodeCanonical } from '../codec/canonical.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { PocParams } from './params.ts';

export const CHALLENGE_DOMAIN = 'numchain/poc/challenge/v1';

export interface PocChallenge {
  readonly epoch: number;
  readonly validator: number;
  /** challenged chunk indices, each in [1, chunks) (chunk c − 1 is opened too) */
  readonly chunks: readonly number[];
  /** PoP: offsets into the window of heights before the epoch start, and a tx selector each */
  readonly pop: readonly { readonly heightOffset: number; readonly txSelector: number }[];
}

export function u48(h: Uint8Array): number {
  return h[0]! * 2 ** 40 + h[1]! * 2 ** 32 + ((h[2]! << 24) >>> 0) + (h[3]! << 16) + (h[4]! << 8) + h[5]!;
}

export function challengeSeed(chainId: string, epochSeed: Uint8Array, epoch: number, validator: number, root: Uint8Array): Uint8Array {
  return sha256(encodeCanonical([CHALLENGE_DOMAIN, chainId, epochSeed, epoch, validator, root]));
}

/**
 * The challenge of validator `validator` (committed to `root` over `chunks` chunks) in epoch `epoch`
 * whose RANDAO seed is `epochSeed`. Chunk draws may repeat (they are independent, which is what the
 * p^k bound assumes).
 */
export function deriveChallenge(chainId: string, epochSeed: Uint8Array, epoch: number, validator: number, root: Uint8Array, chunks: number, p: Pick<PocParams, 'k' | 'popSamples' | 'popWindow'>): PocChallenge {
  const { k, popSamples, popWindow } = p;
  if (!Number.isSafeInteger(chunks) || chunks < 2) throw new RangeError('a commitment has at least 2 chunks');
  const x = challengeSeed(chainId, epochSeed, epoch, validator, root);
  const cs: number[] = [];
  for (let j = 0; j < k; j++) cs.push((u48(sha256(encodeCanonical([x, j]))) % (chunks - 1)) + 1);
  const pop: { heightOffset: number; txSelector: number }[] = [];
  for (let j = 0; j < popSamples; j++) {
    const h = sha256(encodeCanonical([x, 'pop', j]));
    pop.push({ heightOffset: u48(h) % popWindow, txSelector: u48(h.subarray(6)) });
  }
  return { epoch, validator, chunks: cs, pop };
}

/**
 * The PoP height for `heightOffset` in epoch starting at `epochStart`, skipping forward over empty
 * blocks within the window: the first height ≥ epochStart − popWindow + offset whose block has
 * transactions, wrapping inside the window; null when every block of the window is empty (then
 * that sample is not asked).
 */
export function popHeight(epochStart: number, popWindow: number, heightOffset: number, txCount: (height: number) => number): number | null {
  const lo = Math.max(1, epochStart - popWindow);
  const n = epochStart - lo;
  if (n <= 0) return null;
  for (let d = 0; d < n; d++) {
    const h = lo + ((heightOffset + d) % n);
    if (txCount(h) > 0) return h;
  }
  return null;
}

/** Last height at which an answer for the epoch starting at `epochStart` is on time. */
export function answerDeadline(epochStart: number, p: Pick<PocParams, 'deadlineBlocks'>): number {
  return epochStart + p.deadlineBlocks;
}

/** A PoP item a validator must answer: the transaction at `txIndex` of block `height`. */
export interface PopPair {
  readonly height: number;
  readonly txIndex: number;
}

/**
 * The (height, tx index) pairs of a challenge, given the number of transactions of each block of
 * the window. A sample whose window has only empty blocks is dropped (nothing to ask).
 */
export function popPairs(ch: PocChallenge, epochStart: number, popWindow: number, txCount: (height: number) => number): PopPair[] {
  const out: PopPair[] = [];
  for (const s of ch.pop) {
    const h = popHeight(epochStart, popWindow, s.heightOffset, txCount);
    if (h !== null) out.push({ height: h, txIndex: s.txSelector % txCount(h) });
  }
  return out;
}
