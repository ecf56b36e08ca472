// FifoMap: bounded, forgets oldest insertions first, updates keep age, deletes free nothing early.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FifoMap } from '../../src/util/fifo-map.ts';

test('keeps at most capacity entries and forgets the oldest first', () => {
  const m = new FifoMap<string, number>(3);
  for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) m.set(k, i);
  assert.is(m.size, 3);
  assert.not.ok(m.has('a'));
  assert.equal([...m.keys()].sort(), ['b', 'c', 'd']);
  assert.is(m.evicted, 1);
});

test('updating a key keeps its age and its slot', () => {
  const m = new FifoMap<string, number>(2);
  m.set('a', 1);
  m.set('b', 2);
  m.set('a', 3);
  assert.is(m.get('a'), 3);
  m.set('c', 4); // evicts the oldest insertion, a
  assert.not.ok(m.has('a'));
  assert.ok(m.has('b') && m.has('c'));
});

test('a deleted then re-added key is not evicted by its old slot', () => {
  const m = new FifoMap<string, number>(3);
  m.set('a', 1);
  m.set('b', 2);
  m.delete('a');
  m.set('c', 3);
  m.set('a', 4); // new slot for a
  m.set('d', 5); // wraps onto a's old slot: must not remove the new a
  assert.is(m.get('a'), 4);
  assert.ok(m.size <= 3);
  for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
  assert.is(m.size, 3);
});

/** Insert and delete `n` fresh object keys, outside the caller's frame (so no local keeps one alive). */
function fillAndDelete(m: FifoMap<object, number>, n: number): WeakRef<object>[] {
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < n; i++) {
    const key = { i };
    refs.push(new WeakRef(key));
    m.set(key, i);
    m.delete(key);
  }
  return refs;
}

test('a deleted key is not kept alive by its slot (a map that deletes most entries does not grow to capacity)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const m = new FifoMap<object, number>(1000);
  const refs = fillAndDelete(m, 100);
  // WeakRefs hold their target until the current job ends.
  await new Promise((r) => setImmediate(r));
  gc();
  assert.is(m.size, 0);
  assert.is(refs.filter((r) => r.deref() !== undefined).length, 0);
});

test('setFresh inserts without a lookup, stays within capacity, and refreshes a key that was present after all', () => {
  const m = new FifoMap<string, number>(3);
  m.setFresh('a', 1);
  m.setFresh('b', 2);
  m.setFresh('c', 3);
  m.setFresh('d', 4); // evicts a, the oldest
  assert.not.ok(m.has('a'));
  m.setFresh('c', 9); // present: takes the next slot (evicting b, now the oldest) and leaves its old one stale
  assert.not.ok(m.has('b'));
  assert.is(m.get('c'), 9);
  assert.is(m.evicted, 2);
  m.setFresh('e', 5); // wraps onto c's stale slot: evicts nothing
  assert.equal([...m.keys()].sort(), ['c', 'd', 'e']);
  assert.is(m.evicted, 2);
  m.setFresh('f', 6); // evicts d, the oldest in place
  assert.equal([...m.keys()].sort(), ['c', 'e', 'f']);
  for (let i = 0; i < 1000; i++) (i % 2 ? m.setFresh : m.set).call(m, `k${i % 7}`, i);
  assert.ok(m.size <= 3);
});

test.run();
