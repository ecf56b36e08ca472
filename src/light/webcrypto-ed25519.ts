// Ed25519 through Web Crypto (Chromium ≥ 137, Firefox ≥ 129, Node ≥ 20, Deno, Bun) as a fast path that
// can say "valid" and nothing else, exactly like the node's native fast paths (src/crypto/ed25519.ts):
// the rule stays ZIP-215, and valid = fast(...) || verifyZip215(...). Every Web Crypto verifier
// (BoringSSL, NSS, OpenSSL) checks the cofactorless equation, which implies ZIP-215's cofactored one;
// S < L is checked here as well, so the fast path accepts a subset of ZIP-215 whatever a browser's
// library decides about non-canonical scalars. test/ui checks it on the speccheck edge cases in
// Chromium and Firefox.
import { keypairFromSeed, signEd25519 } from '../crypto/ed25519.ts';
import { toHex } from '../crypto/sha256.ts';

export interface SigItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** A batch verifier whose `true` means valid and whose `false` means "don't know". */
export interface AsyncFastVerifier {
  readonly name: string;
  verifyMany(items: readonly SigItem[]): Promise<boolean[]>;
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/** S (the second half of a signature, little-endian) is a canonical scalar: S < L. */
export function canonicalScalar(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    if (s !== L_LE[i]) return s < L_LE[i]!;
  }
  return false; // S = L
}

const ALG = { name: 'Ed25519' } as const;
const MAX_KEYS = 4096;

/**
 * The Web Crypto fast path, or null where Web Crypto has no Ed25519 (or is not available, e.g. a page
 * that is not a secure context). Probed once with a known signature.
 */
export async function webCryptoFastPath(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Promise<AsyncFastVerifier | null> {
  if (!subtle) return null;
  const keys = new Map<string, Promise<CryptoKey | null>>();
  const keyOf = (pk: Uint8Array): Promise<CryptoKey | null> => {
    const hex = toHex(pk);
    let k = keys.get(hex);
    if (k === undefined) {
      if (keys.size >= MAX_KEYS) keys.clear();
      k = subtle.importKey('raw', pk.slice(), ALG, false, ['verify']).catch(() => null);
      keys.set(hex, k);
    }
    return k;
  };
  const one = async (it: SigItem): Promise<boolean> => {
    if (it.publicKey.length !== 32 || !canonicalScalar(it.signature)) return false;
    const key = await keyOf(it.publicKey);
    if (key === null) return false;
    try {
      return (await subtle.verify(ALG, key, it.signature.slice(), it.message.slice())) === true;
    } catch {
      return false;
    }
  };
  const fast: AsyncFastVerifier = { name: 'webcrypto', verifyMany: (items) => Promise.all(items.map(one)) };
  try {
    const { secretKey, publicKey } = keypairFromSeed(new Uint8Array(32).fill(7));
    const message = new TextEncoder().encode('numchain webcrypto probe');
    const signature = signEd25519(message, secretKey);
    const bad = signature.slice();
    bad[0]! ^= 1;
    const [good, forged] = await fast.verifyMany([{ publicKey, message, signature }, { publicKey, message, signature: bad }]);
    return good === true && forged === false ? fast : null;
  } catch {
    return null;
  }
}
