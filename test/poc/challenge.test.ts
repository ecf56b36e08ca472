// Challenges (docs/poc-pop.md, "Objects"): a pure function of the epoch's RANDAO seed, the epoch, the
// validator and its root; spread over chunks 1..C−1; and a validator that kept only part of its
// replica passes with the probability the design states, counted exactly over a fixed seed set.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCanonical } from '../../src/codec/canonical.ts';
import { sha256, toHex } from '../../src/crypto/sha256.ts';
import { answerDeadline, challengeSeed, deriveChallenge, popHeight, popPairs } from '../../src/poc/challenge.ts';
import { P, CHAIN } from './fixture.ts';

const ROOT = new Uint8Array(32).fill(0xab);
const seedOf = (n: number) => sha256(encodeCanonical(['test-epoch-seed', n]));

test('vector: the challenge of a fixed (seed, epoch, validator, root) is stable', () => {
  const ch = deriveChallenge('numchain-vector', new Uint8Array(32).fill(1), 7, 3, ROOT, 1 << 20, { k: 8, popSamples: 2, popWindow: 16 });
  assert.is(toHex(challengeSeed('numchain-vector', new Uint8Array(32).fill(1), 7, 3, ROOT)), 'cf5b73579edfdcbadae982f41af7bcf08bb9ac5aace655e75cd92ed83d6c05b7');
  assert.equal(ch.chunks, [846836,  550473,  601936,  622284,  729081,  983721,  402301,  562975]);
  assert.equal(ch.pop, [{heightOffset:  15,  txSelector:  237343330927637},  {heightOffset:  14,  txSelector:  76136873260692}]);
});

test('deterministic in its inputs, and every input changes it', () => {
  const base = () => deriveChallenge(CHAIN, seedOf(1), 5, 2, ROOT, 1000, P);
  assert.equal(base(), base());
  const key = (c: ReturnType<typeof base>) => JSON.stringify([c.chunks, c.pop]);
  const b = key(base());
  assert.is.not(key(deriveChallenge(CHAIN, seedOf(2), 5, 2, ROOT, 1000, P)), b, 'RANDAO seed');
  assert.is.not(key(deriveChallenge(CHAIN, seedOf(1), 6, 2, ROOT, 1000, P)), b, 'epoch');
  assert.is.not(key(deriveChallenge(CHAIN, seedOf(1), 5, 1, ROOT, 1000, P)), b, 'validator');
  assert.is.not(key(deriveChallenge(CHAIN, seedOf(1), 5, 2, sha256(ROOT), 1000, P)), b, 'root');
  assert.is.not(key(deriveChallenge('other', seedOf(1), 5, 2, ROOT, 1000, P)), b, 'chain');
  assert.throws(() => deriveChallenge(CHAIN, seedOf(1), 5, 2, ROOT, 1, P), (e: unknown) => e instanceof RangeError);
});

test('chunks spread over 1..C−1 (never 0): every bucket of a 64-chunk replica is hit near its mean', () => {
  const C = 65;
  const hits = new Array<number>(C).fill(0);
  const draws = 400;
  for (let e = 0; e < draws; e++) for (const c of deriveChallenge(CHAIN, seedOf(e), e, 0, ROOT, C, { k: 16, popSamples: 0, popWindow: 1 }).chunks) hits[c]!++;
  assert.is(hits[0], 0);
  const mean = (draws * 16) / (C - 1); // 100
  let chi2 = 0;
  for (let c = 1; c < C; c++) chi2 += (hits[c]! - mean) ** 2 / mean;
  // 63 degrees of freedom: the 0.999 quantile is about 103
  assert.ok(chi2 < 103, `chi-square ${chi2.toFixed(1)}`);
  assert.ok(hits.slice(1).every((h) => h > 50 && h < 150), hits.join(','));
});

test('keeping a fraction of the chunks passes a k-chunk challenge with probability q^k (q = share of answerable chunks), exactly over 4000 seeds', () => {
  const C = 257;
  // keep chunk i iff the first byte of its hash is even: about half the chunks, chosen at random
  const kept = Array.from({ length: C }, (_, i) => (sha256(encodeCanonical(['kept', i]))[0]! & 1) === 0);
  let answerable = 0;
  for (let c = 1; c < C; c++) if (kept[c - 1] && kept[c]) answerable++;
  const q = answerable / (C - 1);
  for (const k of [1, 2, 4]) {
    const N = 4000;
    let pass = 0;
    for (let s = 0; s < N; s++) if (deriveChallenge(CHAIN, seedOf(s), 3, 1, ROOT, C, { k, popSamples: 0, popWindow: 1 }).chunks.every((c) => kept[c - 1] && kept[c])) pass++;
    const want = N * q ** k;
    const sigma = Math.sqrt(N * q ** k * (1 - q ** k));
    assert.ok(Math.abs(pass - want) < 4 * sigma, `k=${k}: ${pass} passes, expected ${want.toFixed(1)} ± ${sigma.toFixed(1)}`);
    assert.is(pass, ({ 1: 964, 2: 220, 4: 21 } as Record<number, unknown>)[k], `k=${k}: the count over the fixed seed set is a vector`);
  }
  assert.ok(q > 0.15 && q < 0.35, `q = ${q}`);
});

test('PoP heights come from the window before the epoch start, skip empty blocks, and pairs index a real tx', () => {
  const txCount = (h: number) => h % 3; // heights ≡ 0 mod 3 are empty
  for (let off = 0; off < 16; off++) {
    const h = popHeight(100, 16, off, txCount)!;
    assert.ok(h >= 84 && h < 100 && txCount(h) > 0, `offset ${off} → ${h}`);
  }
  assert.is(popHeight(100, 16, 0, txCount), 85, '84 is empty, skipped forward');
  assert.is(popHeight(100, 16, 15, txCount), 85, '99 is empty, wraps to the window start');
  assert.is(popHeight(100, 16, 3, () => 0), null, 'an all-empty window asks nothing');
  assert.is(popHeight(1, 16, 3, txCount), null, 'no block before the first epoch');
  assert.ok(popHeight(5, 16, 9, txCount)! < 5, 'a window cut at genesis stays below the start');
  const ch = deriveChallenge(CHAIN, seedOf(9), 10, 0, ROOT, 100, P);
  for (const pr of popPairs(ch, 100, P.popWindow, txCount)) assert.ok(pr.txIndex < txCount(pr.height));
  assert.is(popPairs(ch, 100, P.popWindow, () => 0).length, 0);
  assert.is(answerDeadline(100, P), 100 + P.deadlineBlocks);
});

test.run();
