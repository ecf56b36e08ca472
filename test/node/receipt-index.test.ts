import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptIndex } from '../../src/node/receipt-index.ts';
import type { Receipt } from '../../src/chain/receipts.ts';

const id = (n: number): string => n.toString(16).padStart(64, '0');
const applied = (n: number, height: number): Receipt => ({ txid: id(n), height, index: 0, status: 'applied', row: 1, leaf: 'ab'.repeat(32) });
const rejected = (n: number, height: number, reason = 'replayed'): Receipt => ({ txid: id(n), height, index: 1, status: 'rejected', reason, field: 'txid' });

test('an applied receipt stays when a later block carries the same transaction again', () => {
  const ix = new ReceiptIndex(100, 10);
  ix.add([applied(1, 5)]);
  ix.add([rejected(1, 9)]);
  assert.equal(ix.get(id(1)), applied(1, 5));
});

test('a rejected receipt gives way to a later one: the last word until the transaction is applied', () => {
  const ix = new ReceiptIndex(100, 10);
  ix.add([rejected(2, 3, 'bad_signature')]);
  ix.add([applied(2, 4)]);
  assert.equal(ix.get(id(2)), applied(2, 4));
  ix.add([rejected(3, 3, 'expired'), rejected(3, 6, 'too_far_ahead')]);
  assert.is((ix.get(id(3)) as { reason: string }).reason, 'too_far_ahead');
});

test('bounded: the oldest receipts are forgotten first; receipts without a txid are not indexed', async () => {
  const ix = new ReceiptIndex(3, 10);
  ix.add([applied(1, 1), applied(2, 1), { txid: null, height: 1, index: 2, status: 'rejected', reason: 'malformed', field: 'tx' }]);
  ix.add([applied(3, 2), applied(4, 2)]);
  assert.is(ix.size, 3);
  assert.is(ix.get(id(1)), null);
  assert.ok(ix.get(id(4)));
  assert.is(ix.evicted, 1);
});

test('waiters get the receipt when it is indexed, or null after their timeout', async () => {
  const ix = new ReceiptIndex(10, 10);
  const w = ix.wait(id(7), 5_000);
  const late = ix.wait(id(8), 1);
  ix.add([applied(7, 2)]);
  assert.equal(await w, applied(7, 2));
  assert.is(await late, null);
});

test.run();
