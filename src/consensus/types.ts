// Data types shared by every consensus module. Plain readonly records; encoding lives in block.ts
// and messages.ts, rules in safety.ts, the state machine in core.ts.
import type { AnswerContext } from '../poc/verify.ts';
import type { PocWireLimits } from '../poc/wire.ts';

export interface Validator {
  /** Ed25519 public key (32 bytes). */
  readonly publicKey: Uint8Array;
  /** Bonded voting power, a positive safe integer. */
  readonly power: number;
}

/** Quorum certificate: votes of > 2/3 of the certified block's quorum weights (docs/consensus.md). */
export interface QC {
  readonly round: number;
  readonly height: number;
  readonly blockHash: Uint8Array;
  /** Validator indices, strictly ascending. */
  readonly signers: readonly number[];
  readonly sigs: readonly Uint8Array[];
}

/**
 * Timeout certificate: > 2/3 of the power timed out in `round`; each reports its highest QC round,
 * and `highQC` is a QC of the highest of those rounds (so no signer can claim a QC that does not exist).
 */
export interface TC {
  readonly round: number;
  readonly signers: readonly number[];
  readonly highQcRounds: readonly number[];
  readonly sigs: readonly Uint8Array[];
  readonly highQC: QC;
}

/** One signed statement about a block in a round (the two halves of an equivocation). */
export interface SignedBlockRef {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly sig: Uint8Array;
}

/** Proof that `validator` signed two different blocks in `round`. `a.blockHash` < `b.blockHash` bytewise. */
export interface Evidence {
  readonly kind: 'vote' | 'proposal';
  readonly validator: number;
  readonly round: number;
  readonly a: SignedBlockRef;
  readonly b: SignedBlockRef;
}

/** The proposer's RANDAO contribution carried in its block (at most one of the two in practice). */
export interface RandaoField {
  /** H(secret) for the block's epoch, allowed in the first half of the epoch. */
  readonly commit: Uint8Array | null;
  /** The secret-bearing signature for the block's epoch, allowed in the second half. */
  readonly reveal: Uint8Array | null;
}

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly parentHash: Uint8Array;
  readonly proposer: number;
  /** Proposer's clock (ms). Informational only; never used by execution. */
  readonly timestamp: number;
  readonly txRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
  /** QC certifying the parent. */
  readonly justify: QC;
  /** TC for round − 1 when the block does not directly extend the previous round's QC. */
  readonly tc: TC | null;
  readonly epoch: number;
  readonly randao: RandaoField;
  readonly evidence: readonly Evidence[];
  /**
   * Signed proof-of-capacity items (commits and answers, src/poc/wire.ts), only on a chain whose
   * genesis has a `poc` block. Absent and empty are the same header: the field is encoded only when
   * it holds items, so the hashes of chains without PoC do not change.
   */
  readonly poc?: readonly Uint8Array[];
}

export interface Block {
  readonly header: BlockHeader;
  /** SHA-256 of the canonical header encoding. */
  readonly hash: Uint8Array;
  /** Opaque encoded transactions; txRoot (computed by the app) binds them. */
  readonly txs: readonly Uint8Array[];
}

/**
 * Everything the core must never forget across a restart. The driver persists it durably before
 * executing any action that follows a `persist` action (see docs/consensus.md).
 */
export interface SafetyState {
  /** Highest round in which this validator voted or timed out (it never votes again at or below it). */
  readonly lastVotedRound: number;
  /** Highest QC round seen in a block it voted for or a timeout it signed (the 2-chain lock). */
  readonly highestQcRound: number;
  /** Highest round for which it signed a timeout, and the high-QC round it signed with. */
  readonly lastTimeoutRound: number;
  readonly lastTimeoutHighQcRound: number;
  /** Highest round it proposed in (a leader never proposes twice in one round). */
  readonly lastProposedRound: number;
  /** Its highest QC and TC: a restarted node resumes in round max(highQC, highTC) + 1 and can time out there. */
  readonly highQC: QC;
  readonly highTC: TC | null;
}

export interface Signer {
  sign(message: Uint8Array): Uint8Array;
}

export interface SigVerifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export interface GenesisInfo {
  readonly timeMs: number;
  /** Post-state root of the genesis block (the app's all-zero tensor). */
  readonly stateRoot: Uint8Array;
}

