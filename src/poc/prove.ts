// The prover's side, pure: assemble the answer body for a challenge from a chunk reader and the
// stored Merkle levels. The host supplies the reads (positioned reads of the replica file) and the
// PoP items (the tx with its path and the row proof at that height); signing is the caller's.
import type { PocChallenge, PopPair } from './challenge.ts';
import { auditPath, levelsRoot, type MerkleLevels } from './merkle-path.ts';
import type { ChunkOpening, PocAnswer, PopItem } from './wire.ts';

export interface ProveInput {
  readonly chainId: string;
  readonly validator: number;
  readonly challenge: PocChallenge;
  readonly levels: MerkleLevels;
  /** chunk i of the replica as stored (the caller reads it; nothing here checks it) */
  readChunk(index: number): Uint8Array;
  /** the PoP pairs of the challenge (popPairs) and the item for each */
  readonly pairs: readonly PopPair[];
  popItem(pair: PopPair): PopItem;
}

export function buildAnswer(inp: ProveInput): PocAnswer {
  const chunks: ChunkOpening[] = inp.challenge.chunks.map((c) => ({
    prev: inp.readChunk(c - 1),
    prevPath: auditPath(inp.levels, c - 1),
    chunk: inp.readChunk(c),
    path: auditPath(inp.levels, c),
  }));
  return {
    chainId: inp.chainId,
    validator: inp.validator,
    epoch: inp.challenge.epoch,
    root: levelsRoot(inp.levels),
    chunks,
    pop: inp.pairs.map((pr) => inp.popItem(pr)),
  };
}
