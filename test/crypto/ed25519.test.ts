import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, sign as nodeSign, createPrivateKey } from 'node:crypto';
import { verifyZip215, Verifier, signEd25519, keypairFromSeed, publicKeyOf, type FastVerifier } from '../../src/crypto/ed25519.ts';
import { createNodeCryptoVerifier, loadSodiumVerifier, loadFastVerifier } from '../../src/crypto/fast-verify-node.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';

interface Case { msg: Uint8Array; pk: Uint8Array; sig: Uint8Array }

function loadCases(): Case[] {
  const text = readFileSync(new URL('../vectors/ed25519-speccheck.txt', import.meta.url), 'utf8');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const cases: Case[] = [];
  for (let i = 0; i < lines.length; i += 3) {
    const field = (j: number, name: string) => {
      const l = lines[i + j]!;
      if (!l.startsWith(name + '=')) throw new Error(`line ${i + j}: expected ${name}=`);
      return fromHex(l.slice(name.length + 1));
    };
    cases.push({ msg: field(0, 'msg'), pk: field(1, 'pbk'), sig: field(2, 'sig') });
  }
  return cases;
}

const CASES = loadCases();
// First row of /work/shared/ed25519-speccheck/README.md: ZIP-215 (noble default verify).
const ZIP215 = [true, true, true, true, true, true, false, false, false, true, true, true];

const sodium = await loadSodiumVerifier();
const nodeCrypto = createNodeCryptoVerifier();
const fastPaths: FastVerifier[] = [nodeCrypto, ...(sodium ? [sodium] : [])];

test('vector file holds the 12 speccheck cases', () => {
  assert.is(CASES.length, 12);
});

test('ZIP-215 verdicts match the speccheck table', () => {
  assert.equal(CASES.map((c) => verifyZip215(c.pk, c.msg, c.sig)), ZIP215);
});

test('both fast paths are available on this machine', () => {
  assert.ok(sodium, 'sodium-native should load');
  assert.is(sodium!.name, 'sodium-native');
});

test('a fast path never says valid where ZIP-215 says invalid', () => {
  for (const f of fastPaths) {
    CASES.forEach((c, i) => {
      if (f.verify(c.pk, c.msg, c.sig)) assert.ok(ZIP215[i], `${f.name} accepted case ${i}, which ZIP-215 rejects`);
    });
  }
});

test('combined verifier gives exactly the ZIP-215 answer with every fast path', async () => {
  const best = await loadFastVerifier();
  for (const f of [...fastPaths, best, null]) {
    const v = new Verifier({ fast: f });
    assert.equal(CASES.map((c) => v.verifyConsensus(c.pk, c.msg, c.sig)), ZIP215, f ? f.name : 'no fast path');
    // admission with a generous budget answers the same
    const a = new Verifier({ fast: f, perClient: { perSecond: 0, burst: 100 } });
    assert.equal(CASES.map((c) => a.verifyAdmission(c.pk, c.msg, c.sig, 'client', 0) === 'valid'), ZIP215);
  }
});

test('counters: fast-path accepts, slow-path accepts and rejections are counted separately', () => {
  const v = new Verifier({ fast: sodium });
  CASES.forEach((c) => v.verifyConsensus(c.pk, c.msg, c.sig));
  // libsodium accepts only case 3; ZIP-215 accepts 9 of 12.
  assert.equal(v.counters, { fastAccepted: 1, slowAccepted: 8, rejected: 3, busy: 0 });
});

test('signatures from noble and node:crypto are byte-identical, and each verifies everywhere', () => {
  for (let i = 0; i < 8; i++) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const seed = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
    const msg = new Uint8Array(Buffer.from(`message ${i} ${toHex(seed)}`));
    const nobleSig = signEd25519(msg, seed);
    const nodeSig = new Uint8Array(nodeSign(null, msg, createPrivateKey({ key: jwk, format: 'jwk' })));
    assert.is(toHex(nobleSig), toHex(nodeSig));
    const pk = publicKeyOf(seed);
    assert.is(toHex(pk), toHex(new Uint8Array(Buffer.from(jwk.x!, 'base64url'))));
    assert.ok(verifyZip215(pk, msg, nobleSig));
    for (const f of fastPaths) assert.ok(f.verify(pk, msg, nobleSig), f.name);
  }
});

test('tampered message, wrong lengths and garbage are invalid, not exceptions', () => {
  const { secretKey, publicKey } = keypairFromSeed(new Uint8Array(32).fill(7));
  const msg = new Uint8Array([1, 2, 3]);
  const sig = signEd25519(msg, secretKey);
  const v = new Verifier({ fast: sodium });
  assert.ok(v.verifyConsensus(publicKey, msg, sig));
  assert.not.ok(v.verifyConsensus(publicKey, new Uint8Array([1, 2, 4]), sig));
  assert.not.ok(v.verifyConsensus(publicKey.subarray(1), msg, sig));
  assert.not.ok(v.verifyConsensus(publicKey, msg, sig.subarray(1)));
  assert.not.ok(v.verifyConsensus(new Uint8Array(32).fill(0xff), msg, new Uint8Array(64).fill(0xff)));
  assert.is(v.verifyAdmission(publicKey, msg, sig.subarray(1), 'c', 0), 'invalid');
});

test('slow-path budget: invalid-signature flood from one client gets busy; others still served', () => {
  const { secretKey, publicKey } = keypairFromSeed(new Uint8Array(32).fill(9));
  const msg = new Uint8Array([9]);
  const good = signEd25519(msg, secretKey);
  const bad = good.slice();
  bad[0]! ^= 1;
  const v = new Verifier({ fast: sodium, perClient: { perSecond: 1, burst: 3 }, global: { perSecond: 1000, burst: 1000 } });
  const verdicts = Array.from({ length: 5 }, () => v.verifyAdmission(publicKey, msg, bad, 'attacker', 1000));
  assert.equal(verdicts, ['invalid', 'invalid', 'invalid', 'busy', 'busy']);
  assert.is(v.counters.busy, 2);
  assert.is(v.counters.rejected, 3);
  // Valid signatures via the fast path need no budget, even for the exhausted client.
  assert.is(v.verifyAdmission(publicKey, msg, good, 'attacker', 1000), 'valid');
  assert.is(v.verifyAdmission(publicKey, msg, bad, 'honest', 1000), 'invalid');
  // One second later the attacker has exactly one more slow verification.
  assert.is(v.verifyAdmission(publicKey, msg, bad, 'attacker', 2000), 'invalid');
  assert.is(v.verifyAdmission(publicKey, msg, bad, 'attacker', 2000), 'busy');
  // Consensus-side verification is never budgeted.
  assert.not.ok(v.verifyConsensus(publicKey, msg, bad));
});

test('slow-path budget: global cap holds against many client keys', () => {
  const { publicKey } = keypairFromSeed(new Uint8Array(32).fill(3));
  const v = new Verifier({ fast: null, perClient: { perSecond: 10, burst: 10 }, global: { perSecond: 0, burst: 4 }, maxClients: 2 });
  const verdicts = Array.from({ length: 6 }, (_, i) => v.verifyAdmission(publicKey, new Uint8Array([i]), new Uint8Array(64), `c${i}`, 0));
  assert.equal(verdicts, ['invalid', 'invalid', 'invalid', 'invalid', 'busy', 'busy']);
  assert.is(v.clientsEvicted, 4);
});

test.run();
