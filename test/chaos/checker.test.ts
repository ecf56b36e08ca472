// The chaos checker on fabricated histories: it must pass a clean one and name each kind of
// violation in a broken one, or a clean real run would prove nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkHistory, countByKind, type HeightRow, type Observation } from '../../src/cli/chaos/checker.ts';
import { makeSchedule, partitionSides, FAULT_KINDS } from '../../src/cli/chaos/schedule.ts';

const row = (height: number, txids: string[], hash = `h${height}`, root = `r${height}`, nodes = 4): HeightRow => ({
  height,
  hashes: Array(nodes).fill(hash),
  stateRoots: Array(nodes).fill(root),
  txids,
});
const chain = (): HeightRow[] => [row(1, ['a', 'b']), row(2, ['c']), row(3, ['d', 'e'])];
const seen = (): Observation[] => [
  { txid: 'a', node: 0, height: 1, index: 0 },
  { txid: 'c', node: 1, height: 2, index: 0 },
  { txid: 'e', node: 2, height: 3, index: 1 },
];
const ok = { resumeMs: 500, resumeBoundMs: 30_000 };

test('a consistent history has no violations', () => {
  const r = checkHistory({ observed: seen(), rows: chain(), ...ok });
  assert.equal(r.violations, []);
  assert.is(r.checkedHeight, 3);
  assert.is(r.chainTxs, 5);
  assert.is(r.observedTxs, 3);
});

test('a transaction committed twice is a duplicate', () => {
  const rows = chain();
  rows[2] = row(3, ['d', 'e', 'a']);
  assert.equal(countByKind(checkHistory({ observed: seen(), rows, ...ok }).violations), { duplicate: 1 });
});

test('a transaction seen committed but missing from the chain is lost', () => {
  const rows = chain();
  rows[1] = row(2, []);
  const r = checkHistory({ observed: seen(), rows, ...ok });
  assert.equal(countByKind(r.violations), { lost: 1 });
  assert.match(r.violations[0]!.detail, /^c: node 1 reported it at 2\/0/);
});

test('seen above the checked height proves nothing, so it is not lost', () => {
  const r = checkHistory({ observed: [...seen(), { txid: 'z', node: 3, height: 4, index: 0 }], rows: chain(), ...ok });
  assert.equal(r.violations, []);
});

test('a transaction now at another position has moved', () => {
  const rows = chain();
  rows[2] = row(3, ['e', 'd']); // e was seen at 3/1
  assert.equal(countByKind(checkHistory({ observed: seen(), rows, ...ok }).violations), { moved: 1 });
});

test('two nodes reporting one transaction at different positions conflict', () => {
  const obs = [...seen(), { txid: 'a', node: 3, height: 2, index: 1 }];
  assert.equal(countByKind(checkHistory({ observed: obs, rows: chain(), ...ok }).violations), { conflict: 1 });
});

test('a different block hash, state root, or a missing block on one node is divergent', () => {
  const rows = chain();
  rows[0] = { ...rows[0]!, hashes: ['h1', 'h1', 'X', 'h1'] };
  rows[1] = { ...rows[1]!, stateRoots: ['r2', 'r2', 'r2', 'Y'] };
  rows[2] = { ...rows[2]!, hashes: ['h3', null, 'h3', 'h3'] };
  assert.equal(countByKind(checkHistory({ observed: seen(), rows, ...ok }).violations), { divergent: 3 });
});

test('commits that never resume, or resume late, are a stall', () => {
  assert.equal(countByKind(checkHistory({ observed: [], rows: chain(), resumeMs: null, resumeBoundMs: 1000 }).violations), { stalled: 1 });
  assert.equal(countByKind(checkHistory({ observed: [], rows: chain(), resumeMs: 1001, resumeBoundMs: 1000 }).violations), { stalled: 1 });
});

test('the schedule is a function of the seed, never overlaps and stays in the duration', () => {
  const a = makeSchedule({ seed: 7, durationMs: 600_000, nodes: 4 });
  assert.equal(a, makeSchedule({ seed: 7, durationMs: 600_000, nodes: 4 }));
  assert.not.equal(a, makeSchedule({ seed: 8, durationMs: 600_000, nodes: 4 }));
  for (let k = 1; k < a.length; k++) assert.ok(a[k]!.atMs > a[k - 1]!.atMs + a[k - 1]!.holdMs, `fault ${k} overlaps the one before`);
  for (const f of a) {
    assert.ok(f.atMs + f.holdMs <= 600_000);
    assert.ok(f.nodes.every((n) => n >= 0 && n < 4));
    assert.is(new Set(f.nodes).size, f.nodes.length);
    if (f.kind === 'partition') assert.ok(f.nodes.length === 1 || f.nodes.length === 2);
    else assert.is(f.nodes.length, f.kind === 'two-down' ? 2 : 1);
    if (f.kind === 'slow') assert.ok(f.delayMs! >= 50 && f.delayMs! <= 200, `slow delay ${f.delayMs}`);
    else assert.is(f.delayMs, undefined);
  }
  assert.equal(new Set(a.map((f) => f.kind)), new Set(FAULT_KINDS));
  // Both shapes of partition are drawn: one validator cut off, and a 2/2 split.
  const parts = a.filter((f) => f.kind === 'partition');
  assert.ok(parts.some((f) => f.nodes.length === 1) && parts.some((f) => f.nodes.length === 2));
  assert.equal(partitionSides({ atMs: 0, kind: 'partition', nodes: [1, 3], holdMs: 1 }, 4), [[1, 3], [0, 2]]);
  assert.equal(partitionSides({ atMs: 0, kind: 'partition', nodes: [2], holdMs: 1 }, 4), [[2], [0, 1, 3]]);
});

test.run();
