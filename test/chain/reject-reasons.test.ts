// One table of refusal codes (src/chain/reject-reasons.ts): every stage answers with a code from
// it, the metric's label values come from it, and the HTTP status of a refusal follows its kind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMPOOL_REJECTIONS } from '../../src/chain/mempool.ts';
import { REJECT_REASONS, rejectKind, TX_REJECTIONS } from '../../src/chain/reject-reasons.ts';
import { statusFor } from '../../src/node/node-api.ts';

test('the HTTP API answers each refusal with the status its clients rely on', () => {
  // The contract of POST /tx (docs, rpc/api.ts): 413 too large, 400 unreadable, 409 conflict, 429 retry, 503 full, 422 the rest.
  const want: Record<string, number> = {
    too_large: 413, malformed: 400, non_canonical: 400, bad_domain: 400, duplicate: 409, replayed: 409,
    busy: 429, sender_rate: 429, sender_queue_full: 429, mempool_full: 503, no_mempool: 503,
  };
  for (const code of REJECT_REASONS) assert.is(statusFor(code), want[code] ?? 422, code);
  assert.is(statusFor('not_a_code'), 422);
});

test('every code a stage can give is in the table, once, and the metric labels keep their order', () => {
  for (const code of MEMPOOL_REJECTIONS) assert.ok(rejectKind(code), code);
  assert.is(new Set(REJECT_REASONS).size, REJECT_REASONS.length);
  assert.equal([...REJECT_REASONS], Object.keys(TX_REJECTIONS));
  assert.is(REJECT_REASONS[0], 'too_large');
  assert.is(REJECT_REASONS.at(-1), 'no_mempool');
});

test.run();
