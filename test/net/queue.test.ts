import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutboundQueue } from '../../src/net/outbound-queue.ts';
import { RecentIdWindow, RecentKeySet } from '../../src/net/dedup.ts';
import { backoffDelay } from '../../src/net/backoff.ts';
import { MsgType } from '../../src/net/messages.ts';

const G = MsgType.TXGOSSIP;
const V = MsgType.VOTE;
const frame = (n: number) => new Uint8Array(n);

function q(over: Partial<ConstructorParameters<typeof OutboundQueue>[0]> = {}) {
  return new OutboundQueue({ maxCount: 4, maxBytes: 1000, maxAttempts: 3, ackTimeoutMs: 100, ...over });
}

test('overflow drops the oldest best-effort message before any critical one', () => {
  const oq = q();
  assert.equal(oq.enqueue(V, 1, frame(10)), []);
  oq.enqueue(G, 0, frame(10));
  oq.enqueue(V, 2, frame(10));
  oq.enqueue(G, 0, frame(11));
  const d1 = oq.enqueue(V, 3, frame(10));
  assert.is(d1.length, 1);
  assert.is(d1[0].entry.type, G);
  assert.is(d1[0].entry.frame.byteLength, 10, 'the older gossip went first');
  const d2 = oq.enqueue(V, 4, frame(10));
  assert.is(d2[0].entry.type, G);
  const d3 = oq.enqueue(V, 5, frame(10));
  assert.is(d3[0].entry.id, 1, 'only then the oldest critical one');
  assert.is(d3[0].reason, 'overflow');
  assert.is(oq.count, 4);
  const order: number[] = [];
  for (let e = oq.take(0); e; e = oq.take(0)) order.push(e.id);
  assert.equal(order, [2, 3, 4, 5], 'dropped entries are never written');
});

test('the byte bound holds as well as the count bound', () => {
  const oq = q({ maxCount: 1000, maxBytes: 100 });
  for (let i = 0; i < 50; i++) oq.enqueue(G, 0, frame(30));
  assert.ok(oq.bytes <= 100);
  assert.is(oq.count, 3);
});

test('a gossip flood while disconnected keeps the queue bounded', () => {
  const oq = q({ maxCount: 100, maxBytes: 1 << 20 });
  let dropped = 0;
  for (let i = 0; i < 100_000; i++) dropped += oq.enqueue(G, 0, frame(8)).length;
  assert.is(dropped, 100_000 - 100);
  assert.is(oq.count, 100);
  assert.is(oq.ready, 100);
});

test('critical messages are rewritten after the ACK timeout, at most maxAttempts times', () => {
  const oq = q();
  oq.enqueue(V, 7, frame(10));
  const e = oq.take(0)!;
  assert.is(e.attempts, 1);
  assert.equal(oq.dueRetries(50), { requeued: [], gaveUp: [] }, 'not yet due');
  assert.is(oq.dueRetries(100).requeued.length, 1);
  assert.is(oq.dueRetries(150).requeued.length, 0, 'already queued: not queued twice');
  assert.is(oq.take(150)!.attempts, 2);
  oq.dueRetries(250);
  assert.is(oq.take(250)!.attempts, 3);
  const r = oq.dueRetries(350);
  assert.is(r.gaveUp.length, 1);
  assert.is(r.gaveUp[0].reason, 'retries_exhausted');
  assert.is(oq.count, 0);
  assert.is(oq.take(400), undefined);
});

test('an ACK removes the entry, even one queued for a retry', () => {
  const oq = q();
  oq.enqueue(V, 1, frame(10));
  oq.take(0);
  oq.dueRetries(100);
  assert.ok(oq.ack(1));
  assert.is(oq.ack(1), undefined, 'second ACK is a no-op');
  assert.is(oq.take(100), undefined, 'acked entry is not rewritten');
  assert.is(oq.bytes, 0);
});

test('on reconnect every unacked critical entry goes first, in id order, then waiting gossip', () => {
  const oq = q({ maxCount: 10 });
  oq.enqueue(V, 1, frame(1));
  oq.enqueue(V, 2, frame(1));
  oq.take(0);
  oq.take(0); // both written to a connection that then died
  oq.enqueue(G, 0, frame(1));
  oq.enqueue(V, 3, frame(1));
  oq.onConnect();
  const order: number[] = [];
  for (let e = oq.take(1); e; e = oq.take(1)) order.push(e.id);
  assert.equal(order, [1, 2, 3, 0]);
});

test('id window: duplicates are recognised; forgotten ids count as seen', () => {
  const w = new RecentIdWindow(3);
  assert.is(w.admit(5), 'new');
  assert.is(w.admit(5), 'duplicate');
  assert.is(w.admit(1), 'new', 'out-of-order but unseen');
  assert.is(w.admit(6), 'new');
  assert.is(w.admit(7), 'new'); // evicts 5
  assert.is(w.size, 3);
  assert.is(w.admit(5), 'stale');
  assert.is(w.admit(4), 'stale', 'below the forgotten floor');
  assert.is(w.admit(6), 'duplicate');
  assert.is(w.evicted, 1);
});

test('key set forgets oldest first and stays bounded', () => {
  const s = new RecentKeySet(2);
  assert.ok(s.add('a'));
  assert.not.ok(s.add('a'));
  s.add('b');
  s.add('c');
  assert.not.ok(s.has('a'));
  assert.ok(s.has('b') && s.has('c'));
  assert.is(s.size, 2);
});

test('backoff grows, is capped, and stays within [d/2, d]', () => {
  const o = { baseMs: 100, maxMs: 1000 };
  assert.is(backoffDelay(0, o, () => 0), 50);
  assert.is(backoffDelay(0, o, () => 1), 100);
  assert.is(backoffDelay(3, o, () => 1), 800);
  assert.is(backoffDelay(4, o, () => 1), 1000);
  assert.is(backoffDelay(1000, o, () => 0.999), 1000);
  assert.is(backoffDelay(1000, o, () => 0), 500);
});

test.run();
