// A small PoC/PoP world for the tests: tiny chunks (64 bytes, 2 rounds) so a replica builds in
// milliseconds, a few validators, and a fake chain of blocks whose transactions each write one row
// of an 8-row state tree (the same RFC 6962 tree the engine uses), with certified roots per height.
import { encodeCanonical, decodeCanonical } from '../../src/codec/canonical.ts';
import { keypairFromSeed, signEd25519 } from '../../src/crypto/ed25519.ts';
import { merkleLeafHash, merkleRoot } from '../../src/crypto/merkle.ts';
import { rowLeafHash } from '../../src/engine/proof.ts';
import type { RowTarget } from '../../src/engine/types.ts';
import { deriveChallenge, popPairs, type PopPair } from '../../src/poc/challenge.ts';
import { auditPath, buildLevels, type MerkleLevels } from '../../src/poc/merkle-path.ts';
import { parsePocParams, type PocParams } from '../../src/poc/params.ts';
import { buildAnswer } from '../../src/poc/prove.ts';
import { ReplicaBuilder, replicaSeed } from '../../src/poc/replica.ts';
import type { AnswerContext, BlockFacts, Commitment } from '../../src/poc/verify.ts';
import { encodeAnswerBody, encodeCommitBody, encodeSigned, type PocAnswer, type PopItem } from '../../src/poc/wire.ts';

export const CHAIN = 'numchain-poc-test';
export const EPOCH_LENGTH = 10;
export const P: PocParams = parsePocParams({ chunkBytes: 64, minChunks: 2, maxChunks: 1024, targetChunks: 64, encodeRounds: 2, k: 4, popSamples: 2, popWindow: 4, deadlineBlocks: 5 }, EPOCH_LENGTH);

export const keys = [0, 1, 2].map((i) => keypairFromSeed(new Uint8Array(32).fill(i + 1)));

export interface Replica {
  readonly chunks: Uint8Array[];
  readonly levels: MerkleLevels;
  readonly root: Uint8Array;
  readonly commitment: Commitment;
}

export function makeReplica(validator: number, chunks: number, nonce = 0, p: PocParams = P): Replica {
  const b = new ReplicaBuilder(replicaSeed(CHAIN, keys[validator]!.publicKey, nonce), chunks, p.chunkBytes, p.encodeRounds);
  const cs: Uint8Array[] = [];
  for (let i = 0; i < chunks; i++) cs.push(b.next());
  const levels = b.finish();
  const root = levels.levels[levels.levels.length - 1]!.slice(0, 32);
  return { chunks: cs, levels, root, commitment: { root, chunks, commitNonce: nonce } };
}

export function signedCommit(validator: number, r: Replica, signer = validator): Uint8Array {
  const body = encodeCommitBody({ chainId: CHAIN, validator, commitNonce: r.commitment.commitNonce, chunks: r.commitment.chunks, root: r.root });
  return encodeSigned(body, signEd25519(body, keys[signer]!.secretKey));
}

// ---- the fake chain: heights 1..80; block h has h % 3 transactions (so some blocks are empty)
const SHARDS = 1, LAYERS = 2, SLOTS = 4, ROWS = SHARDS * LAYERS * SLOTS, DIM = 3;
export const ROW_VALUES = DIM;
export const rowIndex = (t: RowTarget) => (t.shard * LAYERS + t.layer) * SLOTS + t.slot;
const txOf = (h: number, i: number) => encodeCanonical(['test-tx', h, i, 0, (h + i) % LAYERS, (h * 7 + i) % SLOTS]);
export function targetOf(tx: Uint8Array): RowTarget | null {
  try {
    const a = decodeCanonical(tx) as unknown[];
    if (!Array.isArray(a) || a[0] !== 'test-tx') return null;
    return { shard: a[3] as number, layer: a[4] as number, slot: a[5] as number };
  } catch {
    return null;
  }
}
const valuesAt = (h: number, r: number) => Int32Array.from({ length: DIM }, (_, d) => h * 100 + r * 10 + d - 50);

interface FakeBlock extends BlockFacts {
  readonly txs: Uint8Array[];
  readonly state: MerkleLevels;
}
export const blocks = new Map<number, FakeBlock>();
for (let h = 1; h <= 80; h++) {
  const txs = Array.from({ length: h % 3 }, (_, i) => txOf(h, i));
  const leaves = new Uint8Array(32 * ROWS);
  for (let r = 0; r < ROWS; r++) leaves.set(rowLeafHash(valuesAt(h, r)), 32 * r);
  const state = buildLevels(leaves);
  blocks.set(h, { txs, txCount: txs.length, txRoot: merkleRoot(txs), stateRoot: state.levels[state.levels.length - 1]!.slice(0, 32), state });
}

export function popItem(pr: PopPair): PopItem {
  const b = blocks.get(pr.height)!;
  const tx = b.txs[pr.txIndex]!;
  const txLeaves = new Uint8Array(32 * b.txs.length);
  b.txs.forEach((t, i) => txLeaves.set(merkleLeafHash(t), 32 * i));
  const t = targetOf(tx)!;
  const index = rowIndex(t);
  return { height: pr.height, txIndex: pr.txIndex, tx, txPath: auditPath(buildLevels(txLeaves), pr.txIndex), row: { ...t, index, rows: ROWS, values: valuesAt(pr.height, index), path: auditPath(b.state, index) } };
}

export const EPOCH_SEED = new Uint8Array(32).fill(0x5e);

export function context(over: Partial<AnswerContext> & { commitments: (Commitment | null)[]; answered?: Set<number> }): AnswerContext {
  const epoch = over.epoch ?? 2;
  const epochStart = over.epochStart ?? epoch * EPOCH_LENGTH;
  return {
    chainId: CHAIN,
    params: P,
    epoch,
    epochStart,
    epochSeed: EPOCH_SEED,
    height: epochStart + 1,
    publicKey: (v) => keys[v]?.publicKey ?? null,
    commitment: (v) => over.commitments[v] ?? null,
    answered: (v) => over.answered?.has(v) ?? false,
    block: (h) => blocks.get(h) ?? null,
    targetOf,
    rowIndex,
    ...over,
  };
}

/** The honest answer body of `validator` in the context's epoch. */
export function honestAnswer(validator: number, r: Replica, ctx: AnswerContext): PocAnswer {
  const challenge = deriveChallenge(CHAIN, ctx.epochSeed, ctx.epoch, validator, r.root, r.commitment.chunks, P);
  const pairs = popPairs(challenge, ctx.epochStart, P.popWindow, (h) => blocks.get(h)?.txCount ?? 0);
  return buildAnswer({ chainId: CHAIN, validator, challenge, levels: r.levels, readChunk: (i) => r.chunks[i]!, pairs, popItem });
}

export function sign(body: PocAnswer, signer: number): Uint8Array {
  const b = encodeAnswerBody(body);
  return encodeSigned(b, signEd25519(b, keys[signer]!.secretKey));
}
