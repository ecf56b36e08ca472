import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockLog } from '../../src/store/block-log.ts';
import { LOG_JSON, type LogRecord } from '../../src/util/log-record.ts';
import { StoreError } from '../../src/store/errors.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import { captureLogger, logLine, tempDir } from './helpers.ts';

const quiet = { logger: silentStoreLogger };

function rec(h: number, extra = ''): LogRecord {
  return { h, block: Buffer.from(`block-${h}${extra}`).toString('base64'), cert: 'Y2VydA==', receipts: [{ ok: true, i: h }], root: 'ab'.repeat(32) };
}

async function expectStoreError(p: Promise<unknown>, code: string): Promise<StoreError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, StoreError, `expected StoreError ${code}, got ${String(e)}`);
    assert.is((e as StoreError).code, code, (e as Error).message);
    return e as StoreError;
  }
  assert.unreachable(`expected StoreError ${code}`);
  throw new Error('unreachable');
}

async function writeLog(path: string, n: number): Promise<number[]> {
  const log = await BlockLog.open(path, quiet);
  for (let h = 1; h <= n; h++) await log.append([rec(h)]);
  await log.close();
  const offsets: number[] = [];
  let off = 0;
  for (let h = 1; h <= n; h++) {
    offsets.push(off);
    off += logLine(rec(h)).length;
  }
  return offsets;
}

test('append, sync, read and reopen round-trip records exactly', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    assert.is(log.openReport.created, true);
    assert.is(log.lastHeight, 0);
    await log.appendAndSync([rec(1), rec(2), rec(3)]);
    await log.append([rec(4)]);
    await log.sync();
    assert.is(log.lastHeight, 4);
    assert.is(log.syncedHeight, 4);
    assert.equal(await log.read(2), rec(2));
    assert.equal(await log.read(2), rec(2)); // from cache, a fresh copy
    const mutated = await log.read(3);
    (mutated as unknown as { block: string }).block = 'changed';
    assert.equal(await log.read(3), rec(3));
    await log.close();

    // the file is exactly the documented line format
    const expected = Buffer.concat([1, 2, 3, 4].map((h) => logLine(rec(h))));
    assert.ok((await readFile(path)).equals(expected));

    const again = await BlockLog.open(path, quiet);
    assert.is(again.openReport.created, false);
    assert.is(again.openReport.tornTail, null);
    assert.is(again.lastHeight, 4);
    const all: LogRecord[] = [];
    for await (const r of again.readRange(1)) all.push(r);
    assert.equal(all, [rec(1), rec(2), rec(3), rec(4)]);
    await again.appendAndSync([rec(5)]);
    assert.equal(await again.read(5), rec(5));
    await again.close();
  } finally {
    await cleanup();
  }
});

test('appendAndSyncNow: synced when it returns, the same lines as append + sync, refused while async appends are in flight', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    log.appendAndSyncNow([rec(1), rec(2)]);
    assert.is(log.lastHeight, 2);
    assert.is(log.syncedHeight, 2, 'durable on return');
    assert.equal(await log.read(2), rec(2));
    const pending = log.append([rec(3)]);
    assert.throws(() => log.appendAndSyncNow([rec(4)]), (e: unknown) => e instanceof StoreError && e.code === 'bad_record');
    await pending;
    await log.sync();
    log.appendAndSyncNow([rec(4)]);
    assert.throws(() => log.appendAndSyncNow([rec(9)]), (e: unknown) => e instanceof StoreError && e.code === 'height_gap');
    await log.close();
    assert.is((await readFile(path, 'utf8')), [1, 2, 3, 4].map((h) => logLine(rec(h))).join(''));
    const again = await BlockLog.open(path, quiet);
    assert.is(again.lastHeight, 4);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('concurrent appendAndSync callers share fsyncs and all become durable', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.appendAndSync([rec(i + 1)])));
    assert.is(log.syncedHeight, 40);
    assert.ok(log.stats().syncs < 40, `expected group commit, got ${log.stats().syncs} fsyncs`);
    await log.close();
    const again = await BlockLog.open(path, quiet);
    assert.is(again.lastHeight, 40);
    assert.equal(await again.read(17), rec(17));
    await again.close();
  } finally {
    await cleanup();
  }
});

test('records with h not first, or with integer-like keys, survive a reopen', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    await log.appendAndSync([{ block: 'x', h: 1 }, { '0': 'digit key first', h: 2 }, { h: 3 }]);
    await log.close();
    const again = await BlockLog.open(path, quiet);
    assert.is(again.lastHeight, 3);
    assert.equal(await again.read(1), { h: 1, block: 'x' });
    assert.equal(await again.read(2), { '0': 'digit key first', h: 2 });
    await again.close();
  } finally {
    await cleanup();
  }
});

