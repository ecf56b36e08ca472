// What a proposer puts in its block's RANDAO field (chain-state.ts checks it): its commitment in the
// first half of an epoch, its reveal in the second half once committed. The reveal is re-created
// from the signer when due, so only a deterministic signer can take part (the core checks that once).
import { bytesEqual, randaoSignBytes } from './block.ts';
import { randaoCommitment, type ChainState } from './chain-state.ts';
import type { RandaoField, Signer } from './types.ts';

const NONE: RandaoField = { commit: null, reveal: null };

/** The field for a block at `height` (epoch `epoch`) proposed by `self`; `warn` says why a due reveal is missing. */
export function randaoField(st: ChainState, height: number, epoch: number, epochLength: number, self: number, signer: Signer, chainId: string): { readonly field: RandaoField; readonly warn: string | null } {
  if (epochLength < 2) return { field: NONE, warn: null };
  const pos = height % epochLength;
  const half = Math.floor(epochLength / 2);
  const committed = st.randaoCommits[self] ?? null;
  if (pos < half && committed === null) {
    return { field: { commit: randaoCommitment(signer.sign(randaoSignBytes(chainId, epoch))), reveal: null }, warn: null };
  }
  if (pos >= half && committed !== null && st.randaoSecrets[self] === null) {
    const sig = signer.sign(randaoSignBytes(chainId, epoch));
    if (bytesEqual(randaoCommitment(sig), committed)) return { field: { commit: null, reveal: sig }, warn: null };
    // Only if the key changed since the commitment: this block then costs us the withholding penalty.
    return { field: NONE, warn: `RANDAO: our signature for epoch ${epoch} does not match our commitment; not revealing` };
  }
  return { field: NONE, warn: null };
}
