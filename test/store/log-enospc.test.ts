// The block log on a real, tiny tmpfs that fills up: an appendAndSyncNow that hits ENOSPC throws the
// errno error without poisoning the log, leaves the file exactly as it was before the append (no
// torn tail), and the same append succeeds once there is space; reopened, the log has every record
// and nothing to repair. Needs root (mount); skipped otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BlockLog } from '../../src/store/block-log.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import type { LogRecord } from '../../src/util/log-record.ts';
import { tempDir } from './helpers.ts';

function rec(h: number): LogRecord {
  return { h, block: Buffer.alloc(3000, h % 251).toString('base64'), cert: 'Y2VydA==', receipts: [{ ok: true, i: h }], root: 'ab'.repeat(32) };
}

test('ENOSPC in appendAndSyncNow: cut back, not poisoned, the same append succeeds with space', async () => {
  const { dir, cleanup } = await tempDir('log-enospc');
  let mounted = false;
  try {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      mounted = true;
    } catch {
      console.log('  skipped: mounting a tmpfs needs root');
      return;
    }
    const path = join(dir, 'blocks.log');
    const log = await BlockLog.open(path, { logger: silentStoreLogger });
    let h = 0;
    let failed: NodeJS.ErrnoException | null = null;
    for (; h < 1000 && failed === null; ) {
      const batch = [rec(h + 1), rec(h + 2)];
      const sizeBefore = statSync(path).size;
      try {
        log.appendAndSyncNow(batch);
        h += 2;
      } catch (e) {
        failed = e as NodeJS.ErrnoException;
        assert.is(statSync(path).size, sizeBefore, 'the torn append was cut back');
        assert.is(log.lastHeight, h);
        assert.is(log.syncedHeight, h);
        assert.is(log.fullAppendsUndone, 1);
        execFileSync('mount', ['-o', 'remount,size=1m', dir]);
        log.appendAndSyncNow(batch); // the very same append, now with space
        h += 2;
      }
    }
    assert.ok(failed !== null, 'the tmpfs never filled');
    assert.is(failed!.code, 'ENOSPC');
    assert.is(log.lastHeight, h);
    await log.close();
    const again = await BlockLog.open(path, { logger: silentStoreLogger });
    assert.is(again.lastHeight, h);
    assert.is(again.openReport.tornTail, null);
    assert.equal(await again.read(h), rec(h));
    await again.close();
  } finally {
    if (mounted) execFileSync('umount', ['-l', dir]);
    await cleanup();
  }
});

test.run();
