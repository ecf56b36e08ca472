import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BlockLog } from '../../src/store/block-log.ts';
import { dataDirLayout, openDataDir } from '../../src/store/data-dir.ts';
import { captureLogger, payloadFor, tempDir } from './helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/append-loop.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const MAX_PAYLOAD = 100_000;

interface ChildRun {
  acked: number[];
  exitSignal: NodeJS.Signals | null;
  exitCode: number | null;
  stderr: string;
}

/** Run the fixture; SIGKILL it `killAfterMs` after its first acknowledged height (or let it exit). */
function runChild(dataDir: string, mode: string, killAfterMs: number | null): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, mode, String(MAX_PAYLOAD)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let pending = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000); // never hang the suite
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const m = /^ok (\d+)$/.exec(line);
        if (!m) continue;
        acked.push(Number(m[1]));
        if (killAfterMs !== null && timer === null) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      resolve({ acked, exitSignal: signal, exitCode: code, stderr });
    });
  });
}

test('after kill -9 at a random moment, every acknowledged height is in the log, intact', async () => {
  const { dir, cleanup } = await tempDir('kill9');
  try {
    let everAcked = 0;
    let tornTails = 0;
    for (let round = 0; round < 3; round++) {
      const run = await runChild(dir, 'loop', Math.floor(Math.random() * 250));
      assert.is(run.exitSignal, 'SIGKILL', `child should have been killed; stderr: ${run.stderr}`);
      assert.ok(run.acked.length > 0, `child acknowledged nothing; stderr: ${run.stderr}`);
      everAcked = Math.max(everAcked, ...run.acked);
      assert.ok(existsSync(dataDirLayout(dir).lockFile), 'kill -9 leaves LOCK (and a dead socket) behind');

      // the parent takes over the dead child's lock and recovers the log
      const cap = captureLogger();
      const { layout, lock } = await openDataDir(dir, { logger: cap.logger });
      assert.is(cap.warnings.filter((w) => w.msg.includes('took over')).length, 1, 'one warning for the dead holder');
      const log = await BlockLog.open(layout.blockLog, { logger: cap.logger });
      if (log.openReport.tornTail) tornTails++;
      assert.ok(log.lastHeight >= everAcked, `acknowledged height ${everAcked} lost: log ends at ${log.lastHeight}`);
      let expect = 1;
      for await (const r of log.readRange(1)) {
        assert.is(r.h, expect);
        assert.is(r.block, payloadFor(expect, MAX_PAYLOAD), `record ${expect} content`);
        expect++;
      }
      assert.is(expect - 1, log.lastHeight);
      await log.close();
      await lock.release();
    }
    // Informational only: whether a kill lands mid-write is luck.
    console.log(`  kill9: ${everAcked} heights acknowledged over 3 kills, ${tornTails} torn tail(s) cut`);
  } finally {
    await cleanup();
  }
});

test('a child that exits normally without releasing leaves no lock behind', async () => {
  const { dir, cleanup } = await tempDir('exit');
  try {
    const run = await runChild(dir, 'exit-after=5', null);
    assert.is(run.exitCode, 0, run.stderr);
    assert.is(Math.max(...run.acked), 5);
    assert.not.ok(existsSync(dataDirLayout(dir).lockFile));
    assert.equal(readdirSync(dataDirLayout(dir).lockDir), [], 'nor its socket');
  } finally {
    await cleanup();
  }
});

test.run();
