import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialPriorities, ProposerSchedule } from '../../src/consensus/leader.ts';

test('equal powers and zero priorities rotate in index order', () => {
  const s = new ProposerSchedule([1, 1, 1, 1], [0, 0, 0, 0]);
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7].map((i) => s.leaderAt(i)), [0, 1, 2, 3, 0, 1, 2, 3]);
});

test('proposer frequency is proportional to power', () => {
  const powers = [1, 2, 3, 4];
  const s = new ProposerSchedule(powers, [0, 0, 0, 0]);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 1000; i++) counts[s.leaderAt(i)]!++;
  assert.equal(counts, [100, 200, 300, 400]);
});

test('a heavy validator does not starve the others', () => {
  const s = new ProposerSchedule([100, 1, 1], [0, 0, 0]);
  const seen = new Set<number>();
  for (let i = 0; i < 102; i++) seen.add(s.leaderAt(i));
  assert.equal([...seen].sort(), [0, 1, 2]);
});

test('random access equals sequential computation and is deterministic', () => {
  const powers = [3, 1, 4, 1, 5, 9, 2];
  const init = initialPriorities(new Uint8Array(32).fill(7), powers);
  const seq = new ProposerSchedule(powers, init, 16);
  const expected = Array.from({ length: 2000 }, (_, i) => seq.leaderAt(i));
  const rand = new ProposerSchedule(powers, init, 16);
  for (const i of [1999, 3, 700, 700, 0, 1500, 17, 16, 15, 1024]) assert.is(rand.leaderAt(i), expected[i], `step ${i}`);
  const other = new ProposerSchedule(powers, initialPriorities(new Uint8Array(32).fill(7), powers), 256);
  assert.equal(Array.from({ length: 2000 }, (_, i) => other.leaderAt(i)), expected);
});

test('the seed changes who goes first but not long-run shares', () => {
  const powers = [1, 1, 1, 1, 1];
  const firsts = new Set<number>();
  for (let k = 0; k < 20; k++) {
    const s = new ProposerSchedule(powers, initialPriorities(new Uint8Array(32).fill(k), powers));
    firsts.add(s.leaderAt(0));
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 500; i++) counts[s.leaderAt(i)]!++;
    assert.equal(counts, [100, 100, 100, 100, 100]);
  }
  assert.ok(firsts.size > 1);
});

test.run();
