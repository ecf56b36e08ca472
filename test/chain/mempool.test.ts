import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mempool, type MempoolOptions, type PoolTx } from '../../src/chain/mempool.ts';

function tx(sender: string, n: number, opts: { validUntil?: number; size?: number } = {}): PoolTx {
  const bytes = new Uint8Array(opts.size ?? 10).fill(n & 0xff);
  return { txidHex: `${sender}-${n}`, senderHex: sender, validUntil: opts.validUntil ?? 50, bytes };
}
const OPEN: Partial<MempoolOptions> = { senderRate: { perSecond: 1000, burst: 1000 }, txWindow: 100 };
const ids = (m: Mempool, sel: Uint8Array[], all: PoolTx[]) => sel.map((b) => all.find((t) => t.bytes === b)!.txidHex);

test('round-robin across senders, FIFO within a sender', () => {
  const m = new Mempool(OPEN);
  const all = [tx('a', 1), tx('a', 2), tx('a', 3), tx('b', 1), tx('c', 1), tx('c', 2)];
  for (const t of all) assert.ok(m.add(t, 0, 1).ok);
  assert.equal(ids(m, m.select(100, 1e9, 1), all), ['a-1', 'b-1', 'c-1', 'a-2', 'c-2', 'a-3']);
  assert.equal(ids(m, m.select(3, 1e9, 1), all), ['a-1', 'b-1', 'c-1']);
  // select does not remove
  assert.is(m.size, 6);
});

test('a flooding sender cannot crowd out others; served senders go to the back', () => {
  const m = new Mempool(OPEN);
  const all: PoolTx[] = [];
  for (let i = 0; i < 50; i++) all.push(tx('spam', i));
  all.push(tx('x', 1), tx('y', 1), tx('x', 2));
  for (const t of all) assert.ok(m.add(t, 0, 1).ok);
  const first = ids(m, m.select(2, 1e9, 1), all);
  assert.equal(first, ['spam-0', 'x-1']);
  m.removeCommitted(first);
  // y was not served, so it goes first; spam and x keep their relative order behind it.
  assert.equal(ids(m, m.select(4, 1e9, 2), all), ['y-1', 'spam-1', 'x-2', 'spam-2']);
  assert.is(m.counts.removed_committed, 2);
});

test('byte limit: a tx that does not fit is skipped without reordering its sender', () => {
  const m = new Mempool(OPEN);
  const all = [tx('a', 1, { size: 60 }), tx('a', 2, { size: 10 }), tx('b', 1, { size: 30 })];
  for (const t of all) m.add(t, 0, 1);
  assert.equal(ids(m, m.select(10, 50, 1), all), ['b-1']);
});

test('count and byte caps, per-sender queue cap, size cap — each counted by reason', () => {
  const m = new Mempool({ ...OPEN, maxTxs: 3, maxBytes: 1000, maxPerSender: 2, maxTxBytes: 100 });
  assert.ok(m.add(tx('a', 1), 0, 1).ok);
  assert.ok(m.add(tx('a', 2), 0, 1).ok);
  assert.equal(m.add(tx('a', 3), 0, 1), { ok: false, reason: 'sender_queue_full' });
  assert.ok(m.add(tx('b', 1), 0, 1).ok);
  assert.equal(m.add(tx('c', 1), 0, 1), { ok: false, reason: 'mempool_full' });
  assert.equal(m.add(tx('d', 1, { size: 101 }), 0, 1), { ok: false, reason: 'too_large' });
  const byBytes = new Mempool({ ...OPEN, maxBytes: 25 });
  assert.ok(byBytes.add(tx('a', 1), 0, 1).ok);
  assert.ok(byBytes.add(tx('b', 1), 0, 1).ok);
  assert.equal(byBytes.add(tx('c', 1), 0, 1), { ok: false, reason: 'mempool_full' });
  assert.is(byBytes.bytes, 20);
  assert.equal(
    { q: m.counts.sender_queue_full, f: m.counts.mempool_full, l: m.counts.too_large, a: m.counts.accepted },
    { q: 1, f: 1, l: 1, a: 3 },
  );
});

