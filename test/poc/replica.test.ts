// Replica encoding and chunk Merkle paths (docs/poc-pop.md, "Objects"): fixed vectors so the encoding
// cannot change silently (every committed root would stop verifying), and the properties the design
// leans on: chunk i depends on chunk i − 1 and on the validator's key, a path proves one chunk at one
// index under one root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { merkleLeafHash, merkleRoot } from '../../src/crypto/merkle.ts';
import { sha256, toHex } from '../../src/crypto/sha256.ts';
import { auditPath, buildLevels, levelsRoot, rootFromPath, verifyLeaf } from '../../src/poc/merkle-path.ts';
import { encodeChunk, ReplicaBuilder, replicaChunk, replicaSeed } from '../../src/poc/replica.ts';
import { CHAIN, keys, makeReplica, P } from './fixture.ts';

const pk = keys[0]!.publicKey;

test('vectors: replica seed, chunks and root are stable', () => {
  const seed = replicaSeed('numchain-vector', new Uint8Array(32).fill(7), 3);
  assert.is(toHex(seed), 'fa2e847c0b6bf3ecfc3c97d6a8159cf279bf9ff246a93e870ee8bb9e182d04ba');
  assert.is(toHex(sha256(replicaChunk(seed, 0, 64, 2))), 'bfc1e30dc4b4d2ec2af6960d8d5843726d2b90e39daa18099cf1aa132bf5bbb2');
  assert.is(toHex(sha256(replicaChunk(seed, 5, 4096, 4))), '81defa20425d72d26440b215e25615b641162b986fae8ac1b0d986a016e59881');
  const b = new ReplicaBuilder(seed, 37, 64, 2);
  for (let i = 0; i < 37; i++) b.next();
  assert.is(toHex(levelsRoot(b.finish())), 'f5bb9436c4e649f5d676a4d52660ed06c54b8917578d5d013992c127f7e80c2e');
});

test('the builder streams exactly replicaChunk(i), and its root is the RFC 6962 root of the chunks', () => {
  const seed = replicaSeed(CHAIN, pk, 0);
  const b = new ReplicaBuilder(seed, 20, 64, 2);
  const cs = Array.from({ length: 20 }, () => b.next());
  assert.is(b.done, 20);
  assert.throws(() => b.next(), (e: unknown) => e instanceof RangeError);
  for (const i of [0, 1, 7, 19]) assert.equal(cs[i], replicaChunk(seed, i, 64, 2));
  assert.equal(levelsRoot(b.finish()), merkleRoot(cs));
  const half = new ReplicaBuilder(seed, 20, 64, 2);
  half.next();
  assert.throws(() => half.finish(), (e: unknown) => e instanceof RangeError);
});

test('chunk i is the encoding of chunk i − 1 only: another predecessor, index, key, chain or nonce gives another chunk', () => {
  const r = makeReplica(0, 16);
  const seed = replicaSeed(CHAIN, pk, 0);
  for (let i = 1; i < 16; i++) assert.equal(encodeChunk(seed, i, r.chunks[i - 1]!, P.chunkBytes, P.encodeRounds), r.chunks[i]);
  const c = 9;
  const other = (s: Uint8Array, prev = r.chunks[c - 1]!, idx = c) => toHex(encodeChunk(s, idx, prev, P.chunkBytes, P.encodeRounds));
  const want = toHex(r.chunks[c]!);
  assert.is.not(other(replicaSeed(CHAIN, keys[1]!.publicKey, 0)), want, 'another key');
  assert.is.not(other(replicaSeed('other-chain', pk, 0)), want, 'another chain');
  assert.is.not(other(replicaSeed(CHAIN, pk, 1)), want, 'another nonce');
  assert.is.not(other(seed, r.chunks[c - 2]!), want, 'another predecessor');
  assert.is.not(other(seed, r.chunks[c - 1]!, c + 1), want, 'another index');
  // every bit of the predecessor matters
  for (const byte of [0, 31, 32, 63]) {
    const prev = r.chunks[c - 1]!.slice();
    prev[byte]! ^= 1;
    assert.is.not(other(seed, prev), want, `bit flip at byte ${byte}`);
  }
  // a replica from another key shares no chunk with this one
  const mine = new Set(r.chunks.map(toHex));
  assert.ok(makeReplica(1, 16).chunks.every((x) => !mine.has(toHex(x))));
});

test('encodeChunk refuses bad shapes', () => {
  const seed = replicaSeed(CHAIN, pk, 0);
  assert.throws(() => encodeChunk(seed.subarray(1), 0, null, 64, 1), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeChunk(seed, 0, null, 65, 1), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeChunk(seed, 1, new Uint8Array(32), 64, 1), (e: unknown) => e instanceof RangeError);
});

test('a path for chunk i verifies only chunk i, only at i, only against the root (every size 1..40)', () => {
  const r = makeReplica(0, 40);
  for (let n = 1; n <= 40; n++) {
    const cs = r.chunks.slice(0, n);
    const leaves = new Uint8Array(32 * n);
    cs.forEach((c, i) => leaves.set(merkleLeafHash(c), 32 * i));
    const t = buildLevels(leaves);
    const root = levelsRoot(t);
    assert.equal(root, merkleRoot(cs), `root of ${n}`);
    for (let i = 0; i < n; i++) {
      const path = auditPath(t, i);
      assert.ok(path.length <= Math.ceil(Math.log2(n)));
      assert.ok(verifyLeaf(cs[i]!, i, n, path, root), `chunk ${i} of ${n}`);
      if (n > 1) {
        assert.not.ok(verifyLeaf(cs[(i + 1) % n]!, i, n, path, root), `another chunk at ${i} of ${n}`);
        assert.not.ok(verifyLeaf(cs[i]!, (i + 1) % n, n, path, root), `chunk ${i} at another index of ${n}`);
      }
      assert.not.ok(verifyLeaf(cs[i]!, i, n, path, sha256(root)), 'another root');
      assert.not.ok(verifyLeaf(cs[i]!, i, n, [...path, root], root), 'a hash too many');
      if (path.length > 0) assert.not.ok(verifyLeaf(cs[i]!, i, n, path.slice(1), root), 'a hash too few');
    }
  }
  assert.is(rootFromPath(new Uint8Array(32), -1, 4, []), null);
  assert.is(rootFromPath(new Uint8Array(32), 4, 4, []), null);
  assert.is(rootFromPath(new Uint8Array(32), 0, 2, [new Uint8Array(31)]), null);
  assert.throws(() => auditPath(r.levels, 40), (e: unknown) => e instanceof RangeError);
  assert.throws(() => buildLevels(new Uint8Array(33)), (e: unknown) => e instanceof RangeError);
});

test.run();
