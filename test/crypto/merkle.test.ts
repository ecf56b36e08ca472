import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { merkleRoot, merkleLeafHash, merkleNodeHash } from '../../src/crypto/merkle.ts';
import { fromHex, toHex, sha256, HexError, bytesEqual, useSha256 } from '../../src/crypto/sha256.ts';
import { nodeSha256, nodeSha256Hex, nodeSha256Into } from '../../src/crypto/fast-verify-node.ts';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

// RFC 6962 reference inputs and the roots of their first n leaves, as published with the
// certificate-transparency reference implementation's tests.
const INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

test('empty tree root is SHA-256 of the empty string', () => {
  assert.is(toHex(merkleRoot([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('RFC 6962 reference roots for 1..8 leaves', () => {
  const leaves = INPUTS.map((h) => fromHex(h));
  for (let n = 1; n <= 8; n++) assert.is(toHex(merkleRoot(leaves.slice(0, n))), ROOTS[n - 1], `n=${n}`);
});

test('five leaves split 4 + 1 (largest power of two below n)', () => {
  const leaves = INPUTS.slice(0, 5).map((h) => merkleLeafHash(fromHex(h)));
  const expected = merkleNodeHash(merkleNodeHash(merkleNodeHash(leaves[0]!, leaves[1]!), merkleNodeHash(leaves[2]!, leaves[3]!)), leaves[4]!);
  assert.ok(bytesEqual(merkleRoot(INPUTS.slice(0, 5).map((h) => fromHex(h))), expected));
});

test('leaf order matters', () => {
  const a = fromHex('00'), b = fromHex('01');
  assert.not.ok(bytesEqual(merkleRoot([a, b]), merkleRoot([b, a])));
});

test('hex: lowercase only, exact length, typed errors naming the field', () => {
  assert.is(toHex(fromHex('00ff10')), '00ff10');
  assert.throws(() => fromHex('0A'), (e: unknown) => e instanceof HexError && e.field === 'hex');
  assert.throws(() => fromHex('abc', 'sender'), (e: unknown) => e instanceof HexError && e.field === 'sender');
  assert.throws(() => fromHex('aabb', 'sig', 3), (e: unknown) => e instanceof HexError && /3 bytes/.test(e.message));
  assert.throws(() => fromHex(12 as unknown, 'x'), (e: unknown) => e instanceof HexError);
  assert.is(toHex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

// The definition, recursively (RFC 6962 §2.1), to hold the bottom-up computation to.
function mth(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return sha256(new Uint8Array(0));
  if (items.length === 1) return merkleLeafHash(items[0]!);
  let k = 1;
  while (k * 2 < items.length) k *= 2;
  return merkleNodeHash(mth(items.slice(0, k)), mth(items.slice(k)));
}

test('every size from 1 to 300 (and a big block) equals the recursive definition, with the fast SHA-256 too', () => {
  let seed = 5;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const items = Array.from({ length: 2100 }, () => Uint8Array.from({ length: rnd(700) }, () => rnd(256)));
  for (const fast of [false, true]) {
    if (fast) useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });
    try {
      for (let n = 1; n <= 300; n++) assert.is(toHex(merkleRoot(items.slice(0, n))), toHex(mth(items.slice(0, n))), `n=${n}`);
      assert.is(toHex(merkleRoot(items)), toHex(mth(items)), 'n=2100 (grows the work buffer)');
      assert.is(toHex(merkleRoot([new Uint8Array(9000)])), toHex(merkleLeafHash(new Uint8Array(9000))), 'a leaf bigger than the scratch buffer');
      assert.is(toHex(merkleRoot(items.slice(0, 5))), toHex(mth(items.slice(0, 5))), 'after the scratch buffer grew');
    } finally {
      useSha256((b) => nobleSha256(b));
    }
  }
});

test.run();
