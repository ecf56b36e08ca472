// Node-only fast paths for Ed25519 verification. This is the one file in src/crypto allowed to touch
// node:crypto and native addons; everything else receives a FastVerifier through Verifier options.
// Both libsodium and OpenSSL check the cofactorless equation with a canonical S, which implies
// ZIP-215's cofactored check, so their "valid" is always ZIP-215-valid (test/crypto checks this on
// the speccheck edge cases). Their "invalid" is never trusted.
import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import type { FastVerifier } from './ed25519.ts';

// DER SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 key (RFC 8410).
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** OpenSSL through node:crypto (≈ 8k verifications/s per core). */
export function createNodeCryptoVerifier(): FastVerifier {
  return {
    name: 'node:crypto',
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      let key: KeyObject;
      try {
        const der = new Uint8Array(SPKI_ED25519_PREFIX.length + 32);
        der.set(SPKI_ED25519_PREFIX, 0);
        der.set(publicKey, SPKI_ED25519_PREFIX.length);
        key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
        return nodeVerify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** libsodium through sodium-native (≈ 15k verifications/s per core), or null if it cannot load. */
export async function loadSodiumVerifier(): Promise<FastVerifier | null> {
  let fn: ((sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => boolean) | undefined;
  try {
    const mod = await import('sodium-native');
    fn = (mod.default ?? mod).crypto_sign_verify_detached;
  } catch {
    return null;
  }
  if (typeof fn !== 'function') return null;
  const verifyDetached = fn;
  return {
    name: 'sodium-native',
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        return verifyDetached(signature, message, publicKey) === true;
      } catch {
        return false;
      }
    },
  };
}

/** The fastest verifier available here: sodium-native, else node:crypto, else null (JS only). */
export async function loadFastVerifier(): Promise<FastVerifier | null> {
  const sodium = await loadSodiumVerifier();
  if (sodium) return sodium;
  try {
    const v = createNodeCryptoVerifier();
    // Probe once: some runtimes (Bun, old builds) lack Ed25519 in node:crypto.
    v.verify(new Uint8Array(32), new Uint8Array(0), new Uint8Array(64));
    return v;
  } catch {
    return null;
  }
}

/**
 * node:crypto SHA-256 returning a plain Uint8Array, for useSha256() in src/crypto/sha256.ts.
 * The digest comes back as a latin1 string (one char per byte, exactly) and is copied into a
 * 32-byte array: V8 keeps arrays that small on its own heap, while a 'buffer' digest is a fresh
 * off-heap allocation per call (most of a short hash's cost) and leaves the garbage collector one
 * ArrayBuffer per hash to sweep.
 */
export function nodeSha256(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  nodeSha256Into(bytes, out, 0);
  return out;
}

/** node:crypto SHA-256 written into out[offset .. offset + 32), for useSha256(): no array per digest. */
export function nodeSha256Into(bytes: Uint8Array, out: Uint8Array, offset: number): void {
  if (!oneShot) {
    out.set(createHash('sha256').update(bytes).digest(), offset);
    return;
  }
  const s = oneShot('sha256', bytes, 'latin1');
  for (let i = 0; i < 32; i++) out[offset + i] = s.charCodeAt(i);
}

/** Lowercase hex of node:crypto SHA-256, for useSha256(): a txid or a receipt leaf without a byte array in between. */
export function nodeSha256Hex(bytes: Uint8Array): string {
  return oneShot ? oneShot('sha256', bytes, 'hex') : createHash('sha256').update(bytes).digest('hex');
}

// crypto.hash (Node ≥ 20.12) skips the Hash object: ~25 % less per small input than createHash.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'latin1' | 'hex') => string }).hash;
