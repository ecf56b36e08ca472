// Proof-of-capacity / proof-of-processing parameters (docs/poc-pop.md, "Parameters"). A genesis
// without a `poc` block has none, and then nothing of src/poc runs: existing chains are unchanged.

export interface PocParams {
  /** chunk size in bytes, a multiple of 32 */
  readonly chunkBytes: number;
  readonly minChunks: number;
  readonly maxChunks: number;
  /** capacity that earns the full capacity factor */
  readonly targetChunks: number;
  /** SHA-256 iterations per 32-byte word of the replica encoding */
  readonly encodeRounds: number;
  /** chunks challenged per validator per epoch */
  readonly k: number;
  /** (height, tx) pairs challenged per validator per epoch; 0 turns PoP off */
  readonly popSamples: number;
  /** PoP heights are drawn from the last popWindow blocks before the epoch start */
  readonly popWindow: number;
  /** an answer is on time in a block at height ≤ epoch start + deadlineBlocks */
  readonly deadlineBlocks: number;
  readonly floorPermille: number;
  readonly missPenaltyPermille: number;
  readonly latePenaltyPermille: number;
  readonly wrongPenaltyPermille: number;
  readonly recoverPermille: number;
}

export const DEFAULT_POC_PARAMS: PocParams = Object.freeze({
  chunkBytes: 4096,
  minChunks: 256,
  maxChunks: 1 << 24,
  targetChunks: 1024,
  encodeRounds: 4,
  k: 8,
  popSamples: 2,
  popWindow: 16,
  deadlineBlocks: 50,
  floorPermille: 100,
  missPenaltyPermille: 500,
  latePenaltyPermille: 250,
  wrongPenaltyPermille: 1000,
  recoverPermille: 250,
});

/** Largest Merkle path for maxChunks leaves. */
export function maxPathLength(p: PocParams): number {
  let levels = 0;
  while (2 ** levels < p.maxChunks) levels++; // ceil(log2), in integers (no float rounding at powers of two)
  return Math.max(1, levels);
}

/**
 * Bound on an answer's encoded size (envelope included): k chunk pairs with their paths, PoP items
 * each a transaction of at most `maxTxBytes` with a tx path and a row proof of `rowValues` values
 * (paths of at most 32 hashes), and 512 bytes for the envelope and the scalar fields. Every
 * length in msgpack carries a header of at most 5 bytes; 34 bytes are counted per 32-byte hash.
 */
export function maxAnswerBytes(p: PocParams, maxTxBytes: number, rowValues: number): number {
  const chunkItem = 2 * (p.chunkBytes + 5) + 2 * (34 * maxPathLength(p) + 5) + 5;
  const popItem = maxTxBytes + 5 + (34 * 32 + 5) + (4 * rowValues + 5) + (34 * 32 + 5) + 64;
  return p.k * chunkItem + p.popSamples * popItem + 512;
}

export class PocParamsError extends Error {
  override readonly name = 'PocParamsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks a genesis `poc` block (missing fields take the defaults); throws naming the field. */
export function parsePocParams(v: unknown, epochLength: number): PocParams {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PocParamsError('poc', 'must be an object');
  const o = v as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of Object.keys(o)) if (!(key in DEFAULT_POC_PARAMS)) throw new PocParamsError(`poc.${key}`, 'unknown parameter');
  const int = (key: keyof PocParams, lo: number, hi: number): number => {
    const x = o[key] ?? DEFAULT_POC_PARAMS[key];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < lo || x > hi) throw new PocParamsError(`poc.${key}`, `must be an integer in [${lo}, ${hi}]`);
    out[key] = x;
    return x;
  };
  const cb = int('chunkBytes', 64, 1 << 20);
  if (cb % 32 !== 0) throw new PocParamsError('poc.chunkBytes', 'must be a multiple of 32');
  const min = int('minChunks', 2, 1 << 30);
  int('maxChunks', min, 1 << 30);
  int('targetChunks', 1, 1 << 30);
  int('encodeRounds', 1, 1 << 16);
  int('k', 1, 256);
  int('popSamples', 0, 64);
  int('popWindow', 1, 1 << 16);
  int('deadlineBlocks', 1, Math.max(1, epochLength - 1));
  int('floorPermille', 0, 1000);
  int('missPenaltyPermille', 0, 1000);
  int('latePenaltyPermille', 0, 1000);
  int('wrongPenaltyPermille', 0, 1000);
  int('recoverPermille', 0, 1000);
  return Object.freeze(out as unknown as PocParams);
}
