// Node-only fast transaction signing for load generators: Ed25519 through libsodium (sodium-native,
// ~3× faster than OpenSSL here) or node:crypto (OpenSSL, ~10× faster than @noble/ed25519). Ed25519
// is deterministic (RFC 8032), so every path produces the same signature bytes (tested). Never
// imported by the portable client.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { assembleTx, encodeTxBody, type TxFields } from '../chain/tx.ts';
import { publicKeyOf } from '../crypto/ed25519.ts';
import { bytesEqual } from '../crypto/sha256.ts';

// DER PrivateKeyInfo prefix for a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

interface SodiumSign {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
}

let sodium: SodiumSign | null | undefined;
function loadSodium(): SodiumSign | null {
  if (sodium === undefined) {
    try {
      const m = createRequire(import.meta.url)('sodium-native') as Partial<SodiumSign>;
      sodium = typeof m.crypto_sign_detached === 'function' && typeof m.crypto_sign_seed_keypair === 'function' ? (m as SodiumSign) : null;
    } catch {
      sodium = null;
    }
  }
  return sodium;
}

export interface FastSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function nodeSigner(seed: Uint8Array): FastSigner {
  if (seed.length !== 32) throw new RangeError('seed must be 32 bytes');
  const publicKey = publicKeyOf(seed);
  const na = loadSodium();
  if (na) {
    const pk = new Uint8Array(32);
    const sk = new Uint8Array(64);
    na.crypto_sign_seed_keypair(pk, sk, seed);
    if (bytesEqual(pk, publicKey)) {
      return {
        publicKey,
        sign: (message) => {
          const sig = new Uint8Array(64);
          na.crypto_sign_detached(sig, message, sk);
          return sig;
        },
      };
    }
  }
  return openSslSigner(seed, publicKey);
}

/** The node:crypto (OpenSSL) signer; exported so tests can hold it to the same bytes. */
export function openSslSigner(seed: Uint8Array, publicKey: Uint8Array = publicKeyOf(seed)): FastSigner {
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return {
    publicKey,
    sign: (message) => new Uint8Array(sign(null, message, key)),
  };
}

/** Wire bytes and txid of a transaction, signed with node:crypto. Fields are not checked against chain limits. */
export function signTxFast(fields: TxFields, signer: FastSigner): { bytes: Uint8Array; txidHex: string } {
  const bodyBytes = encodeTxBody({ ...fields, sender: signer.publicKey });
  const bytes = assembleTx(bodyBytes, signer.sign(bodyBytes));
  return { bytes, txidHex: createHash('sha256').update(bodyBytes).digest('hex') };
}
