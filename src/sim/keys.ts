// Signers for the simulator: a fast fake (SHA-256 keyed by the public key; forgeable, which is fine
// because simulated Byzantine nodes only ever use their own keys) and real Ed25519 (ZIP-215).
import { encodeCanonical } from '../codec/canonical.ts';
import { sha256, sha256Concat } from '../crypto/sha256.ts';
import { keypairFromSeed, signEd25519, verifyZip215 } from '../crypto/ed25519.ts';
import { bytesEqual } from '../consensus/block.ts';
import type { Signer, SigVerifier } from '../consensus/types.ts';

export interface SimKey {
  readonly publicKey: Uint8Array;
  readonly signer: Signer;
}

export function fakeKey(seed: number, index: number): SimKey {
  const publicKey = sha256(encodeCanonical(['sim-fake-pk', seed, index]));
  return { publicKey, signer: { sign: (m) => sha256Concat(publicKey, m) } };
}

export const fakeVerifier: SigVerifier = {
  verify: (pk, m, sig) => bytesEqual(sha256Concat(pk, m), sig),
};

export function realKey(seed: number, index: number): SimKey {
  const kp = keypairFromSeed(sha256(encodeCanonical(['sim-ed25519-seed', seed, index])));
  return { publicKey: kp.publicKey, signer: { sign: (m) => signEd25519(m, kp.secretKey) } };
}

export const realVerifier: SigVerifier = { verify: verifyZip215 };

/**
 * Transaction signatures for the simulator's clients: 64 bytes a fast verifier can check with two
 * hashes. Forgeable by design (as fakeKey's); only used where the simulator holds every key.
 */
export function fakeTxSignature(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(sha256Concat(publicKey, message), 0);
  out.set(sha256Concat(message, publicKey), 32);
  return out;
}

/** The fast path a simulated ChainApp verifies fakeTxSignature with (anything else goes to ZIP-215). */
export const fakeTxVerifier = {
  name: 'sim-fake',
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => bytesEqual(fakeTxSignature(publicKey, message), signature),
};
