// Verification of certificates, evidence and individual signatures against the validator set.
// Every certificate, QC or TC, is counted in the bonded powers of the validator set, which change
// only by a committed reconfiguration (there is none yet: they are genesis'). Penalties (slashing,
// RANDAO, later proofs of capacity) act on leader selection and rewards only, never on quorums: so
// any two quorums share an honest validator exactly as in the textbook argument, whatever was
// penalised on which branch (docs/consensus.md, "Quorum weights").
import { toHex } from '../crypto/sha256.ts';
import { bytesEqual, maxHighQcRound, proposalSignBytes, timeoutSignBytes, voteSignBytes } from './block.ts';
import { fail } from './errors.ts';
import { quorumThreshold, signedPower, totalPower } from './quorum.ts';
import type { Evidence, QC, SigVerifier, TC, Validator } from './types.ts';

/** Powers that certificates are counted in, with their total and the quorum threshold. */
export interface Weights {
  readonly powers: readonly number[];
  readonly total: number;
  /** Smallest signed power that certifies. */
  readonly quorum: number;
}

export function weightsOf(powers: readonly number[]): Weights {
  const total = totalPower(powers);
  return { powers, total, quorum: quorumThreshold(total) };
}

export class CertVerifier {
  /** The bonded powers of the validator set: what every QC and TC is counted in. */
  readonly bonded: Weights;
  /** QCs and TCs already verified, keyed by all their fields; bounded, cleared when full. */
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
    this.bonded = weightsOf(validators.map((v) => v.power));
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

  /** Throws ConsensusError('bad_qc') unless `qc` is the genesis QC or carries valid votes reaching a quorum of bonded power. */
  verifyQC(qc: QC, field = 'qc'): void {
    const w = this.bonded;
    if (qc.round === 0) {
      if (qc.height === 0 && qc.signers.length === 0 && bytesEqual(qc.blockHash, this.genesisHash)) return;
      fail('bad_qc', field, 'round-0 QC must be the genesis QC');
    }
    if (qc.height === 0) fail('bad_qc', `${field}.height`, 'only the genesis QC may certify height 0');
    const key = qcKey(qc);
    if (this.verifiedQcs.has(key)) return;
    if (signedPower(w.powers, qc.signers, `${field}.signers`) < w.quorum) fail('bad_qc', `${field}.signers`, 'signers do not reach a quorum');
    const bad = this.badVote(qc);
    if (bad >= 0) fail('bad_signature', `${field}.sigs[${bad}]`, `invalid vote signature of validator ${qc.signers[bad]}`);
    this.remember(this.verifiedQcs, key);
  }

  /** Position of the first invalid vote signature in `qc`, or -1 when all are valid. */
  private badVote(qc: QC): number {
    const msg = voteSignBytes(this.chainId, qc.round, qc.height, qc.blockHash);
    return qc.signers.findIndex((s, i) => !this.sigOk(s, msg, qc.sigs[i]!));
  }

  /**
   * A QC this node formed from votes it verified one by one, or that certifies a block whose header
   * is already certified from above (its justify was checked by the honest voters of that block):
   * a copy needs no second check.
   */
  trustQC(qc: QC): void {
    this.remember(this.verifiedQcs, qcKey(qc));
  }

  /**
   * Throws ConsensusError('bad_tc') unless the timeouts are valid, reach a quorum of bonded power,
   * and the TC carries a valid QC of exactly the highest round any signer reported (as Aptos'
   * TwoChainTimeoutCertificate): a signer can then only claim a high QC that really exists, so a
   * block following the TC can always be justified by a QC at least that high.
   */
  verifyTC(tc: TC, field = 'tc'): void {
    const key = `${tc.round}/${tc.signers.join(',')}/${tc.highQcRounds.join(',')}/${tc.sigs.map(toHex).join('')}/${qcKey(tc.highQC)}`;
    if (this.verifiedTcs.has(key)) return;
    const w = this.bonded;
    if (signedPower(w.powers, tc.signers, `${field}.signers`) < w.quorum) fail('bad_tc', `${field}.signers`, 'signers do not reach a quorum');
    if (tc.highQC.round !== maxHighQcRound(tc)) fail('bad_tc', `${field}.highQC.round`, `must be the highest round a signer reported (${maxHighQcRound(tc)}), got ${tc.highQC.round}`);
    tc.signers.forEach((s, i) => {
      if (tc.highQcRounds[i]! >= tc.round) fail('bad_tc', `${field}.highQcRounds[${i}]`, 'must be below the TC round');
      if (!this.verifyTimeout(s, tc.round, tc.highQcRounds[i]!, tc.sigs[i]!)) fail('bad_signature', `${field}.sigs[${i}]`, `invalid timeout signature of validator ${s}`);
    });
    this.verifyQC(tc.highQC, `${field}.highQC`);
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

/**
 * What a verified QC is remembered by: the block it certifies, round, height, signers and their
 * signatures. All of them: a copy with a bad signature must not pass on the strength of a valid one,
 * or this node could vote for a block whose justify every other node rejects.
 */
function qcKey(qc: QC): string {
  return `${toHex(qc.blockHash)}/${qc.round}/${qc.height}/${qc.signers.join(',')}/${qc.sigs.map(toHex).join('')}`;
}