export interface ConsensusLimits {
  /** Uncommitted blocks kept in the block tree. */
  readonly maxPendingBlocks: number;
  /** Committed blocks kept for serving sync requests. */
  readonly maxCommittedCache: number;
  /** Proposals waiting for a missing parent. */
  readonly maxOrphans: number;
  /** Rounds for which votes/timeouts are aggregated at once. */
  readonly maxAggregationRounds: number;
  /** Messages for rounds further than this ahead of ours are dropped (after their certificates are used). */
  readonly maxFutureRounds: number;
  /**
   * Blocks per sync response (also bounded by bytes: see syncResponseBudget in messages.ts). A
   * response is one input, so the app executes all its blocks before the driver commits any: keep
   * this well below the app's own bound on uncommitted blocks (64 in src/chain/app.ts).
   */
  readonly maxSyncBlocks: number;
  /** Pending evidence items. */
  readonly maxEvidencePool: number;
  readonly maxEvidencePerBlock: number;
  /** Evidence older than this many heights (by the round's block height estimate) is no longer includable. */
  readonly evidenceWindowRounds: number;
  /** Rounds for which signed (validator, round) statements are remembered to detect equivocation. */
  readonly equivocationWindowRounds: number;
  readonly maxMessageBytes: number;
  readonly maxTxsPerBlock: number;
  readonly maxBlockBytes: number;
}

export const DEFAULT_LIMITS: ConsensusLimits = Object.freeze({
  maxPendingBlocks: 256,
  maxCommittedCache: 512,
  maxOrphans: 64,
  maxAggregationRounds: 16,
  maxFutureRounds: 64,
  maxSyncBlocks: 48,
  maxEvidencePool: 64,
  maxEvidencePerBlock: 8,
  evidenceWindowRounds: 1000,
  equivocationWindowRounds: 64,
  maxMessageBytes: 4 << 20,
  maxTxsPerBlock: 1000,
  maxBlockBytes: 1 << 20,
});

/** Test-only switches. Each deliberately breaks the protocol; never set them outside tests/sim. */
export interface UnsafeSwitches {
  /** Vote even if the round is not above lastVotedRound (breaks the voting rule). */
  readonly skipLastVotedRoundCheck?: boolean;
  /** After a TC, vote for a block whatever its QC round (drops the TC high-QC condition; unsafe). */
  readonly skipTcHighQcCheck?: boolean;
  /** Commit B as soon as B has a QC (a 1-chain rule; unsafe). */
  readonly commitOnOneChain?: boolean;
  /** Byzantine behaviour: as leader, send two different proposals for one round. */
  readonly equivocateProposals?: boolean;
  /** Byzantine behaviour: vote for every valid proposal seen in a round, not just the first. */
  readonly doubleVote?: boolean;
  /**
   * Byzantine behaviour, with equivocateProposals: send both blocks to every validator rather than
   * one to each half, so that validators that (wrongly) vote twice in a round can certify both.
   */
  readonly equivocateToAll?: boolean;
  /**
   * Byzantine behaviour: as leader after a TC, extend the QC one block below its high QC (a stale
   * QC the TC's high-QC condition must make correct validators refuse).
   */
  readonly staleQcFork?: boolean;
}

export interface ConsensusConfig {
  readonly chainId: string;
  readonly validators: readonly Validator[];
  /** This node's validator index, or -1 for a non-voting observer. */
  readonly self: number;
  readonly genesis: GenesisInfo;
  /** Blocks per epoch (by height). Effective-power changes and RANDAO apply per epoch. */
  readonly epochLength: number;
  /** Base round timeout (ms); round timeout = base × 1.2^min(k, cap), k = rounds since last commit. */
  readonly timeoutBaseMs: number;
  readonly timeoutExponentCap?: number;
  /** A leader waits this long after entering its round before proposing (paces light load), unless the app has a full block waiting. Default 0. */
  readonly blockIntervalMs?: number;
  /** Effective-power reduction for a committed equivocation, in permille of the current effective power. */
  readonly slashPermille?: number;
  /** Effective-power reduction for committing to RANDAO and not revealing, in permille. */
  readonly randaoPenaltyPermille?: number;
  readonly limits?: Partial<ConsensusLimits>;
  readonly unsafe?: UnsafeSwitches;
  /** Proof of capacity and processing (genesis `poc` block); absent: leader weight is the effective power. */
  readonly poc?: PocConfig;
}

/** What the PoC rules need from the layers above consensus (docs/poc-pop.md). */
export interface PocConfig extends Pick<AnswerContext, 'params' | 'targetOf' | 'rowIndex'> {
  /** decoding bounds of commits and answers (poc/wire.ts wireLimits) */
  readonly wire: PocWireLimits;
}
