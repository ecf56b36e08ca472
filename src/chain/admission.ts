// Admission of a client's or a peer's transaction into the mempool. Every check that needs no
// signature is written once, in screen(): the driver asks it which signatures are worth sending to
// its worker pool, and admitDecoded() asks it again once the answers are back, because the pool
// may have changed during the wait (the same transaction admitted by another batch, a block
// committed). A transaction the pool would turn away costs no signature verification, so an
// overloaded node does not spend its cores on what it is about to refuse.
import type { Verifier } from '../crypto/ed25519.ts';
import { toHex } from '../crypto/sha256.ts';
import type { Mempool, PoolTx } from './mempool.ts';
import type { MempoolRejection, TxRejection } from './reject-reasons.ts';
import type { ReplayIndex } from './replay.ts';
import { decodeTx, TxError, type SignedTx, type TxLimits } from './tx.ts';
import type { VerifiedTxs } from './verified-cache.ts';

/** Every admission refusal is a row of reject-reasons.ts (a code outside the table does not compile). */
export type AdmitCode = TxRejection;
export type AdmitRefusal = { readonly ok: false; readonly txid: string | null; readonly code: AdmitCode; readonly field: string; readonly message: string };
export type AdmitResult = { readonly ok: true; readonly txid: string } | AdmitRefusal;

export interface AdmissionParts {
  readonly chainId: string;
  readonly limits: TxLimits;
  readonly replay: ReplayIndex;
  readonly mempool: Mempool | null;
  readonly verifier: Verifier;
  readonly verified: VerifiedTxs;
}

/** What the checks short of the signature decided. */
type Screened =
  | { readonly verdict: 'refused'; readonly code: AdmitCode; readonly field: string; readonly message: string; readonly pool?: MempoolRejection }
  /** 'verified': this node already checked these exact bytes (a block carried them first) */
  | { readonly verdict: 'verified' | 'unverified'; readonly pool: Mempool; readonly entry: PoolTx };

export class TxAdmission {
  private admittedCount = 0;
  private readonly rejectedCounts: Record<string, number> = {};

  constructor(private readonly parts: AdmissionParts) {}

  get admitted(): number {
    return this.admittedCount;
  }

  /** Refusals by code, counted once per refused transaction. */
  rejected(): Record<string, number> {
    return { ...this.rejectedCounts };
  }

  /**
   * Admit a transaction: decode, the checks short of the signature, the signature (budgeted per
   * `clientKey`), then the mempool. `height` is the committed height; the tx must be includable in
   * the next block.
   */
  admit(bytes: Uint8Array, clientKey: string, now: number, height: number): AdmitResult {
    const d = this.decodeForAdmission(bytes);
    return 'ok' in d ? d : this.admitDecoded(d, clientKey, now, height);
  }

  /** Decode (or find the verified decoding of) `bytes`: the tx, or a refusal. */
  decodeForAdmission(bytes: Uint8Array): SignedTx | AdmitRefusal {
    const known = this.parts.verified.lookup(bytes);
    if (known !== undefined) return known;
    try {
      return decodeTx(bytes, this.parts.limits);
    } catch (e) {
      // bad_secret_key is raised only when building a transaction, never when decoding one.
      if (e instanceof TxError && e.code !== 'bad_secret_key') return this.refuse(null, e.code, e.field, e.message);
      throw e;
    }
  }

  /**
   * Whether admitDecoded() would verify this tx's signature (so a caller batching signatures for a
   * worker pool sends only those): false when it is already verified or will be refused anyway.
   */
  needsSignatureCheck(tx: SignedTx, height: number): boolean {
    return this.screen(tx, height).verdict === 'unverified';
  }

  /**
   * Admit a decoded tx. `fastSaid` is what a fast-path verifier already answered for its signature
   * elsewhere (true: valid; false: not confirmed, so the budgeted ZIP-215 slow path decides;
   * undefined: verify here).
   */
  admitDecoded(tx: SignedTx, clientKey: string, now: number, height: number, fastSaid?: boolean): AdmitResult {
    const id = tx.txidHex;
    const s = this.screen(tx, height);
    if (s.verdict === 'refused') {
      if (s.pool !== undefined) this.parts.mempool?.refuse(s.pool); // the pool counts its own refusals
      return this.refuse(id, s.code, s.field, s.message);
    }
    if (s.verdict === 'unverified') {
      const said = this.parts.verifier.verifyAdmission(tx.body.sender, tx.bodyBytes, tx.signature, clientKey, now, fastSaid);
      if (said === 'busy') return this.refuse(id, 'busy', 'signature', 'signature verification budget exhausted; retry later');
      if (said === 'invalid') return this.refuse(id, 'bad_signature', 'signature', 'signature does not verify (ZIP-215)');
    }
    const v = s.pool.addPrechecked(s.entry, now);
    if (!v.ok) return this.refuse(id, v.reason, poolField(v.reason), `mempool refused the transaction: ${v.reason}`);
    this.parts.verified.remember(tx);
    this.admittedCount++;
    return { ok: true, txid: id };
  }

  /** Every check short of the signature, counting nothing. */
  private screen(tx: SignedTx, height: number): Screened {
    const { chainId, replay, mempool, verified } = this.parts;
    if (tx.body.chainId !== chainId) return { verdict: 'refused', code: 'wrong_chain', field: 'chainId', message: `chain id ${tx.body.chainId} is not ${chainId}` };
    const r = replay.check(tx.txidHex, tx.body.validUntil, height + 1);
    if (r) return { verdict: 'refused', ...r };
    if (!mempool) return { verdict: 'refused', code: 'no_mempool', field: 'tx', message: 'this node does not accept transactions' };
    const entry = poolEntry(tx);
    const pre = mempool.precheck(entry, height + 1);
    if (pre !== null) return { verdict: 'refused', code: pre, field: poolField(pre), message: `mempool refused the transaction: ${pre}`, pool: pre };
    return { verdict: verified.has(tx.bytes) ? 'verified' : 'unverified', pool: mempool, entry };
  }

  private refuse(txid: string | null, code: AdmitCode, field: string, message: string): AdmitRefusal {
    this.rejectedCounts[code] = (this.rejectedCounts[code] ?? 0) + 1;
    return { ok: false, txid, code, field, message };
  }
}

/** The mempool's view of a decoded transaction. */
function poolEntry(tx: SignedTx): PoolTx {
  return { txidHex: tx.txidHex, senderHex: toHex(tx.body.sender), validUntil: tx.body.validUntil, bytes: tx.bytes };
}

function poolField(reason: MempoolRejection): string {
  return reason === 'too_large' ? 'tx' : reason === 'expired' || reason === 'too_far_ahead' ? 'validUntil' : 'txid';
}
