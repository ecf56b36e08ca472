// What every node checks of a commit and an answer (docs/poc-pop.md, "What every node checks"): an
// honest answer passes (on time or late by its inclusion height); a refusal (anyone could have made
// the bytes) is told apart from a wrong answer (signed by the validator, wrong on content); every
// content check catches its own tampering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256 } from '../../src/crypto/sha256.ts';
import { signEd25519 } from '../../src/crypto/ed25519.ts';
import { maxAnswerBytes } from '../../src/poc/params.ts';
import { verifyAnswer, verifyCommit, type AnswerContext } from '../../src/poc/verify.ts';
import { decodeAnswer, decodeCommit, encodeCommitBody, encodeSigned, wireLimits, type PocAnswer } from '../../src/poc/wire.ts';
import { CHAIN, context, honestAnswer, keys, makeReplica, P, ROW_VALUES, sign, signedCommit } from './fixture.ts';

const LIM = wireLimits(P, 256, ROW_VALUES, maxAnswerBytes(P, 256, ROW_VALUES));
const r0 = makeReplica(0, 100);
const r1 = makeReplica(1, 50, 4);
const ctx = context({ commitments: [r0.commitment, r1.commitment] });
const check = (body: PocAnswer, c: AnswerContext = ctx, signer = body.validator) => verifyAnswer(decodeAnswer(sign(body, signer), LIM), c);

test('commit: accepted when signed by the validator it names, within the capacity bounds', () => {
  const pk = (v: number) => keys[v]?.publicKey ?? null;
  assert.equal(verifyCommit(decodeCommit(signedCommit(0, r0)), CHAIN, pk, P), { ok: true });
  assert.equal(verifyCommit(decodeCommit(signedCommit(0, r0)), 'other', pk, P), { ok: false, reason: 'bad_chain_id' });
  assert.equal(verifyCommit(decodeCommit(signedCommit(0, r0, 1)), CHAIN, pk, P), { ok: false, reason: 'foreign_key' });
  assert.equal(verifyCommit(decodeCommit(signedCommit(7, r0, 1)), CHAIN, pk, P), { ok: false, reason: 'foreign_key' });
  const big = encodeCommitBody({ chainId: CHAIN, validator: 0, commitNonce: 0, chunks: P.maxChunks + 1, root: r0.root });
  assert.equal(verifyCommit(decodeCommit(encodeSigned(big, signEd25519(big, keys[0]!.secretKey))), CHAIN, pk, P), { ok: false, reason: 'bad_chunks' });
  const small = encodeCommitBody({ chainId: CHAIN, validator: 0, commitNonce: 0, chunks: P.minChunks - 1, root: r0.root });
  assert.equal(verifyCommit(decodeCommit(encodeSigned(small, signEd25519(small, keys[0]!.secretKey))), CHAIN, pk, P), { ok: false, reason: 'bad_chunks' });
});

test('an honest answer verifies, on time up to epoch start + D and late after', () => {
  const a = honestAnswer(0, r0, ctx);
  assert.is(a.chunks.length, P.k);
  assert.is(a.pop.length, P.popSamples);
  assert.equal(check(a), { kind: 'ontime' });
  assert.equal(check(a, { ...ctx, height: ctx.epochStart + P.deadlineBlocks }), { kind: 'ontime' });
  assert.equal(check(a, { ...ctx, height: ctx.epochStart + P.deadlineBlocks + 1 }), { kind: 'late' });
  assert.equal(check(honestAnswer(1, r1, ctx)), { kind: 'ontime' }, 'a second validator with another nonce and size');
  // every epoch draws another challenge, and the honest answer of each passes
  for (let e = 3; e < 8; e++) {
    const c = context({ commitments: [r0.commitment], epoch: e });
    assert.equal(check(honestAnswer(0, r0, c), c), { kind: 'ontime' }, `epoch ${e}`);
  }
  assert.ok(decodeAnswer(sign(a, 0), LIM).id.length === 32);
});

