// scripts/run-tests.mjs on fixture files: a passing, a failing, a crashing and a hanging one. The
// hanging file is killed at its own bound (2 s) together with the process it started, and named;
// the last line counts tests across all of them, the crash and the hang as one failure each.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';

/** The state letter of process `pid` (Z: a zombie waiting to be reaped), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

test('each file is run and counted; a crash and a hang count as failures; the hang is killed with its children and named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numchain-run-tests-'));
  const pidFile = join(dir, 'pid');
  try {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'run-tests.mjs')], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, RUN_TESTS_DIR: join(PROJECT_ROOT, 'test', 'scripts', 'fixtures'), FIXTURE_PID_FILE: pidFile },
      timeout: 120_000,
    });
    const lines = r.stdout.trim().split('\n');
    assert.is(lines.at(-1), '3 passed, 3 failed', r.stdout);
    assert.is(lines.filter((l) => /^\d+ passed, \d+ failed$/.test(l)).length, 1, 'exactly one summary line');
    assert.is(r.status, 1);
    assert.match(r.stdout, 'run-tests: hang.test.ts did not finish within 2 s');
    assert.match(r.stdout, /hang\.test\.ts: timed out after 2 s/);
    assert.match(r.stdout, /crash\.test\.ts: ended without a summary \(exit 3\)/);
    assert.match(r.stdout, /fail\.test\.ts: 1 failing/);
    assert.ok(existsSync(pidFile), 'the hanging fixture started its child');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const state = procState(pid);
    assert.ok(state === null || state === 'Z', `the hanging file's child is still running (state ${state})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
