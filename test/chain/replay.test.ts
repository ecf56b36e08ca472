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

test('export equals the definition (all entries sorted by validUntil, then txid) through adds, prunes and imports', () => {
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const r = new ReplayIndex({ window: 50, maxEntries: 100_000 });
  const model = new Map<string, number>();
  let below = 0;
  const definition = (): Canon => [below, [...model.entries()].filter(([, v]) => v >= below).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))];
  for (let h = 1; h <= 120; h++) {
    const batch = Array.from({ length: rnd(40) }, () => ({ txidHex: id(rnd(5000)), validUntil: h + rnd(51) }));
    r.add(batch);
    for (const e of batch) if (!model.has(e.txidHex) && e.validUntil >= below) model.set(e.txidHex, e.validUntil);
    if (h % 3 === 0) {
      r.prune(h);
      below = h;
      for (const [k, v] of model) if (v < below) model.delete(k);
    }
    if (h % 10 === 0) {
      assert.equal(encodeCanonical(r.export()), encodeCanonical(definition()), `height ${h}`);
      const copy = new ReplayIndex({ window: 50, maxEntries: 100_000 });
      copy.import(decodeCanonical(encodeCanonical(r.export())));
      assert.equal(encodeCanonical(copy.export()), encodeCanonical(definition()));
    }
  }
  assert.ok(model.size > 100, 'the index held a real number of entries');
});

test.run();
