// The commit and answer encodings (docs/poc-pop.md, "Objects"): fixed bytes for a fixed commit, round
// trips, and every decoder refuses malformed, oversized and truncated input with a PocWireError
// (never another exception), including under fast-check mutations of valid encodings.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { sha256, toHex } from '../../src/crypto/sha256.ts';
import { maxAnswerBytes, maxPathLength, parsePocParams, PocParamsError, DEFAULT_POC_PARAMS } from '../../src/poc/params.ts';
import { decodeAnswer, decodeCommit, encodeAnswerBody, encodeCommitBody, encodeSigned, MAX_COMMIT_BYTES, PocWireError, wireLimits, type PocWireErrorCode } from '../../src/poc/wire.ts';
import { fuzz, mutate, mutationArb } from '../fuzz/fuzz.ts';
import { context, honestAnswer, makeReplica, P, ROW_VALUES, sign, signedCommit } from './fixture.ts';

const LIM = wireLimits(P, 256, ROW_VALUES, maxAnswerBytes(P, 256, ROW_VALUES));
const r0 = makeReplica(0, 100);
const ctx = context({ commitments: [r0.commitment] });
const answer = honestAnswer(0, r0, ctx);
const answerBytes = sign(answer, 0);
const commitBytes = signedCommit(0, r0);
const SIG = new Uint8Array(64).fill(9);

function refuses(f: () => unknown, code: PocWireErrorCode, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PocWireError, `${what}: ${String(e)}`);
    assert.is(e.code, code, `${what}: ${e.message}`);
    return;
  }
  assert.unreachable(`${what}: accepted`);
}

test('vector: a fixed commit body has fixed bytes', () => {
  const body = encodeCommitBody({ chainId: 'numchain-vector', validator: 3, commitNonce: 1, chunks: 1024, root: new Uint8Array(32).fill(0xcd) });
  assert.is(toHex(sha256(body)), '9be4693ac48bc23d7c88de891d007f46f15c9ce23a375a222f69d3aaa27dc9be');
  assert.is(toHex(decodeCommit(encodeSigned(body, SIG)).id), toHex(sha256(body)));
});

test('round trips', () => {
  const c = decodeCommit(commitBytes);
  assert.equal(c.body, { chainId: ctx.chainId, validator: 0, commitNonce: 0, chunks: 100, root: r0.root });
  const a = decodeAnswer(answerBytes, LIM);
  assert.equal(encodeAnswerBody(a.body), encodeAnswerBody(answer));
  assert.equal(a.body.pop[0]!.row.values, answer.pop[0]!.row.values);
  assert.ok(answerBytes.length <= LIM.maxBytes, `${answerBytes.length} ≤ ${LIM.maxBytes}`);
});

