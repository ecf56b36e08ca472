// Key handling for clients and load tools: deterministic test keys, the key-file format, and the
// node:crypto fast signer producing exactly the bytes the portable builder produces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTx, decodeTx, txLimits } from '../../src/chain/tx.ts';
import { verifyZip215 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/crypto/sha256.ts';
import { DEFAULT_MA_PARAMS } from '../../src/engine/types.ts';
import { nodeSigner, openSslSigner, signTxFast, type FastSigner } from '../../src/rpc/node-signer.ts';
import { KeyFileError, parseKeyFile, testClientKey, testClientSeed } from '../../src/rpc/test-keys.ts';
import { percentile } from '../../src/cli/flood.ts';

test('test client keys are deterministic and distinct', () => {
  assert.equal(testClientKey(5).publicKey, testClientKey(5).publicKey);
  assert.is.not(toHex(testClientKey(5).publicKey), toHex(testClientKey(6).publicKey));
  assert.throws(() => testClientSeed(-1), RangeError);
});

test('the fast signers (libsodium, node:crypto) produce the same wire bytes and txid as buildTx', () => {
  const seed = testClientSeed(9);
  for (const s of [nodeSigner(seed), openSslSigner(seed)]) checkSigner(s, seed);
});

function checkSigner(s: FastSigner, seed: Uint8Array): void {
  const vec = Array.from({ length: DEFAULT_MA_PARAMS.dim }, (_, i) => i - 64);
  for (const op of [
    { op: 'add' as const, shard: 1, layer: 2, slot: 3, vec },
    { op: 'decay' as const, shard: 0, layer: 0, slot: 0, factor: null },
    { op: 'mix' as const, shard: 3, layer: 3, slot: 63, src: 1, alpha: 1024 },
  ]) {
    const fields = { chainId: 'local-1', nonce: 77, validUntil: 1234, op };
    const fast = signTxFast(fields, s);
    const slow = buildTx(fields, seed);
    assert.equal(fast.bytes, slow.bytes);
    assert.is(fast.txidHex, slow.txidHex);
    const d = decodeTx(fast.bytes, txLimits(DEFAULT_MA_PARAMS, 1 << 20));
    assert.ok(verifyZip215(d.body.sender, d.bodyBytes, d.signature));
  }
}

test('key files: valid, mismatched public key, bad hex, not JSON', () => {
  const k = testClientKey(3);
  const ok = parseKeyFile(JSON.stringify({ index: 2, publicKey: toHex(k.publicKey), secretKey: toHex(k.secretKey) }));
  assert.is(ok.index, 2);
  assert.equal(ok.secretKey, k.secretKey);
  const field = (text: string): string => {
    try {
      parseKeyFile(text);
    } catch (e) {
      if (e instanceof KeyFileError) return e.field;
    }
    return 'accepted';
  };
  assert.is(field(JSON.stringify({ publicKey: toHex(testClientKey(4).publicKey), secretKey: toHex(k.secretKey) })), 'publicKey');
  assert.is(field(JSON.stringify({ secretKey: 'zz' })), 'secretKey');
  assert.is(field(JSON.stringify({ secretKey: toHex(k.secretKey), index: -1 })), 'index');
  assert.is(field('{'), '');
});

test('flood latency percentiles use the nearest-rank definition', () => {
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(percentile(xs, 50), 50);
  assert.is(percentile(xs, 90), 90);
  assert.is(percentile(xs, 99), 99);
  assert.is(percentile(xs, 100), 100);
  assert.ok(Number.isNaN(percentile(new Float64Array(0), 50)));
});

test.run();