test('a half-written last line is cut, reported and logged; earlier records stay', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    await writeLog(path, 5);
    const goodSize = (await stat(path)).size;
    const torn = logLine(rec(6));
    await appendFile(path, torn.subarray(0, Math.floor(torn.length / 2)));

    const cap = captureLogger();
    const log = await BlockLog.open(path, { logger: cap.logger });
    assert.is(log.lastHeight, 5);
    const t = log.openReport.tornTail;
    assert.ok(t);
    assert.is(t!.offset, goodSize);
    assert.is(t!.line, 6);
    assert.is(t!.linesCut, 1);
    assert.is(t!.bytesCut, Math.floor(torn.length / 2));
    assert.is(cap.warnings.length, 1);
    assert.match(cap.warnings[0]!.msg, /torn tail/);
    assert.is((await stat(path)).size, goodSize);
    for (let h = 1; h <= 5; h++) assert.equal(await log.read(h), rec(h));
    // the log continues cleanly at the cut
    await log.appendAndSync([rec(6)]);
    await log.close();
    const again = await BlockLog.open(path, quiet);
    assert.is(again.openReport.tornTail, null);
    assert.is(again.lastHeight, 6);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('torn tails of other shapes are cut: bad checksum with LF, zero fill, partial group write', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const cases: [string, (l: Buffer) => Buffer, number][] = [
      ['complete line with a flipped byte', (l) => { const c = Buffer.from(l); c[20] ^= 0x01; return c; }, 1],
      ['zeros where the data should be', (l) => Buffer.alloc(l.length), 1],
      ['first line of a group garbled, second partial', (l) => { const c = Buffer.from(l); c[12] ^= 0x10; return Buffer.concat([c, logLine(rec(7)).subarray(0, 10)]); }, 2],
    ];
    for (const [name, tear, linesCut] of cases) {
      const path = join(dir, `${name.replace(/\W+/g, '_')}.log`);
      await writeLog(path, 5);
      const goodSize = (await stat(path)).size;
      await appendFile(path, tear(logLine(rec(6))));
      const log = await BlockLog.open(path, quiet);
      assert.is(log.lastHeight, 5, name);
      assert.is(log.openReport.tornTail?.offset, goodSize, name);
      assert.is(log.openReport.tornTail?.linesCut, linesCut, name);
      assert.is((await stat(path)).size, goodSize, name);
      await log.close();
    }
  } finally {
    await cleanup();
  }
});

test('a corrupt line followed by good lines fails open, naming its byte offset and line', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const offsets = await writeLog(path, 10);
    const bytes = await readFile(path);
    bytes[offsets[2]! + 30] ^= 0x04; // inside line 3's JSON
    await writeFile(path, bytes);
    const err = await expectStoreError(BlockLog.open(path, quiet), 'log_corrupt');
    assert.is(err.offset, offsets[2]);
    assert.is(err.line, 3);
    assert.match(err.message, new RegExp(`byte offset ${offsets[2]}\\b`));
    assert.match(err.message, /line 3\b/);
    assert.ok((await readFile(path)).equals(bytes), 'open must not modify a corrupt log');
  } finally {
    await cleanup();
  }
});

test('gaps and repeats in heights are rejected at open and at append', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const gap = join(dir, 'gap.log');
    await writeFile(gap, Buffer.concat([logLine(rec(1)), logLine(rec(2)), logLine(rec(4))]));
    const e1 = await expectStoreError(BlockLog.open(gap, quiet), 'height_gap');
    assert.is(e1.line, 3);
    assert.is(e1.offset, logLine(rec(1)).length + logLine(rec(2)).length);

    const repeat = join(dir, 'repeat.log');
    await writeFile(repeat, Buffer.concat([logLine(rec(1)), logLine(rec(2)), logLine(rec(2))]));
    await expectStoreError(BlockLog.open(repeat, quiet), 'height_repeat');

    const notFromOne = join(dir, 'from2.log');
    await writeFile(notFromOne, logLine(rec(2)));
    await expectStoreError(BlockLog.open(notFromOne, quiet), 'height_gap');

    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    await log.appendAndSync([rec(1)]);
    await expectStoreError(log.append([rec(3)]), 'height_gap');
    await expectStoreError(log.append([rec(1)]), 'height_repeat');
    // a bad record anywhere in a batch rejects the whole batch
    await expectStoreError(log.append([rec(2), rec(4)]), 'height_gap');
    assert.is(log.lastHeight, 1);
    await log.appendAndSync([rec(2)]);
    await log.close();
    const again = await BlockLog.open(path, quiet);
    assert.is(again.lastHeight, 2);
    await again.close();
  } finally {
    await cleanup();
  }
});

