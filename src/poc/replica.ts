// The replica a validator keeps for proof of capacity (docs/poc-pop.md, "Objects"): C chunks that are
// one sequential chain. Word j of chunk i is
//   w[i][j] = F^r(seed ‖ u32be(i) ‖ u32be(j) ‖ w[i][j−1] ‖ w[i−1][j])
// with F^r = r nested SHA-256 calls, w[i][−1] = last word of chunk i−1 and w[−1][j] = 0. Chunk i
// cannot be computed without chunk i−1, so regenerating a deleted chunk c costs c chunk encodings of
// strictly sequential hashing, while reading it back costs one disk read.
//
// The word input is the fixed-length concatenation seed ‖ u32be(i) ‖ u32be(j) ‖ left ‖ up (104
// bytes; every field has a fixed width, so the concatenation is unambiguous without a canonical
// envelope, and the hot loop allocates nothing).
import { encodeCanonical } from '../codec/canonical.ts';
import { merkleLeafHash } from '../crypto/merkle.ts';
import { sha256, sha256Into } from '../crypto/sha256.ts';
import { buildLevels, type MerkleLevels } from './merkle-path.ts';

export const REPLICA_DOMAIN = 'numchain/poc/replica/v1';

/** The replica seed binds the chain and the validator's key, so no two validators share a replica. */
export function replicaSeed(chainId: string, publicKey: Uint8Array, commitNonce: number): Uint8Array {
  return sha256(encodeCanonical([REPLICA_DOMAIN, chainId, publicKey, commitNonce]));
}

const ZERO32 = new Uint8Array(32);

/**
 * Chunk `index` from the chunk before it (`prev`, null for chunk 0). Allocates only `out`
 * (or writes into the one given).
 */
export function encodeChunk(seed: Uint8Array, index: number, prev: Uint8Array | null, chunkBytes: number, rounds: number, out = new Uint8Array(chunkBytes)): Uint8Array {
  if (seed.length !== 32) throw new RangeError('seed must be 32 bytes');
  if (chunkBytes % 32 !== 0 || out.length !== chunkBytes) throw new RangeError('chunkBytes must be a multiple of 32 and out that long');
  if (prev !== null && prev.length !== chunkBytes) throw new RangeError('prev must be chunkBytes long');
  const words = chunkBytes / 32;
  const input = new Uint8Array(32 + 8 + 64);
  const dv = new DataView(input.buffer);
  input.set(seed, 0);
  dv.setUint32(32, index >>> 0);
  const round = new Uint8Array(32);
  const tmp = new Uint8Array(32);
  let left: Uint8Array = prev === null ? ZERO32 : prev.subarray(chunkBytes - 32);
  for (let j = 0; j < words; j++) {
    dv.setUint32(36, j);
    input.set(left, 40);
    input.set(prev === null ? ZERO32 : prev.subarray(32 * j, 32 * j + 32), 72);
    sha256Into(input, round, 0);
    for (let r = 1; r < rounds; r++) {
      sha256Into(round, tmp, 0);
      round.set(tmp);
    }
    out.set(round, 32 * j);
    left = out.subarray(32 * j, 32 * j + 32);
  }
  return out;
}

/** Chunk `index` from scratch: index + 1 chunk encodings (the cost a validator without the replica pays). */
export function replicaChunk(seed: Uint8Array, index: number, chunkBytes: number, rounds: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`chunk index ${index} is not a non-negative integer`);
  let prev: Uint8Array | null = null;
  for (let i = 0; i <= index; i++) prev = encodeChunk(seed, i, prev, chunkBytes, rounds);
  return prev!;
}

/**
 * Streaming replica writer: `next()` returns chunk 0, 1, ... in order (a fresh array each time, for
 * the host to write where it likes) and keeps only the chunk before and the leaf hashes (32 bytes a
 * chunk); after the last chunk `finish()` gives the Merkle levels (root = last level) for the
 * commitment and for the prover's audit paths.
 */
export class ReplicaBuilder {
  private prev: Uint8Array | null = null;
  private readonly leafHashes: Uint8Array;
  private index = 0;

  constructor(
    readonly seed: Uint8Array,
    readonly chunks: number,
    readonly chunkBytes: number,
    readonly rounds: number,
  ) {
    if (!Number.isSafeInteger(chunks) || chunks < 1) throw new RangeError('a replica has at least one chunk');
    this.leafHashes = new Uint8Array(32 * chunks);
  }

  /** Chunks written so far. */
  get done(): number {
    return this.index;
  }

  next(): Uint8Array {
    if (this.index >= this.chunks) throw new RangeError('every chunk of the replica is already built');
    const c = encodeChunk(this.seed, this.index, this.prev, this.chunkBytes, this.rounds);
    this.leafHashes.set(merkleLeafHash(c), 32 * this.index);
    this.prev = c;
    this.index++;
    return c;
  }

  finish(): MerkleLevels {
    if (this.index !== this.chunks) throw new RangeError(`replica has ${this.index} of ${this.chunks} chunks`);
    return buildLevels(this.leafHashes);
  }
}
