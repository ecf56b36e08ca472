// Ed25519 signing and verification. The consensus rule is ZIP-215, as implemented by
// @noble/ed25519's default `verify`: every node accepts exactly the same set of signatures,
// whatever runtime it is on. Native verifiers (OpenSSL, libsodium) disagree with ZIP-215 and with
// each other on edge cases, but each accepts only a subset of what ZIP-215 accepts, so they may be
// used as a fast path that can say "valid" and nothing else: valid = fast(...) || zip215(...).
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { KeyedBuckets, TokenBucket, checkRateOptions, type RateOptions } from './token-bucket.ts';

ed.hashes.sha512 = sha512;

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** A native verifier. Its `false` means "don't know"; only its `true` is trusted. */
export interface FastVerifier {
  readonly name: string;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** ZIP-215 verification (the consensus rule). Wrong lengths or unparsable inputs are just invalid. */
export function verifyZip215(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

/** RFC 8032 signing (deterministic: same key and message → same signature on every implementation). */
export function signEd25519(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}

/** A key pair from a 32-byte seed (tests, simulator and key files derive keys this way). */
export function keypairFromSeed(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  if (seed.length !== SECRET_KEY_BYTES) throw new RangeError(`seed must be ${SECRET_KEY_BYTES} bytes`);
  const { secretKey, publicKey } = ed.keygen(seed);
  return { secretKey, publicKey };
}

export type AdmissionVerdict = 'valid' | 'invalid' | 'busy';

export interface VerifierOptions {
  /** optional native fast path; null or absent → every verification is ZIP-215 in JS */
  readonly fast?: FastVerifier | null;
  /** slow-path (JS ZIP-215) verifications each admission client may trigger */
  readonly perClient?: RateOptions;
  /** slow-path verifications all admission clients together may trigger */
  readonly global?: RateOptions;
  /** distinct clients whose budget is remembered (least recently seen forgotten first) */
  readonly maxClients?: number;
}

export const DEFAULT_VERIFIER_OPTIONS = Object.freeze({
  perClient: Object.freeze({ perSecond: 20, burst: 40 }),
  // The JS verifier does ~540/s per core; leave half a core for consensus-side verification.
  global: Object.freeze({ perSecond: 250, burst: 500 }),
  maxClients: 10_000,
});

export interface VerifierCounters {
  /** signatures the fast path accepted */
  fastAccepted: number;
  /** signatures only ZIP-215 in JS accepted */
  slowAccepted: number;
  /** signatures judged invalid */
  rejected: number;
  /** admissions refused because the slow-path budget was exhausted (not judged) */
  busy: number;
}

/**
 * Signature verification with counters and an admission budget.
 *
 * An invalid signature always ends on the slow path (the fast path cannot say "invalid"), so a
 * flood of invalid signatures would cost ~2 ms of CPU each. Admission therefore charges every
 * slow-path verification to a per-client bucket and a global bucket; when either is empty the
 * answer is 'busy' — the transaction is refused for now, not declared invalid.
 * Consensus-side verification has no budget: block size already bounds it, and a node must be able
 * to judge every block it is asked to vote on.
 */
export class Verifier {
  readonly fast: FastVerifier | null;
  readonly counters: VerifierCounters = { fastAccepted: 0, slowAccepted: 0, rejected: 0, busy: 0 };
  private readonly clients: KeyedBuckets;
  private global: TokenBucket | null = null;
  private readonly globalRate: RateOptions;

  constructor(opts: VerifierOptions = {}) {
    this.fast = opts.fast ?? null;
    const perClient = opts.perClient ?? DEFAULT_VERIFIER_OPTIONS.perClient;
    this.globalRate = opts.global ?? DEFAULT_VERIFIER_OPTIONS.global;
    checkRateOptions(perClient, 'perClient');
    checkRateOptions(this.globalRate, 'global');
    this.clients = new KeyedBuckets(perClient, opts.maxClients ?? DEFAULT_VERIFIER_OPTIONS.maxClients);
  }

  /** Clients forgotten because more than maxClients were tracked. */
  get clientsEvicted(): number {
    return this.clients.evicted;
  }

  /** Consensus-side: ZIP-215 verdict, fast path first. */
  verifyConsensus(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (this.tryFast(publicKey, message, signature)) return true;
    return this.slow(publicKey, message, signature);
  }

  /** Admission-side: like verifyConsensus, but slow-path work is budgeted per client and globally. */
  verifyAdmission(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    clientKey: string,
    now: number,
    /** a fast path's answer obtained elsewhere (e.g. a worker thread): true counts as valid */
    fastSaid?: boolean,
  ): AdmissionVerdict {
    if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) {
      this.counters.rejected++;
      return 'invalid';
    }
    if (fastSaid === true) {
      this.counters.fastAccepted++;
      return 'valid';
    }
    if (fastSaid === undefined && this.tryFast(publicKey, message, signature)) return 'valid';
    const client = this.clients.bucket(clientKey, now);
    const global = this.globalBucket(now);
    if (!client.available(now) || !global.available(now)) {
      this.counters.busy++;
      return 'busy';
    }
    client.take(now);
    global.take(now);
    return this.slow(publicKey, message, signature) ? 'valid' : 'invalid';
  }

  private globalBucket(now: number): TokenBucket {
    // Created on first use so that its start time comes from the first `now`, not from a clock.
    if (this.global === null) this.global = new TokenBucket(this.globalRate, now);
    return this.global;
  }

  private tryFast(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (this.fast === null) return false;
    let ok = false;
    try {
      ok = this.fast.verify(publicKey, message, signature) === true;
    } catch {
      ok = false;
    }
    if (ok) this.counters.fastAccepted++;
    return ok;
  }

  private slow(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const ok = verifyZip215(publicKey, message, signature);
    if (ok) this.counters.slowAccepted++;
    else this.counters.rejected++;
    return ok;
  }
}