test('duplicates are refused, also after removal, until the LRU forgets them', () => {
  const m = new Mempool({ ...OPEN, seenCacheSize: 2 });
  assert.ok(m.add(tx('a', 1), 0, 1).ok);
  assert.equal(m.add(tx('a', 1), 0, 1), { ok: false, reason: 'duplicate' });
  m.removeCommitted(['a-1']);
  assert.is(m.size, 0);
  assert.equal(m.add(tx('a', 1), 0, 1), { ok: false, reason: 'duplicate' });
  assert.ok(m.add(tx('b', 1), 0, 1).ok);
  assert.ok(m.add(tx('c', 1), 0, 1).ok); // evicts a-1 from the seen set
  assert.not.ok(m.hasSeen('a-1'));
  assert.ok(m.add(tx('a', 1), 0, 1).ok);
  assert.is(m.counts.duplicate, 2);
  assert.ok(m.counts.seen_evicted >= 1);
});

test('per-sender rate: token bucket refills with now; other senders unaffected', () => {
  const m = new Mempool({ ...OPEN, senderRate: { perSecond: 2, burst: 2 } });
  assert.ok(m.add(tx('a', 1), 1000, 1).ok);
  assert.ok(m.add(tx('a', 2), 1000, 1).ok);
  assert.equal(m.add(tx('a', 3), 1000, 1), { ok: false, reason: 'sender_rate' });
  assert.ok(m.add(tx('b', 1), 1000, 1).ok);
  assert.ok(m.add(tx('a', 3), 1500, 1).ok);
  assert.equal(m.add(tx('a', 4), 1500, 1), { ok: false, reason: 'sender_rate' });
  // A rate refusal does not mark the tx as seen: the client may retry it.
  assert.ok(m.add(tx('a', 4), 2000, 1).ok);
  assert.is(m.counts.sender_rate, 2);
});

test('validity window: expired and too-far-ahead refused; select skips, pruneExpired drops', () => {
  const m = new Mempool({ ...OPEN, txWindow: 10 });
  assert.equal(m.add(tx('a', 1, { validUntil: 4 }), 0, 5), { ok: false, reason: 'expired' });
  assert.equal(m.add(tx('a', 2, { validUntil: 16 }), 0, 5), { ok: false, reason: 'too_far_ahead' });
  const all = [tx('a', 3, { validUntil: 5 }), tx('a', 4, { validUntil: 15 }), tx('b', 1, { validUntil: 7 })];
  for (const t of all) assert.ok(m.add(t, 0, 5).ok);
  assert.equal(ids(m, m.select(10, 1e9, 6), all), ['a-4', 'b-1']);
  assert.equal(ids(m, m.select(10, 1e9, 6, (id) => id === 'b-1'), all), ['a-4']);
  m.pruneExpired(8);
  assert.is(m.size, 1);
  assert.is(m.counts.dropped_expired, 2);
  assert.is(m.counts.expired, 1);
  assert.is(m.counts.too_far_ahead, 1);
});

test('pruneExpired drops every expired tx at every height, whatever order they came in and however often it runs', () => {
  let seed = 3;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const m = new Mempool({ ...OPEN, txWindow: 40, maxTxs: 10_000 });
  const model = new Map<string, number>();
  let n = 0;
  for (let h = 1; h <= 200; h++) {
    for (let k = rnd(6); k > 0; k--) {
      const t = tx(`s${rnd(5)}`, n++, { validUntil: h + rnd(41) });
      if (m.add(t, 0, h).ok) model.set(t.txidHex, t.validUntil);
    }
    if (rnd(3) > 0) {
      m.pruneExpired(h + 1);
      for (const [id, v] of model) if (v < h + 1) model.delete(id);
      assert.is(m.size, model.size, `height ${h}`);
      for (const id of model.keys()) assert.ok(m.has(id), `height ${h}: ${id}`);
    }
  }
  assert.ok(m.counts.dropped_expired > 100, 'the run expired a real number of txs');
});

test('precheck then addPrechecked gives what add gives; refuse counts like add', () => {
  const a = new Mempool(OPEN);
  const b = new Mempool(OPEN);
  const t = tx('a', 1);
  assert.is(a.precheck(t, 1), null);
  assert.equal(a.addPrechecked(t, 0), b.add(t, 0, 1));
  assert.ok(a.has('a-1') && a.hasSeen('a-1'));
  const again = a.precheck(t, 1);
  assert.is(again, 'duplicate');
  assert.equal(a.refuse(again!), b.add(t, 0, 1));
  assert.equal(a.counts, b.counts);
});

test('counts map has every reason from the start', () => {
  const m = new Mempool();
  for (const k of ['duplicate', 'mempool_full', 'sender_rate', 'sender_queue_full', 'expired', 'too_large', 'accepted']) {
    assert.is((m.counts as Record<string, number>)[k], 0, k);
  }
});

test.run();