test('refusals, checked in the documented order, change nothing', () => {
  const a = honestAnswer(0, r0, ctx);
  assert.equal(check({ ...a, chainId: 'other' }), { kind: 'refused', reason: 'bad_chain_id' });
  assert.equal(check(a, ctx, 1), { kind: 'refused', reason: 'foreign_key' }, 'signed by another validator');
  assert.equal(check({ ...a, validator: 9 }, ctx, 0), { kind: 'refused', reason: 'foreign_key' }, 'no such validator');
  assert.equal(check({ ...a, validator: 2 }, ctx, 2), { kind: 'refused', reason: 'no_commitment' });
  assert.equal(check({ ...a, root: sha256(a.root) }), { kind: 'refused', reason: 'stale_root' });
  assert.equal(check({ ...a, epoch: 3 }), { kind: 'refused', reason: 'wrong_epoch' });
  assert.equal(check(a, { ...ctx, answered: (v) => v === 0 }), { kind: 'refused', reason: 'replayed' });
  assert.equal(check({ ...a, chunks: a.chunks.slice(1) }), { kind: 'refused', reason: 'bad_count' });
  assert.equal(check({ ...a, pop: a.pop.slice(1) }), { kind: 'refused', reason: 'bad_count' });
});

test('wrong answers: each content check catches its own tampering', () => {
  const a = honestAnswer(0, r0, ctx);
  const j = 2;
  const withChunk = (f: (o: PocAnswer['chunks'][number]) => PocAnswer['chunks'][number]) => ({ ...a, chunks: a.chunks.map((o, i) => (i === j ? f(o) : o)) });
  const withPop = (f: (o: PocAnswer['pop'][number]) => PocAnswer['pop'][number], at = 0) => ({ ...a, pop: a.pop.map((o, i) => (i === at ? f(o) : o)) });
  const flip = (b: Uint8Array) => {
    const c = b.slice();
    c[5]! ^= 0x80;
    return c;
  };
  assert.equal(check(withChunk((o) => ({ ...o, chunk: o.chunk.subarray(0, 32) }))), { kind: 'wrong', fault: 'chunk_length', item: j });
  assert.equal(check(withChunk((o) => ({ ...o, chunk: flip(o.chunk) }))), { kind: 'wrong', fault: 'chunk_path', item: j });
  assert.equal(check(withChunk((o) => ({ ...o, prevPath: o.path }))), { kind: 'wrong', fault: 'chunk_path', item: j });
  // a replica from another key, committed under that replica's own root, fails the encoding check
  const foreign = makeReplica(1, 100);
  const c2 = context({ commitments: [foreign.commitment] });
  assert.equal(check(honestAnswer(0, foreign, c2), c2), { kind: 'wrong', fault: 'encoding', item: 0 });
  // a replica whose chunk links are broken (a cheap one): caught at the first challenged broken link
  const cheap = makeReplica(0, 100);
  const broken = { ...cheap, chunks: cheap.chunks.map((c, i) => (i % 2 ? sha256(c).slice() : c)) };
  const c3 = context({ commitments: [makeReplica(0, 100).commitment] });
  const v3 = check(honestAnswer(0, broken, c3), c3);
  assert.ok(v3.kind === 'wrong', JSON.stringify(v3));
  // PoP
  const otherPair = (o: PocAnswer['pop'][number]) => ({ ...o, txIndex: o.txIndex + 1 });
  assert.equal(check(withPop(otherPair)), { kind: 'wrong', fault: 'pop_pair', item: 0 });
  assert.equal(check(withPop((o) => ({ ...o, tx: flip(o.tx) }))), { kind: 'wrong', fault: 'tx_path', item: 0 });
  assert.equal(check(withPop((o) => ({ ...o, row: { ...o.row, slot: (o.row.slot + 1) % 4, index: o.row.index + 1 } }))), { kind: 'wrong', fault: 'tx_target', item: 0 });
  assert.equal(check(withPop((o) => ({ ...o, row: { ...o.row, values: o.row.values.map((x) => x + 1) } }))), { kind: 'wrong', fault: 'row_proof', item: 0 });
  assert.throws(() => check(a, { ...ctx, block: (h) => (h === a.pop[0]!.height ? null : ctx.block(h)) }), /not available/, 'a node without a window block is a caller bug, not a verdict');
  // A transaction the chain cannot execute writes no row: its place in the block is the whole proof.
  assert.equal(check(a, { ...ctx, targetOf: () => null }).kind, 'ontime');
  assert.equal(check(withPop((o) => ({ ...o, tx: flip(o.tx) })), { ...ctx, targetOf: () => null }), { kind: 'wrong', fault: 'tx_path', item: 0 });
});

test('PoP off (popSamples 0): only chunks are asked', () => {
  const p0 = { ...P, popSamples: 0 };
  const c = { ...ctx, params: p0 };
  const a = honestAnswer(0, r0, ctx);
  assert.equal(check({ ...a, pop: [] }, c), { kind: 'ontime' });
  assert.equal(check(a, c), { kind: 'refused', reason: 'bad_count' });
});

test.run();
