// What every node checks of a PoC commit and of a PoC/PoP answer (docs/poc-pop.md, "What every node
// checks"), deterministically and from the chain alone. Two kinds of "no": a *refusal* (malformed,
// not signed by the validator it names, wrong epoch, replayed, ...) changes no weight, since anyone
// can make such bytes; a *wrong* answer is signed by the validator and fails on content, which is a
// fault. The caller (the chain app, next) supplies what it already holds through `AnswerContext`.
import { verifyZip215 } from '../crypto/ed25519.ts';
import { merkleLeafHash } from '../crypto/merkle.ts';
import { bytesEqual } from '../crypto/sha256.ts';
import { verifyRowProof } from '../engine/proof.ts';
import type { RowTarget } from '../engine/types.ts';
import { answerDeadline, deriveChallenge, popPairs } from './challenge.ts';
import { rootFromPath, verifyLeaf } from './merkle-path.ts';
import type { PocParams } from './params.ts';
import { encodeChunk, replicaSeed } from './replica.ts';
import type { PocAnswer, PocCommit, Signed } from './wire.ts';

export type CommitRefusal = 'bad_chain_id' | 'foreign_key' | 'bad_chunks';

export type CommitVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: CommitRefusal };

/** A commitment in force: what the answer is checked against. */
export interface Commitment {
  readonly root: Uint8Array;
  readonly chunks: number;
  readonly commitNonce: number;
}

export function verifyCommit(c: Signed<PocCommit>, chainId: string, publicKey: (validator: number) => Uint8Array | null, p: PocParams): CommitVerdict {
  if (c.body.chainId !== chainId) return { ok: false, reason: 'bad_chain_id' };
  const pk = publicKey(c.body.validator);
  if (pk === null || !verifyZip215(pk, c.bodyBytes, c.signature)) return { ok: false, reason: 'foreign_key' };
  if (c.body.chunks < p.minChunks || c.body.chunks > p.maxChunks) return { ok: false, reason: 'bad_chunks' };
  return { ok: true };
}

/** Refusals in the order they are checked; decoding refusals (malformed, oversized, bad_domain) come first, from wire.ts. */
export type AnswerRefusal = 'bad_chain_id' | 'foreign_key' | 'no_commitment' | 'stale_root' | 'wrong_epoch' | 'replayed' | 'bad_count';

/** Content failures of a correctly signed answer: each is a fault of the signer. */
export type AnswerFault = 'chunk_length' | 'chunk_path' | 'encoding' | 'pop_pair' | 'tx_path' | 'tx_target' | 'row_proof';

export type AnswerVerdict =
  | { readonly kind: 'refused'; readonly reason: AnswerRefusal }
  | { readonly kind: 'wrong'; readonly fault: AnswerFault; readonly item: number }
  | { readonly kind: 'ontime' | 'late' };

/** Certified facts about one committed block. */
export interface BlockFacts {
  readonly txRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  readonly txCount: number;
}

export interface AnswerContext {
  readonly chainId: string;
  readonly params: PocParams;
  /** epoch in which the answer is included, its first height and its RANDAO seed */
  readonly epoch: number;
  readonly epochStart: number;
  readonly epochSeed: Uint8Array;
  /** height of the block that includes the answer */
  readonly height: number;
  publicKey(validator: number): Uint8Array | null;
  /** the commitment in force at the start of the epoch */
  commitment(validator: number): Commitment | null;
  /** an answer of this validator for this epoch was already counted */
  answered(validator: number): boolean;
  /** certified roots and tx count of a committed block (PoP); null if the node has none */
  block(height: number): BlockFacts | null;
  /** the row a transaction writes, null if it is not a transaction the chain executes */
  targetOf(tx: Uint8Array): RowTarget | null;
  /** the leaf index of a row in the state tree */
  rowIndex(t: RowTarget): number;
}

