// This validator's side of proof of capacity (docs/poc-pop.md): after each commit it looks at the
// committed PoC state and, when needed, signs a commit for its replica (not yet on chain) or the
// answer to this epoch's challenge (its commitment is in force and it has not answered). The chunk
// reads are the injected replica's (positioned reads of a file on a node; memory in the simulator);
// the PoP transactions and rows come from the app, which keeps the last few committed blocks' states.
import type { ChainApp } from '../chain/app.ts';
import type { ChainState } from '../consensus/chain-state.ts';
import { merkleLeafHash } from '../crypto/merkle.ts';
import { bytesEqual, toHex } from '../crypto/sha256.ts';
import { deriveChallenge, popPairs, type PopPair } from '../poc/challenge.ts';
import { auditPath, buildLevels, type MerkleLevels } from '../poc/merkle-path.ts';
import type { PocParams } from '../poc/params.ts';
import { buildAnswer } from '../poc/prove.ts';
import { encodeAnswerBody, encodeCommitBody, encodeSigned, type PocAnswer, type PopItem } from '../poc/wire.ts';
import type { ReplicaLogger } from './world.ts';

/** A replica as the prover reads it. `readChunk` may throw (a read error): the answer is skipped. */
export interface ReplicaReader {
  readonly root: Uint8Array;
  readonly chunks: number;
  readonly commitNonce: number;
  readonly levels: MerkleLevels;
  readChunk(index: number): Uint8Array;
}

/** Test and simulator behaviours; an honest validator uses none. */
export type PocMisbehaviour = 'skip' | 'wrong' | 'late';

export interface PocProverParts {
  readonly chainId: string;
  readonly self: number;
  readonly epochLength: number;
  readonly params: PocParams;
  sign(message: Uint8Array): Uint8Array;
  /** the replica this validator keeps, or null (none configured, or it could not be opened) */
  replica(): ReplicaReader | null;
  readonly misbehave?: PocMisbehaviour;
}

export interface PocProverStats {
  commitsSent: number;
  answersSent: number;
  /** answers that could not be built (read error, a PoP state no longer kept, a missing block) */
  answersFailed: number;
  lastAnswerMs: number;
}

export class PocProver {
  readonly stats: PocProverStats = { commitsSent: 0, answersSent: 0, answersFailed: 0, lastAnswerMs: 0 };
  /** epoch of the last answer sent or given up on, and of the last commit sent */
  private answeredEpoch = -1;
  private committedEpoch = -1;
  /** misbehaviour 'late': the answer built on time, held back until the deadline has passed */
  private held: { readonly epoch: number; readonly item: Uint8Array } | null = null;

  constructor(
    private readonly parts: PocProverParts,
    private readonly app: Pick<ChainApp, 'proofAt' | 'targetOf' | 'committedTxs'>,
    private readonly logger: ReplicaLogger,
    private readonly now: () => number,
  ) {}

  /** The items to submit after the commit that made `state` (at `height`) the committed state. */
  afterCommit(state: ChainState, height: number): Uint8Array[] {
    const poc = state.poc;
    if (poc === null) return [];
    const { self, epochLength, params, misbehave } = this.parts;
    const epoch = state.epochInfo.epoch;
    const me = poc.validators[self];
    if (me === undefined) return [];
    const out: Uint8Array[] = [];
    const r = this.parts.replica();
    // Commit once per epoch while the chain holds no commitment to this replica (a lost commit is
    // sent again the next epoch; one carried in a block is pending until the boundary).
    if (r !== null && this.committedEpoch !== epoch && !sameRoot(me.active?.root, r.root) && !sameRoot(me.pending?.root, r.root)) {
      this.committedEpoch = epoch;
      const body = encodeCommitBody({ chainId: this.parts.chainId, validator: self, commitNonce: r.commitNonce, chunks: r.chunks, root: r.root });
      out.push(encodeSigned(body, this.parts.sign(body)));
      this.stats.commitsSent++;
      this.logger.info('PoC commit sent', { epoch, chunks: r.chunks, root: toHex(r.root) });
    }
    if (this.held !== null && (this.held.epoch !== epoch || height > epoch * epochLength + params.deadlineBlocks)) {
      if (this.held.epoch === epoch) out.push(this.held.item);
      this.held = null;
    }
    const active = me.active;
    if (active === null || poc.answered[self] === true || this.answeredEpoch === epoch) return out;
    if (misbehave === 'skip') return out;
    this.answeredEpoch = epoch;
    if (r === null || !sameRoot(active.root, r.root)) {
      this.stats.answersFailed++;
      this.logger.warn('PoC challenge not answered: the replica in force on chain is not at hand', { epoch, onChain: toHex(active.root), local: r === null ? null : toHex(r.root) });
      return out;
    }
    const t0 = this.now();
    try {
      const body = this.answer(state, r);
      const final = misbehave === 'wrong' ? corrupt(body) : body;
      const bodyBytes = encodeAnswerBody(final);
      const item = encodeSigned(bodyBytes, this.parts.sign(bodyBytes));
      if (misbehave === 'late') this.held = { epoch, item };
      else out.push(item);
      this.stats.answersSent++;
      this.stats.lastAnswerMs = this.now() - t0;
      this.logger.info('PoC answer sent', { epoch, ms: Math.round(this.stats.lastAnswerMs), chunks: body.chunks.length, pop: body.pop.length });
    } catch (e) {
      this.stats.answersFailed++;
      this.logger.warn('PoC challenge not answered', { epoch, error: (e as Error).message });
    }
    return out;
  }

  private answer(state: ChainState, r: ReplicaReader): PocAnswer {
    const { chainId, self, epochLength, params } = this.parts;
    const epoch = state.epochInfo.epoch;
    const window = state.poc!.window;
    const txCount = (h: number): number => {
      const f = window.find((x) => x.height === h);
      if (f === undefined) throw new Error(`PoP window block ${h} is not in the committed state`);
      return f.txCount;
    };
    const challenge = deriveChallenge(chainId, state.epochInfo.seed, epoch, self, r.root, r.chunks, params);
    const pairs = params.popSamples === 0 ? [] : popPairs(challenge, epoch * epochLength, params.popWindow, txCount);
    return buildAnswer({ chainId, validator: self, challenge, levels: r.levels, readChunk: (i) => r.readChunk(i), pairs, popItem: (p) => this.popItem(p) });
  }

  private popItem(p: PopPair): PopItem {
    const txs = this.app.committedTxs(p.height);
    const tx = txs?.[p.txIndex];
    if (txs === null || tx === undefined) throw new Error(`transactions of block ${p.height} are not at hand`);
    const leaves = new Uint8Array(32 * txs.length);
    txs.forEach((t, i) => leaves.set(merkleLeafHash(t), 32 * i));
    // A transaction the chain cannot execute writes no row: any row proves nothing and is not checked.
    const target = this.app.targetOf(tx) ?? { shard: 0, layer: 0, slot: 0 };
    const row = this.app.proofAt(p.height, target);
    if (row === null) throw new Error(`the state after block ${p.height} is no longer kept`);
    return { height: p.height, txIndex: p.txIndex, tx, txPath: auditPath(buildLevels(leaves), p.txIndex), row };
  }
}

function sameRoot(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && bytesEqual(a, b);
}

/** A signed answer whose first chunk is off by one bit: what a validator without the data sends. */
function corrupt(a: PocAnswer): PocAnswer {
  const [c, ...rest] = a.chunks;
  if (c === undefined) return a;
  const chunk = c.chunk.slice();
  chunk[0] = chunk[0]! ^ 1;
  return { ...a, chunks: [{ ...c, chunk }, ...rest] };
}
