// What the light verifier (light-client.ts) reports: the forgeries it names, its options, and the
// results of its checks.
import type { Receipt } from '../chain/receipts.ts';
import type { Block, QC } from '../consensus/types.ts';
import type { AsyncFastVerifier } from './webcrypto-ed25519.ts';

/** What a node forged, as the light client names it. */
export type ForgeryKind =
  | 'engine' // the engine served is not the one genesis commits to
  | 'malformed' // bytes that do not decode as the canonical encodings
  | 'block' // a block whose hash is not what its QC certifies, or that does not extend the chain
  | 'qc' // a QC with a bad signature, too little power, or for another round or height
  | 'transactions' // transactions that are not the ones the certified header commits to
  | 'state_root' // re-execution gives another state root than the certified one
  | 'receipts' // receipts that are not what executing the block gives
  | 'snapshot' // a snapshot whose tip, QC or tensor is not certified
  | 'proof'; // a row proof that does not lead to the certified root, or another row than replayed

export class Forgery extends Error {
  override readonly name = 'Forgery';
  constructor(
    readonly kind: ForgeryKind,
    /** the height concerned, when there is one */
    readonly height: number | null,
    message: string,
  ) {
    super(message);
  }
}

export interface LightClientOptions {
  /** a fast path for signatures (Web Crypto); without it every signature is checked by ZIP-215 in JS */
  readonly fast?: AsyncFastVerifier | null;
  /** certified headers remembered for proofs and the explorer (default 4096) */
  readonly keepHeaders?: number;
}

export interface CertifiedHeader {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly stateRoot: Uint8Array;
}

/** What applyBlock() checked and found. */
export interface AppliedBlock {
  readonly block: Block;
  readonly qc: QC;
  readonly receipts: readonly Receipt[];
  /** the state root this client computed (equal to the certified header's) */
  readonly stateRoot: Uint8Array;
  readonly applied: number;
  readonly rejected: number;
  /** rows changed by the block's applied transactions */
  readonly rows: readonly number[];
}

export interface ProofCheck {
  readonly height: number;
  readonly index: number;
  /** the row's values were also compared with this client's own replayed row at that height */
  readonly comparedWithReplay: boolean;
}

export interface ValidatorActivity {
  /** highest height whose certifying QC (or a child's justify) carries its vote; 0 if none seen */
  lastVote: number;
  /** highest height it proposed; 0 if none seen */
  lastProposal: number;
  /** blocks seen whose certifying QC lacks its vote */
  missed: number;
}

export interface LightStats {
  /** where verification started: 'genesis' or the snapshot height */
  start: 'genesis' | number;
  blocks: number;
  txs: number;
  qcs: number;
  /** vote and transaction signatures accepted by the fast path / checked by ZIP-215 in JS */
  sigsFast: number;
  sigsZip215: number;
  proofs: number;
}
