import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLock, dataDirLayout, openDataDir } from '../../src/store/data-dir.ts';
import { StoreError } from '../../src/store/errors.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import { captureLogger, tempDir } from './helpers.ts';

test('openDataDir creates the layout and a pid lock; a second opener is refused until release', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const root = join(dir, 'node0');
    const { layout, lock } = await openDataDir(root, { logger: silentStoreLogger });
    assert.equal(layout, dataDirLayout(root));
    assert.ok((await stat(layout.snapshotsDir)).isDirectory());
    assert.is((await readFile(layout.lockFile, 'utf8')).trim(), String(process.pid));
    try {
      await openDataDir(root, { logger: silentStoreLogger });
      assert.unreachable('second open must fail');
    } catch (e) {
      assert.instance(e, StoreError);
      assert.is((e as StoreError).code, 'dir_locked');
      assert.match((e as Error).message, new RegExp(`process ${process.pid}`));
    }
    await lock.release();
    await lock.release(); // idempotent
    assert.not.ok(existsSync(layout.lockFile));
    const again = await openDataDir(root, { logger: silentStoreLogger });
    await again.lock.release();
  } finally {
    await cleanup();
  }
});

test('a lock left by a dead process, or a garbled one, is taken over with a warning', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const lockFile = join(dir, 'LOCK');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    for (const content of [`${dead}\n`, '', 'garbage']) {
      await writeFile(lockFile, content);
      const cap = captureLogger();
      const lock = await DataDirLock.acquire(lockFile, { logger: cap.logger });
      assert.is((await readFile(lockFile, 'utf8')).trim(), String(process.pid));
      assert.is(cap.warnings.length, 1, `warning for content ${JSON.stringify(content)}`);
      await lock.release();
    }
  } finally {
    await cleanup();
  }
});

test('a lock held by another live pid is respected', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const lockFile = join(dir, 'LOCK');
    await writeFile(lockFile, '4242\n');
    try {
      await DataDirLock.acquire(lockFile, { logger: silentStoreLogger, isAlive: (pid) => pid === 4242 });
      assert.unreachable('must refuse');
    } catch (e) {
      assert.is((e as StoreError).code, 'dir_locked');
      assert.match((e as Error).message, /4242/);
    }
    assert.is(await readFile(lockFile, 'utf8'), '4242\n', 'a live lock is left untouched');
    // release() of a lock that someone else now owns does not delete theirs
    await writeFile(lockFile, '');
    const mine = await DataDirLock.acquire(lockFile, { logger: silentStoreLogger });
    await writeFile(lockFile, '4242\n');
    await mine.release();
    assert.is(await readFile(lockFile, 'utf8'), '4242\n');
  } finally {
    await cleanup();
  }
});

test.run();
