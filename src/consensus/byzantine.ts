// Test-only Byzantine behaviours (UnsafeSwitches), kept out of the production core's paths: the
// simulator's Byzantine validators and the rule-breaking tests switch them on; a validator process
// never does. Each is what a faulty validator holding its own key could do.
import { makeBlock, proposalSignBytes } from './block.ts';
import { enterEpoch, type ChainRules, type ChainState } from './chain-state.ts';
import type { BlockTree } from './block-tree.ts';
import type { ProposalMsg } from './messages.ts';
import type { Block, BlockHeader, QC, Signer, TC } from './types.ts';

/**
 * unsafe.staleQcFork: as leader after a TC, extend the QC one block below the high QC (the stale
 * QC the TC's high-QC rule must make correct validators refuse) — if that block is still held and we
 * would lead `round` on top of it; else null.
 */
export function staleJustify(tree: BlockTree, highQC: QC, round: number, self: number, rules: ChainRules, leaderOf: (st0: ChainState, parentRound: number, round: number) => number): QC | null {
  const back = tree.get(highQC.blockHash)?.block.header.justify;
  const parent = back === undefined ? undefined : tree.get(back.blockHash);
  if (back === undefined || parent === undefined) return null;
  const ph = parent.block.header;
  const st = enterEpoch(parent.state, ph.height + 1, ph.round, rules);
  return leaderOf(st, ph.round, round) === self ? back : null;
}

/**
 * unsafe.equivocateProposals: a twin of `block` differing only in its timestamp, and the proposals
 * each validator gets: the two in opposite orders to even and odd validators (the first one only,
 * unless `toAll`).
 */
export function equivocate(
  header: BlockHeader, txs: readonly Uint8Array[], block: Block, sig: Uint8Array, signer: Signer, chainId: string, highTC: TC | null, validators: number, self: number, toAll: boolean,
): { readonly twin: Block; readonly sends: readonly { readonly to: number; readonly msg: ProposalMsg }[] } {
  const twin = makeBlock({ ...header, timestamp: header.timestamp + 1 }, txs);
  const twinSig = signer.sign(proposalSignBytes(chainId, header.round, header.height, twin.hash));
  const a: ProposalMsg = { type: 'proposal', block, sig, highTC };
  const b: ProposalMsg = { type: 'proposal', block: twin, sig: twinSig, highTC };
  const sends: { to: number; msg: ProposalMsg }[] = [];
  for (let i = 0; i < validators; i++) {
    if (i === self) continue;
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    sends.push({ to: i, msg: first });
    if (toAll) sends.push({ to: i, msg: second });
  }
  return { twin, sends };
}
