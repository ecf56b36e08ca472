import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { sha256, sha256Concat, sha256Hex, sha256Into, toHex, useSha256 } from '../../src/crypto/sha256.ts';
import { nodeSha256, nodeSha256Hex, nodeSha256Into } from '../../src/crypto/fast-verify-node.ts';

// Lengths around SHA-256's block and padding edges, a transaction-sized and a big input.
const inputs = [0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 330, 513, 100_000].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));

test('node:crypto SHA-256, as bytes and as hex, equals noble on every length', () => {
  for (const x of inputs) {
    const want = nobleSha256(x);
    const got = nodeSha256(x);
    assert.instance(got, Uint8Array);
    assert.is(got.length, 32);
    assert.equal([...got], [...want], `length ${x.length}`);
    assert.is(nodeSha256Hex(x), toHex(want), `length ${x.length}`);
  }
});

test('digests from the fast path are independent arrays: writing one changes no other', () => {
  const a = nodeSha256(inputs[3]!);
  const b = nodeSha256(inputs[3]!);
  a[0]! ^= 0xff;
  assert.is(toHex(b), toHex(nobleSha256(inputs[3]!)));
});

test('useSha256 swaps in the fast path for sha256, sha256Hex and sha256Concat, and refuses a wrong one', () => {
  try {
    useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });
    for (const x of inputs) {
      assert.is(toHex(sha256(x)), toHex(nobleSha256(x)));
      assert.is(sha256Hex(x), toHex(nobleSha256(x)));
    }
    for (const x of inputs) {
      const out = new Uint8Array(40).fill(7);
      sha256Into(x, out, 5);
      assert.is(toHex(out.subarray(5, 37)), toHex(nobleSha256(x)));
      assert.equal([...out.subarray(0, 5), ...out.subarray(37)], [7, 7, 7, 7, 7, 7, 7, 7]);
    }
    assert.is(toHex(sha256Concat(inputs[2]!, inputs[5]!)), toHex(nobleSha256(new Uint8Array([...inputs[2]!, ...inputs[5]!]))));
    assert.throws(() => useSha256((b) => nodeSha256(new Uint8Array([...b, 0]))), /wrong/);
    assert.throws(() => useSha256(nodeSha256, { hex: (b) => nodeSha256Hex(b).toUpperCase() }), /hex SHA-256 implementation/);
    assert.throws(() => useSha256(nodeSha256, { into: (b, out, off) => nodeSha256Into(b, out, off + 1) }), /write-into SHA-256 implementation/);
    // A refused swap leaves the working one in place.
    assert.is(sha256Hex(inputs[1]!), toHex(nobleSha256(inputs[1]!)));
  } finally {
    useSha256((b) => nobleSha256(b));
  }
  assert.is(sha256Hex(inputs[4]!), toHex(nobleSha256(inputs[4]!)));
});

test.run();
