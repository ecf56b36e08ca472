import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QueueWatchdog, type QueueReading } from '../../src/node/queue-watchdog.ts';

function harness(stallMs = 5000) {
  const q: { waiting: number; completed: number } = { waiting: 0, completed: 0 };
  const seen = { gauge: [] as number[], stalls: 0, warns: [] as Record<string, unknown>[], infos: [] as Record<string, unknown>[] };
  const dog = new QueueWatchdog(
    (): QueueReading => ({ ...q }),
    {
      stalledSeconds: (s) => seen.gauge.push(s),
      stall: () => seen.stalls++,
      warn: (_m, f) => seen.warns.push(f),
      info: (_m, f) => seen.infos.push(f),
    },
    () => ({ storageFull: null }),
    stallMs,
  );
  return { q, seen, dog };
}

test('a queue that stands still while inputs wait is reported once, with the gauge rising, and again when it moves', () => {
  const { q, seen, dog } = harness();
  dog.check(0);
  q.waiting = 3;
  for (let t = 1000; t <= 8000; t += 1000) dog.check(t);
  assert.is(seen.stalls, 1);
  assert.is(seen.warns.length, 1);
  assert.is(seen.warns[0]!.waiting, 3);
  assert.is(seen.warns[0]!.stalledMs, 5000);
  assert.ok('storageFull' in seen.warns[0]!, 'the log line says what may hold the queue');
  assert.is(seen.gauge.at(-1), 8);
  q.completed = 1;
  dog.check(9000);
  assert.is(seen.infos.length, 1);
  assert.is(seen.gauge.at(-1), 0);
  assert.is(dog.stalls, 1);
});

test('an idle queue (nothing waiting) and a busy one that keeps finishing inputs are never stalls', () => {
  const { q, seen, dog } = harness();
  for (let t = 0; t <= 60_000; t += 1000) dog.check(t);
  q.waiting = 100;
  for (let t = 61_000; t <= 120_000; t += 1000) {
    q.completed++;
    dog.check(t);
  }
  assert.is(seen.stalls, 0);
  assert.ok(seen.gauge.every((g) => g === 0));
});

test('each separate stall counts once', () => {
  const { q, seen, dog } = harness(2000);
  q.waiting = 1;
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 4; k++) dog.check(round * 10_000 + k * 1000);
    q.completed++;
    dog.check(round * 10_000 + 5000);
  }
  assert.is(seen.stalls, 3);
  assert.is(seen.infos.length, 3);
});

test.run();
