// Which sync responses a core accepts: only the answer to the latest request sent to that peer. A late
// answer to an earlier or retried request must not use up the newer one (found by simulator seed 1993).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SyncRequests } from '../../src/consensus/catch-up.ts';

const RETRY_MS = 200;

test('a response is accepted once, only from the peer asked and only for the height asked', () => {
  const s = new SyncRequests();
  assert.ok(s.request(1, 'aa', 10, 0, RETRY_MS));
  assert.not.ok(s.answered(2, 10), 'from a peer that was not asked');
  assert.not.ok(s.answered(1, 11), 'starting at another height');
  assert.not.ok(s.answered(1, undefined), 'empty');
  assert.ok(s.answered(1, 10));
  assert.not.ok(s.answered(1, 10), 'a duplicate of an answered request');
});

test('a late answer to an older request leaves the newer request to the same peer outstanding', () => {
  const s = new SyncRequests();
  assert.ok(s.request(1, 'aa', 10, 0, RETRY_MS));
  assert.not.ok(s.request(1, 'aa', 10, RETRY_MS - 1, RETRY_MS), 'the same gap is not asked again before the retry time');
  assert.ok(s.answered(1, 10));
  s.progressed();
  // Next range asked at once, while a retried copy of the first answer is still in flight.
  assert.ok(s.request(1, 'bb', 26, RETRY_MS, RETRY_MS));
  assert.not.ok(s.answered(1, 10), 'the stale copy is unsolicited');
  assert.ok(s.answered(1, 26), 'the answer to the newer request is still accepted');
});

test.run();
