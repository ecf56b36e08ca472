// Proof of capacity in the simulator: the chain's PoC parameters (tiny, so a replica builds in
// milliseconds), each validator's replica in memory, and the ways a validator can fail its
// challenges on purpose: never answer, answer wrong, answer late, or keep only part of its data.
import type { PocConfig } from '../consensus/types.ts';
import type { PocMisbehaviour, ReplicaReader } from '../driver/poc-prover.ts';
import { maxAnswerBytes, parsePocParams, type PocParams } from '../poc/params.ts';
import { levelsRoot } from '../poc/merkle-path.ts';
import { ReplicaBuilder, replicaSeed } from '../poc/replica.ts';
import { wireLimits } from '../poc/wire.ts';

/** 'none': keeps no replica (never commits); 'partial': lost every odd chunk (its answers are wrong). */
export type PocSimBehaviour = 'honest' | 'none' | 'partial' | PocMisbehaviour;
export const POC_SIM_BEHAVIOURS: readonly PocSimBehaviour[] = ['honest', 'none', 'partial', 'skip', 'wrong', 'late'];

export const SIM_POC_CHUNKS = 64;

export function simPocParams(epochLength: number): PocParams {
  return parsePocParams({ chunkBytes: 64, minChunks: 2, maxChunks: 1024, targetChunks: SIM_POC_CHUNKS, encodeRounds: 2, k: 4, popSamples: 2, popWindow: Math.min(4, epochLength), deadlineBlocks: Math.max(1, Math.floor(epochLength / 2)) }, epochLength);
}

/** The consensus PoC config (the two chain facts are each node's app's, filled in by the node). */
export function simPocConfig(params: PocParams, maxTxBytes: number, rowValues: number): Omit<PocConfig, 'targetOf' | 'rowIndex'> {
  return { params, wire: wireLimits(params, maxTxBytes, rowValues, maxAnswerBytes(params, maxTxBytes, rowValues)) };
}

/** Validator `publicKey`'s replica as `behaviour` keeps it (null: none). */
export function simReplica(chainId: string, publicKey: Uint8Array, params: PocParams, behaviour: PocSimBehaviour): ReplicaReader | null {
  if (behaviour === 'none') return null;
  const b = new ReplicaBuilder(replicaSeed(chainId, publicKey, 0), SIM_POC_CHUNKS, params.chunkBytes, params.encodeRounds);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < SIM_POC_CHUNKS; i++) chunks.push(b.next());
  const levels = b.finish();
  const root = levelsRoot(levels);
  const lost = new Uint8Array(params.chunkBytes);
  return { root, chunks: SIM_POC_CHUNKS, commitNonce: 0, levels, readChunk: (i) => (behaviour === 'partial' && i % 2 === 1 ? lost : chunks[i]!) };
}

/** What the prover itself does wrong for `behaviour` (data loss is the replica's, above). */
export function proverMisbehaviour(behaviour: PocSimBehaviour): PocMisbehaviour | undefined {
  return behaviour === 'skip' || behaviour === 'wrong' || behaviour === 'late' ? behaviour : undefined;
}