export function verifyAnswer(a: Signed<PocAnswer>, ctx: AnswerContext): AnswerVerdict {
  const b = a.body;
  const p = ctx.params;
  if (b.chainId !== ctx.chainId) return { kind: 'refused', reason: 'bad_chain_id' };
  const pk = ctx.publicKey(b.validator);
  if (pk === null || !verifyZip215(pk, a.bodyBytes, a.signature)) return { kind: 'refused', reason: 'foreign_key' };
  const cm = ctx.commitment(b.validator);
  if (cm === null) return { kind: 'refused', reason: 'no_commitment' };
  if (!bytesEqual(cm.root, b.root)) return { kind: 'refused', reason: 'stale_root' };
  if (b.epoch !== ctx.epoch) return { kind: 'refused', reason: 'wrong_epoch' };
  if (ctx.answered(b.validator)) return { kind: 'refused', reason: 'replayed' };
  const ch = deriveChallenge(ctx.chainId, ctx.epochSeed, ctx.epoch, b.validator, cm.root, cm.chunks, p);
  // Every node holds every committed block below the epoch start; treating a missing one as empty
  // would move the pairs on that node only, so it is the caller's bug, not a verdict.
  const txCount = (h: number): number => {
    const blk = ctx.block(h);
    if (blk === null) throw new RangeError(`PoP window block ${h} is not available to the verifier`);
    return blk.txCount;
  };
  const pairs = p.popSamples === 0 ? [] : popPairs(ch, ctx.epochStart, p.popWindow, txCount);
  if (b.chunks.length !== ch.chunks.length || b.pop.length !== pairs.length) return { kind: 'refused', reason: 'bad_count' };

  const seed = replicaSeed(ctx.chainId, pk, cm.commitNonce);
  const out = new Uint8Array(p.chunkBytes);
  for (let j = 0; j < b.chunks.length; j++) {
    const o = b.chunks[j]!;
    const c = ch.chunks[j]!;
    if (o.prev.length !== p.chunkBytes || o.chunk.length !== p.chunkBytes) return { kind: 'wrong', fault: 'chunk_length', item: j };
    if (!verifyLeaf(o.prev, c - 1, cm.chunks, o.prevPath, cm.root) || !verifyLeaf(o.chunk, c, cm.chunks, o.path, cm.root)) return { kind: 'wrong', fault: 'chunk_path', item: j };
    if (!bytesEqual(encodeChunk(seed, c, o.prev, p.chunkBytes, p.encodeRounds, out), o.chunk)) return { kind: 'wrong', fault: 'encoding', item: j };
  }
  for (let j = 0; j < b.pop.length; j++) {
    const it = b.pop[j]!;
    const want = pairs[j]!;
    if (it.height !== want.height || it.txIndex !== want.txIndex) return { kind: 'wrong', fault: 'pop_pair', item: j };
    const blk = ctx.block(it.height)!;
    const r = rootFromPath(merkleLeafHash(it.tx), it.txIndex, blk.txCount, it.txPath);
    if (r === null || !bytesEqual(r, blk.txRoot)) return { kind: 'wrong', fault: 'tx_path', item: j };
    // A block may carry a transaction the chain cannot execute (a Byzantine proposer's garbage,
    // refused with a receipt): it writes no row, so there is nothing to prove beyond its place in
    // the block, and an honest validator challenged on it must still be able to answer.
    const t = ctx.targetOf(it.tx);
    if (t === null) continue;
    const row = it.row;
    if (t.shard !== row.shard || t.layer !== row.layer || t.slot !== row.slot || ctx.rowIndex(t) !== row.index) return { kind: 'wrong', fault: 'tx_target', item: j };
    if (!verifyRowProof(row, blk.stateRoot)) return { kind: 'wrong', fault: 'row_proof', item: j };
  }
  return { kind: ctx.height <= answerDeadline(ctx.epochStart, p) ? 'ontime' : 'late' };
}
