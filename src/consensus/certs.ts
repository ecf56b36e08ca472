// Verification of certificates, evidence and individual signatures against the validator set.
// Quorums are counted in bonded power (fixed for the lifetime of the validator set; see
// docs/consensus.md for why effective-power changes do not touch quorum weights).
import { toHex } from '../crypto/sha256.ts';
import { bytesEqual, maxHighQcRound, proposalSignBytes, timeoutSignBytes, voteSignBytes } from './block.ts';
import { fail } from './errors.ts';
import { quorumThreshold, signedPower, totalPower } from './quorum.ts';
import type { Evidence, QC, SigVerifier, TC, Validator } from './types.ts';

export class CertVerifier {
  readonly powers: readonly number[];
  readonly total: number;
  readonly quorum: number;
  /** QCs already verified, keyed by block hash and round; bounded, cleared when full. */
  private readonly verifiedQcs = new Set<string>();
  private readonly verifiedTcs = new Set<string>();
  cacheDrops = 0;

  constructor(
    readonly chainId: string,
    readonly validators: readonly Validator[],
    private readonly verifier: SigVerifier,
    readonly genesisHash: Uint8Array,
    private readonly cacheLimit = 1024,
  ) {
    this.powers = validators.map((v) => v.power);
    this.total = totalPower(this.powers);
    this.quorum = quorumThreshold(this.total);
  }

  genesisQcFor(): QC {
    return { round: 0, height: 0, blockHash: this.genesisHash, signers: [], sigs: [] };
  }

  /** Signature of validator `index` over `msg`. */
  verifySig(index: number, msg: Uint8Array, sig: Uint8Array): boolean {
    return this.sigOk(index, msg, sig);
  }

  private sigOk(index: number, msg: Uint8Array, sig: Uint8Array): boolean {
    const v = this.validators[index];
    return v !== undefined && this.verifier.verify(v.publicKey, msg, sig);
  }

  verifyVote(voter: number, round: number, height: number, blockHash: Uint8Array, sig: Uint8Array): boolean {
    return this.sigOk(voter, voteSignBytes(this.chainId, round, height, blockHash), sig);
  }

  verifyProposalSig(proposer: number, round: number, height: number, blockHash: Uint8Array, sig: Uint8Array): boolean {
    return this.sigOk(proposer, proposalSignBytes(this.chainId, round, height, blockHash), sig);
  }

  verifyTimeout(voter: number, round: number, highQcRound: number, sig: Uint8Array): boolean {
    return this.sigOk(voter, timeoutSignBytes(this.chainId, round, highQcRound), sig);
  }

  /** Throws ConsensusError('bad_qc') unless `qc` is the genesis QC or carries a quorum of valid votes. */
  verifyQC(qc: QC, field = 'qc'): void {
    if (qc.round === 0) {
      if (qc.height === 0 && qc.signers.length === 0 && bytesEqual(qc.blockHash, this.genesisHash)) return;
      fail('bad_qc', field, 'round-0 QC must be the genesis QC');
    }
    if (qc.height === 0) fail('bad_qc', `${field}.height`, 'only the genesis QC may certify height 0');
    const key = qcKey(qc);
    if (this.verifiedQcs.has(key)) return;
    if (signedPower(this.powers, qc.signers, `${field}.signers`) < this.quorum) fail('bad_qc', `${field}.signers`, 'signers do not reach a quorum');
    const msg = voteSignBytes(this.chainId, qc.round, qc.height, qc.blockHash);
    qc.signers.forEach((s, i) => {
      if (!this.sigOk(s, msg, qc.sigs[i]!)) fail('bad_signature', `${field}.sigs[${i}]`, `invalid vote signature of validator ${s}`);
    });
    this.remember(this.verifiedQcs, key);
  }

  /** A QC this node formed from votes it verified one by one: a copy relayed back needs no second check. */
  trustQC(qc: QC): void {
    this.remember(this.verifiedQcs, qcKey(qc));
  }

  verifyTC(tc: TC, field = 'tc'): void {
    const key = `${tc.round}/${tc.signers.join(',')}/${tc.highQcRounds.join(',')}`;
    if (this.verifiedTcs.has(key)) return;
    if (signedPower(this.powers, tc.signers, `${field}.signers`) < this.quorum) fail('bad_tc', `${field}.signers`, 'signers do not reach a quorum');
    tc.signers.forEach((s, i) => {
      if (tc.highQcRounds[i]! >= tc.round) fail('bad_tc', `${field}.highQcRounds[${i}]`, 'must be below the TC round');
      if (!this.verifyTimeout(s, tc.round, tc.highQcRounds[i]!, tc.sigs[i]!)) fail('bad_signature', `${field}.sigs[${i}]`, `invalid timeout signature of validator ${s}`);
    });
    this.remember(this.verifiedTcs, key);
  }

  /** Throws ConsensusError('bad_evidence') unless both halves are valid signatures on different blocks. */
  verifyEvidence(e: Evidence, field = 'evidence'): void {
    if (e.validator >= this.validators.length) fail('bad_evidence', `${field}.validator`, 'unknown validator');
    if (bytesEqual(e.a.blockHash, e.b.blockHash)) fail('bad_evidence', field, 'both halves name the same block');
    const check = e.kind === 'vote' ? this.verifyVote.bind(this) : this.verifyProposalSig.bind(this);
    if (!check(e.validator, e.round, e.a.height, e.a.blockHash, e.a.sig)) fail('bad_evidence', `${field}.a.sig`, 'invalid signature');
    if (!check(e.validator, e.round, e.b.height, e.b.blockHash, e.b.sig)) fail('bad_evidence', `${field}.b.sig`, 'invalid signature');
  }

  private remember(set: Set<string>, key: string): void {
    if (set.size >= this.cacheLimit) {
      this.cacheDrops += set.size;
      set.clear();
    }
    set.add(key);
  }
}

export { maxHighQcRound };

/** What a verified QC is remembered by: the block it certifies, in which round and at which height. */
function qcKey(qc: QC): string {
  return `${toHex(qc.blockHash)}/${qc.round}/${qc.height}`;
}
