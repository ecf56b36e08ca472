import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplayIndex, ReplayError, checkWindow } from '../../src/chain/replay.ts';
import { encodeCanonical, decodeCanonical, type Canon } from '../../src/codec/canonical.ts';

const id = (n: number) => n.toString(16).padStart(64, '0');

test('window: h ≤ validUntil ≤ h + W', () => {
  assert.is(checkWindow(10, 10, 5), null);
  assert.is(checkWindow(15, 10, 5), null);
  assert.is(checkWindow(9, 10, 5)?.code, 'expired');
  assert.is(checkWindow(16, 10, 5)?.code, 'too_far_ahead');
});

test('a committed txid is refused while its window is open, and the window refuses it after', () => {
  const r = new ReplayIndex({ window: 5, maxEntries: 100 });
  r.add([{ txidHex: id(1), validUntil: 12 }]);
  r.prune(11);
  assert.is(r.check(id(1), 12, 11)?.code, 'replayed');
  assert.is(r.check(id(2), 12, 11), null);
  r.prune(13); // entry can go: at heights ≥ 13, validUntil 12 is expired anyway
  assert.not.ok(r.has(id(1)));
  assert.is(r.check(id(1), 12, 13)?.code, 'expired');
  assert.is(r.pruned, 1);
});

test('bounded: entries are dropped as they expire, and overfilling is a typed error', () => {
  const r = new ReplayIndex({ window: 2, maxEntries: 6 });
  for (let h = 1; h <= 50; h++) {
    r.add([{ txidHex: id(2 * h), validUntil: h + 2 }, { txidHex: id(2 * h + 1), validUntil: h }]);
    r.prune(h + 1);
    assert.ok(r.size <= 6);
  }
  const full = new ReplayIndex({ window: 2, maxEntries: 1 });
  full.add([{ txidHex: id(1), validUntil: 3 }]);
  assert.throws(() => full.add([{ txidHex: id(2), validUntil: 3 }]), (e: unknown) => e instanceof ReplayError && e.code === 'index_full');
});

test('export is deterministic regardless of insertion order, and import restores it', () => {
  const a = new ReplayIndex({ window: 10, maxEntries: 100 });
  const b = new ReplayIndex({ window: 10, maxEntries: 100 });
  const entries = [5, 3, 9, 1].map((n) => ({ txidHex: id(n), validUntil: 10 + (n % 2) }));
  a.add(entries);
  b.add([...entries].reverse());
  assert.equal(encodeCanonical(a.export()), encodeCanonical(b.export()));
  const c = new ReplayIndex({ window: 10, maxEntries: 100 });
  c.import(decodeCanonical(encodeCanonical(a.export())));
  assert.ok(c.has(id(9)));
  assert.is(c.check(id(3), 11, 5)?.code, 'replayed');
  assert.throws(() => c.import([0, [['XYZ', 1]]]), (e: unknown) => e instanceof ReplayError && e.field === 'replay.entries[0].txid');
  assert.throws(() => c.import('nope'), (e: unknown) => e instanceof ReplayError && e.code === 'bad_snapshot');
});

test('import reads the first snapshot format (one [txid, validUntil] pair per entry) into the same index', () => {
  const a = new ReplayIndex({ window: 10, maxEntries: 100 });
  a.add([7, 2, 9, 4].map((n) => ({ txidHex: id(n), validUntil: 10 + (n % 3) })));
  const old = new ReplayIndex({ window: 10, maxEntries: 100 });
  old.import([3, [[id(9), 10], [id(2), 12], [id(7), 11], [id(4), 11]]]);
  assert.equal(encodeCanonical(old.export()), encodeCanonical([3, (a.export() as Canon[])[1]!]));
  assert.is(old.check(id(4), 11, 5)?.code, 'replayed');
});

test('import refuses malformed buckets, naming the field', () => {
  const r = new ReplayIndex({ window: 10, maxEntries: 3 });
  const refuses = (data: Canon, field: string) =>
    assert.throws(() => r.import(data), (e: unknown) => e instanceof ReplayError && e.code === 'bad_snapshot' && e.field === field, field);
  refuses([5, [[4, id(1)]]], 'replay.entries[0].validUntil'); // below prunedBelow
  refuses([5, [[7, id(1)], [6, id(2)]]], 'replay.entries[1].validUntil'); // out of order
  refuses([5, [[7, id(1)], [7, id(2)]]], 'replay.entries[1].validUntil'); // twice
  refuses([5, [[7, id(1).slice(1)]]], 'replay.entries[0].txids'); // not a multiple of 64
  refuses([5, [[7, id(1).toUpperCase().replace(/0/g, 'F')]]], 'replay.entries[0].txids'); // not lowercase hex
  refuses([5, [[7, '']]], 'replay.entries[0].txids');
  refuses([5, [[7, id(1) + id(2)], [8, id(3) + id(4)]]], 'replay.entries'); // 4 entries > maxEntries 3
  refuses([5, [[7]]], 'replay.entries[0]');
  r.import([5, [[7, id(1) + id(2)], [8, id(3)]]]);
  assert.is(r.size, 3);
  assert.is(r.check(id(2), 7, 6)?.code, 'replayed');
});

test('an import replaces what the previous export remembered, even for a bucket of the same size', () => {
  const r = new ReplayIndex({ window: 50, maxEntries: 100 });
  r.add([{ txidHex: id(1), validUntil: 10 }, { txidHex: id(2), validUntil: 10 }]);
  assert.equal(r.export(), [0, [[10, id(1) + id(2)]]]);
  r.import([0, [[10, id(9) + id(8)]]]);
  assert.equal(r.export(), [0, [[10, id(8) + id(9)]]]);
  r.add([{ txidHex: id(3), validUntil: 10 }]);
  assert.equal(r.export(), [0, [[10, id(3) + id(8) + id(9)]]]);
});

test('export equals the definition (entries sorted by validUntil, then txid, one bucket per validUntil) through adds, prunes and imports', () => {
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const r = new ReplayIndex({ window: 50, maxEntries: 100_000 });
  const model = new Map<string, number>();
  let below = 0;
  // All entries sorted by validUntil, then txid; those sharing a validUntil become one [validUntil, ids joined] bucket.
  const definition = (): Canon => {
    const sorted = [...model.entries()].filter(([, v]) => v >= below).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const buckets: [number, string][] = [];
    for (const [txid, v] of sorted) {
      const last = buckets[buckets.length - 1];
      if (last && last[0] === v) last[1] += txid;
      else buckets.push([v, txid]);
    }
    return [below, buckets];
  };
  for (let h = 1; h <= 120; h++) {
    const batch = Array.from({ length: rnd(40) }, () => ({ txidHex: id(rnd(5000)), validUntil: h + rnd(51) }));
    r.add(batch);
    for (const e of batch) if (!model.has(e.txidHex) && e.validUntil >= below) model.set(e.txidHex, e.validUntil);
    if (h % 3 === 0) {
      r.prune(h);
      below = h;
      for (const [k, v] of model) if (v < below) model.delete(k);
    }
    // Often enough that buckets grow between exports (the export reuses unchanged buckets' strings).
    if (h % 2 === 0) {
      assert.equal(encodeCanonical(r.export()), encodeCanonical(definition()), `height ${h}`);
      const copy = new ReplayIndex({ window: 50, maxEntries: 100_000 });
      copy.import(decodeCanonical(encodeCanonical(r.export())));
      assert.equal(encodeCanonical(copy.export()), encodeCanonical(definition()));
    }
  }
  assert.ok(model.size > 100, 'the index held a real number of entries');
});

test.run();
