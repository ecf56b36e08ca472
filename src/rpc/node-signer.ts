// Node-only fast transaction signing for load generators: Ed25519 through node:crypto (OpenSSL) is
// ~10× faster than @noble/ed25519 and, Ed25519 being deterministic (RFC 8032), produces the same
// signature bytes. Never imported by the portable client.
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { assembleTx, encodeTxBody, type TxFields } from '../chain/tx.ts';
import { publicKeyOf } from '../crypto/ed25519.ts';

// DER PrivateKeyInfo prefix for a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface FastSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function nodeSigner(seed: Uint8Array): FastSigner {
  if (seed.length !== 32) throw new RangeError('seed must be 32 bytes');
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return {
    publicKey: publicKeyOf(seed),
    sign: (message) => new Uint8Array(sign(null, message, key)),
  };
}

/** Wire bytes and txid of a transaction, signed with node:crypto. Fields are not checked against chain limits. */
export function signTxFast(fields: TxFields, signer: FastSigner): { bytes: Uint8Array; txidHex: string } {
  const bodyBytes = encodeTxBody({ ...fields, sender: signer.publicKey });
  const bytes = assembleTx(bodyBytes, signer.sign(bodyBytes));
  return { bytes, txidHex: createHash('sha256').update(bodyBytes).digest('hex') };
}
