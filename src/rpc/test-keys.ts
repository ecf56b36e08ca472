// Deterministic client keys for localnets and load tests (`--seed N`), and the key-file format the
// genesis command writes. Browser-safe. A seed-derived key is public knowledge: never use one on a
// network where the key must protect anything.
import { encodeCanonical } from '../codec/canonical.ts';
import { keypairFromSeed, publicKeyOf } from '../crypto/ed25519.ts';
import { bytesEqual, fromHex, HexError, sha256 } from '../crypto/sha256.ts';

const TEST_KEY_DOMAIN = 'numchain/test-client-key/v1';

/** The 32-byte Ed25519 seed (secret key) of test client number `n`. */
export function testClientSeed(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('seed number must be an integer ≥ 0');
  return sha256(encodeCanonical([TEST_KEY_DOMAIN, n]));
}

export function testClientKey(n: number): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return keypairFromSeed(testClientSeed(n));
}

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parse `{ "index": n, "publicKey": hex, "secretKey": hex }`; the public key must match the secret. */
export function parseKeyFile(text: string): { index: number | null; secretKey: Uint8Array; publicKey: Uint8Array } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new KeyFileError('', `key file is not JSON: ${(e as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new KeyFileError('', 'key file must be a JSON object');
  const o = j as Record<string, unknown>;
  let secretKey: Uint8Array;
  try {
    secretKey = fromHex(o.secretKey, 'secretKey', 32);
  } catch (e) {
    if (e instanceof HexError) throw new KeyFileError('secretKey', e.message);
    throw e;
  }
  const publicKey = publicKeyOf(secretKey);
  if (o.publicKey !== undefined) {
    let claimed: Uint8Array;
    try {
      claimed = fromHex(o.publicKey, 'publicKey', 32);
    } catch (e) {
      if (e instanceof HexError) throw new KeyFileError('publicKey', e.message);
      throw e;
    }
    if (!bytesEqual(claimed, publicKey)) throw new KeyFileError('publicKey', 'publicKey does not belong to secretKey');
  }
  const index = o.index === undefined ? null : o.index;
  if (index !== null && (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)) throw new KeyFileError('index', 'index must be an integer ≥ 0');
  return { index, secretKey, publicKey };
}