test('malformed, oversized, wrong-domain and truncated inputs are refused with their code', () => {
  const wrap = (body: Canon) => encodeSigned(encodeCanonical(body), SIG);
  const commitFields = (): Canon[] => ['numchain/poc/commit/v1', 'c', 0, 0, 100, new Uint8Array(32)];
  refuses(() => decodeCommit(new Uint8Array(0)), 'malformed', 'empty');
  refuses(() => decodeCommit(commitBytes.subarray(0, commitBytes.length - 1)), 'malformed', 'truncated commit');
  refuses(() => decodeAnswer(answerBytes.subarray(0, answerBytes.length - 7), LIM), 'malformed', 'truncated answer');
  refuses(() => decodeCommit(new Uint8Array(MAX_COMMIT_BYTES + 1)), 'oversized', 'oversized commit');
  refuses(() => decodeAnswer(new Uint8Array(LIM.maxBytes + 1), LIM), 'oversized', 'oversized answer');
  refuses(() => decodeCommit(encodeCanonical([encodeCanonical(commitFields()), new Uint8Array(63)])), 'malformed', 'short signature');
  refuses(() => decodeCommit(encodeCanonical([encodeCanonical(commitFields())])), 'malformed', 'no signature');
  refuses(() => decodeCommit(wrap(['numchain/poc/answer/v1', 'c', 0, 0, 100, new Uint8Array(32)])), 'bad_domain', 'answer domain on a commit');
  refuses(() => decodeAnswer(commitBytes, LIM), 'bad_domain', 'a commit as an answer');
  refuses(() => decodeCommit(wrap([...commitFields().slice(0, 5), new Uint8Array(31)])), 'malformed', 'short root');
  refuses(() => decodeCommit(wrap([...commitFields(), 1])), 'oversized', 'extra field');
  refuses(() => decodeCommit(wrap(commitFields().slice(0, 5))), 'malformed', 'missing field');
  refuses(() => decodeCommit(wrap(['numchain/poc/commit/v1', 'c', -1, 0, 100, new Uint8Array(32)])), 'malformed', 'negative validator');
  refuses(() => decodeCommit(wrap(['numchain/poc/commit/v1', '', 0, 0, 100, new Uint8Array(32)])), 'malformed', 'empty chain id');
  refuses(() => decodeCommit(wrap(['numchain/poc/commit/v1', 'c', 0, 2 ** 32, 100, new Uint8Array(32)])), 'malformed', 'nonce beyond u32');
  // answers: too many chunk items, a chunk over chunkBytes, a path over the bound, values not int32
  const body = (over: Partial<typeof answer>) => encodeSigned(encodeAnswerBody({ ...answer, ...over }), SIG);
  refuses(() => decodeAnswer(body({ chunks: [...answer.chunks, answer.chunks[0]!] }), LIM), 'oversized', 'k + 1 chunk items');
  refuses(() => decodeAnswer(body({ pop: [...answer.pop, answer.pop[0]!] }), LIM), 'oversized', 'popSamples + 1 items');
  const c0 = answer.chunks[0]!;
  refuses(() => decodeAnswer(body({ chunks: [{ ...c0, chunk: new Uint8Array(P.chunkBytes + 1) }] }), LIM), 'oversized', 'chunk too long');
  refuses(() => decodeAnswer(body({ chunks: [{ ...c0, path: Array.from({ length: LIM.maxPath + 1 }, () => new Uint8Array(32)) }] }), LIM), 'oversized', 'path too long');
  refuses(() => decodeAnswer(body({ chunks: [{ ...c0, path: [new Uint8Array(33)] }] }), LIM), 'oversized', 'hash of 33 bytes');
  refuses(() => decodeAnswer(body({ chunks: [{ ...c0, path: [new Uint8Array(31)] }] }), LIM), 'malformed', 'hash of 31 bytes');
  const raw = (chunks: Canon, pop: Canon) => wrap(['numchain/poc/answer/v1', 'c', 0, 2, new Uint8Array(32), chunks, pop]);
  refuses(() => decodeAnswer(raw([[new Uint8Array(64), [], new Uint8Array(64)]], []), LIM), 'malformed', 'chunk item of 3 fields');
  refuses(() => decodeAnswer(raw([], [[1, 0, new Uint8Array(4), [], [0, 0, 0, 0, 8, new Uint8Array(5), []]]]), LIM), 'malformed', 'row values not a multiple of 4');
  refuses(() => decodeAnswer(raw([], [[1, 0, new Uint8Array(4), [], [0, 0, 0, 0, 8, new Uint8Array(4 * ROW_VALUES + 4), []]]]), LIM), 'oversized', 'row values over D');
  refuses(() => decodeAnswer(raw('x', []), LIM), 'malformed', 'chunks not an array');
  // non-canonical: a small integer in a wider form
  refuses(() => decodeCommit(Uint8Array.from([0x92, 0xc5, 0x00, 0x01, 0x90, 0xc4, 0x40, ...SIG])), 'malformed', 'bin16 header for a 1-byte body');
});

test('params: defaults validate, bad fields are named, maxAnswerBytes bounds an honest answer', () => {
  assert.equal(parsePocParams({}, 100), DEFAULT_POC_PARAMS);
  for (const [bad, field] of [[{ chunkBytes: 100 }, 'poc.chunkBytes'], [{ k: 0 }, 'poc.k'], [{ deadlineBlocks: 100 }, 'poc.deadlineBlocks'], [{ minChunks: 10, maxChunks: 5 }, 'poc.maxChunks'], [{ nope: 1 }, 'poc.nope'], [{ floorPermille: 1.5 }, 'poc.floorPermille']] as const) {
    try {
      parsePocParams(bad, 100);
      assert.unreachable(JSON.stringify(bad));
    } catch (e) {
      assert.ok(e instanceof PocParamsError && e.field === field, `${JSON.stringify(bad)}: ${String(e)}`);
    }
  }
  assert.throws(() => parsePocParams(null, 100), (e: unknown) => e instanceof PocParamsError);
  assert.equal([2, 3, 4, 5, 1 << 24, (1 << 24) + 1].map((m) => maxPathLength({ ...DEFAULT_POC_PARAMS, maxChunks: m })), [1, 2, 2, 3, 24, 25]);
  // defaults at 4 KiB chunks, 2^24 chunks, D = 64 and 1 KiB transactions: under 100 KiB
  const m = maxAnswerBytes(DEFAULT_POC_PARAMS, 1024, 64);
  assert.ok(m > 8 * 2 * 4096 && m < 100 * 1024, String(m));
});

test('fast-check: mutated commits and answers decode or are refused with a PocWireError, nothing else', async () => {
  const total = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof PocWireError)) throw e;
    }
  };
  await fuzz('poc/commit', 1500, fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (m) => total(() => decodeCommit(mutate(commitBytes, m)))));
  await fuzz('poc/answer', 600, fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (m) => total(() => decodeAnswer(mutate(answerBytes, m), LIM))));
  // mutations inside the signed body, re-wrapped so the envelope itself stays well-formed
  const body = encodeAnswerBody(answer);
  await fuzz('poc/answer-body', 600, fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (m) => total(() => decodeAnswer(encodeSigned(mutate(body, m), SIG), LIM))));
  await fuzz('poc/any-bytes', 1000, fc.property(fc.uint8Array({ maxLength: 300 }), (b) => (total(() => decodeCommit(b)), total(() => decodeAnswer(b, LIM)))));
});

test.run();
