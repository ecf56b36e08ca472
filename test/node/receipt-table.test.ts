import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptTable } from '../../src/node/receipt-table.ts';
import type { Receipt } from '../../src/chain/receipts.ts';

// A deterministic generator so a failure names the step that broke.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const hex = (r: () => number, n: number): string => Array.from({ length: n }, () => (r() >>> 24).toString(16).padStart(2, '0')).join('');

test('matches a plain bounded map over random inserts, overwrites and evictions (colliding txids included)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = rng(seed);
    const cap = 1 + (r() % 40);
    const table = new ReceiptTable(cap, r() | 0);
    const model = new Map<string, Receipt>(); // insertion order = age
    // Half the pool shares the bytes the hash reads (one long probe run), half is random (runs that
    // meet by chance in a table this small), so evictions must repair runs of both kinds.
    const pool = Array.from({ length: cap * 3 }, (_, i) => (i % 2 ? 'ab'.repeat(4) + hex(r, 24) + 'cd'.repeat(4) : hex(r, 32)));
    let evicted = 0;
    for (let step = 0; step < 3000; step++) {
      const txid = pool[r() % pool.length]!;
      const rec: Receipt =
        r() % 2 === 0
          ? { txid, height: r() % 1000, index: r() % 50, status: 'applied', row: r() % 4096, leaf: hex(r, 32) }
          : { txid, height: r() % 1000, index: r() % 50, status: 'rejected', reason: ['replayed', 'expired', 'bad_signature'][r() % 3]!, field: ['txid', 'validUntil', 'signature'][r() % 3]! };
      table.putUnlessApplied(rec as Receipt & { txid: string });
      const had = model.get(txid);
      if (had === undefined) {
        if (model.size === cap) {
          model.delete(model.keys().next().value!);
          evicted++;
        }
        model.set(txid, rec);
      } else if (had.status !== 'applied') model.set(txid, rec); // Map.set on a present key keeps its place
      assert.is(table.size, model.size, `seed ${seed} step ${step}: size`);
      assert.is(table.evicted, evicted, `seed ${seed} step ${step}: evicted`);
      for (const id of pool) assert.equal(table.get(id), model.get(id) ?? null, `seed ${seed} step ${step}: ${id}`);
    }
  }
});

test('keys come back in the executor receipt order, so GET /tx JSON is byte-identical', () => {
  const table = new ReceiptTable(4, 7);
  const a: Receipt = { txid: '11'.repeat(32), height: 9, index: 3, status: 'applied', row: 42, leaf: 'fe'.repeat(32) };
  const j: Receipt = { txid: '22'.repeat(32), height: 9, index: 4, status: 'rejected', reason: 'expired', field: 'validUntil' };
  table.putUnlessApplied(a as Receipt & { txid: string });
  table.putUnlessApplied(j as Receipt & { txid: string });
  assert.is(JSON.stringify(table.get(a.txid!)), JSON.stringify(a));
  assert.is(JSON.stringify(table.get(j.txid!)), JSON.stringify(j));
});

test('a txid that is not 64 lowercase hex digits is never found, and is refused on insert', () => {
  const table = new ReceiptTable(4, 7);
  assert.is(table.get('AB'.repeat(32)), null);
  assert.is(table.get('not hex'), null);
  assert.throws(() => table.putUnlessApplied({ txid: 'x', height: 1, index: 0, status: 'rejected', reason: 'r', field: 'f' }), /invariant/);
});

test.run();