test('bad records and out-of-range reads give typed errors', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const log = await BlockLog.open(join(dir, 'blocks.log'), { ...quiet, maxLineBytes: 1024 });
    await expectStoreError(log.append([{ h: 1, big: 10n } as unknown as LogRecord]), 'bad_record');
    await expectStoreError(log.append([{ h: 1.5 } as LogRecord]), 'bad_record');
    await expectStoreError(log.append([null as unknown as LogRecord]), 'bad_record');
    const e = await expectStoreError(log.append([{ h: 1, blob: 'x'.repeat(2000) }]), 'line_too_large');
    assert.match(e.message, /records\[0\]/);
    assert.is(log.lastHeight, 0);
    await log.appendAndSync([rec(1)]);
    await expectStoreError(log.read(0), 'out_of_range');
    await expectStoreError(log.read(2), 'out_of_range');
    await expectStoreError(log.readRange(1, 5).next(), 'out_of_range');
    await log.close();
    await expectStoreError(log.read(1), 'closed');
    await expectStoreError(log.append([rec(2)]), 'closed');
  } finally {
    await cleanup();
  }
});

test('a record carrying its own JSON (LOG_JSON), whole or in parts, is written as that text, and still checked', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    const text = '{"h":1,"note":"written as given"}';
    await log.appendAndSync([{ h: 1, note: 'ignored: the text wins', [LOG_JSON]: text }]);
    assert.equal(await log.read(1), { h: 1, note: 'written as given' });
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: '{"h":3}' }]), 'bad_record');
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: '[2]' }]), 'bad_record');
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: '{"h":2,"a":"\n"}' }]), 'bad_record');
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: ['{"h":2,"a":"', 'x\ny', '"}'] }]), 'bad_record');
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: ['{"h":3,"a":"', 'x', '"}'] }]), 'bad_record');
    await expectStoreError(log.append([{ h: 2, [LOG_JSON]: [] }]), 'bad_record');
    await log.appendAndSync([{ h: 2, [LOG_JSON]: ['{"h":2,"a":"', 'written in parts', '"}'] }]);
    assert.equal(await log.read(2), { h: 2, a: 'written in parts' });
    await log.close();
    assert.equal(await readFile(path, 'utf8'), Buffer.concat([logLine({ h: 1, note: 'written as given' }), logLine({ h: 2, a: 'written in parts' })]).toString('utf8'));
  } finally {
    await cleanup();
  }
});

test('over-long lines: at the end they are a torn tail, in the middle they are corruption', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const opts = { ...quiet, maxLineBytes: 256, scanChunkBytes: 64 };
    const junk = Buffer.alloc(1000, 0x61);
    const atEnd = join(dir, 'end.log');
    await writeFile(atEnd, Buffer.concat([logLine(rec(1)), junk]));
    const log = await BlockLog.open(atEnd, opts);
    assert.is(log.lastHeight, 1);
    assert.is(log.openReport.tornTail?.offset, logLine(rec(1)).length);
    await log.close();

    const middle = join(dir, 'middle.log');
    await writeFile(middle, Buffer.concat([logLine(rec(1)), junk, Buffer.from('\n'), logLine(rec(2))]));
    const e = await expectStoreError(BlockLog.open(middle, opts), 'log_corrupt');
    assert.is(e.offset, logLine(rec(1)).length);
    assert.is(e.line, 2);
  } finally {
    await cleanup();
  }
});

test('scanning with a tiny read buffer handles lines that straddle and exceed it', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    const recs = Array.from({ length: 30 }, (_, i) => rec(i + 1, 'y'.repeat((i * 37) % 300)));
    await log.appendAndSync(recs);
    await log.close();
    const small = await BlockLog.open(path, { ...quiet, scanChunkBytes: 64, rangeBatchBytes: 200 });
    assert.is(small.lastHeight, 30);
    const got: LogRecord[] = [];
    for await (const r of small.readRange(3, 27)) got.push(r);
    assert.equal(got, recs.slice(2, 27));
    assert.equal(await small.read(30), recs[29]);
    await small.close();
  } finally {
    await cleanup();
  }
});

test('read re-verifies the checksum and reports damage that appeared after open', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const offsets = await writeLog(path, 4);
    const log = await BlockLog.open(path, { ...quiet, cacheEntries: 0 });
    const bytes = await readFile(path);
    bytes[offsets[1]! + 25] ^= 0x02;
    await writeFile(path, bytes);
    const e = await expectStoreError(log.read(2), 'log_corrupt');
    assert.is(e.offset, offsets[1]);
    assert.equal(await log.read(3), rec(3));
    await expectStoreError((async () => { for await (const _ of log.readRange(1, 4)); })(), 'log_corrupt');
    await log.close();
  } finally {
    await cleanup();
  }
});

test('a failed write poisons the log: later appends and syncs refuse, restart recovers', async () => {
  const { dir, cleanup } = await tempDir('log');
  try {
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, quiet);
    await log.appendAndSync([rec(1)]);
    // Simulate an IO failure by pulling the file handle out from under the log.
    await (log as unknown as { fh: { close(): Promise<void> } }).fh.close();
    await expectStoreError(log.append([rec(2)]), 'log_poisoned');
    await expectStoreError(log.sync(), 'log_poisoned');
    await expectStoreError(log.append([rec(2)]), 'log_poisoned');
    const again = await BlockLog.open(path, quiet);
    assert.is(again.lastHeight, 1);
    await again.close();
  } finally {
    await cleanup();
  }
});

test.run();
