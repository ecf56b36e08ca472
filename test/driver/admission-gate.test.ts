// The admission gate bounds how many transaction batches work at once and how many wait; beyond
// that a batch is refused at once (the node answers 'busy') instead of queueing without limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdmissionGate } from '../../src/driver/admission-gate.ts';

test('at most `slots` holders; waiters get the slot in arrival order; a full queue refuses', async () => {
  const gate = new AdmissionGate(2, 2);
  assert.is(await gate.enter(), true);
  assert.is(await gate.enter(), true);
  const order: number[] = [];
  const w1 = gate.enter().then((ok) => (order.push(1), ok));
  const w2 = gate.enter().then((ok) => (order.push(2), ok));
  assert.is(gate.queued, 2);
  assert.is(await gate.enter(), false, 'a third waiter is refused');
  assert.is(gate.refused, 1);
  await Promise.resolve();
  assert.equal(order, [], 'nobody gets in while both slots are held');
  gate.leave();
  assert.is(await w1, true);
  assert.equal(order, [1]);
  gate.leave();
  assert.is(await w2, true);
  assert.equal(order, [1, 2]);
  // Both slots are held again (by the two waiters); releasing both leaves the gate empty.
  gate.leave();
  gate.leave();
  assert.is(await gate.enter(), true);
  assert.is(await gate.enter(), true);
  const w3 = gate.enter();
  assert.is(gate.queued, 1);
  gate.leave();
  assert.is(await w3, true);
});

test('bad sizes are refused', () => {
  assert.throws(() => new AdmissionGate(0, 1), RangeError);
  assert.throws(() => new AdmissionGate(1, -1), RangeError);
});

test.run();
