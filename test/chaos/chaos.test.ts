// test-timeout-s: 180
// A short real `numchain chaos` run (seed 9: one validator's links slowed by 174 ms, a pause, a 2/2
// partition) must end with every process gone and zero violations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../../src/cli/cluster/localnet.ts';

let child: ChildProcess | null = null;
const out = mkdtempSync(join(tmpdir(), 'numchain-chaos-test-'));

test.after(async () => {
  // SIGINT makes the run heal and stop its validators; SIGKILL it if it does not exit.
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 10_000));
    child.kill('SIGKILL');
  }
  rmSync(out, { recursive: true, force: true });
});

test('a 30 s chaos run on real processes finds no violation', async () => {
  child = spawn(process.execPath, [BIN, 'chaos', '--seed', '9', '--duration', '30', '--rate', '150', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  const code = await new Promise<number | null>((r) => child!.once('close', (c) => r(c)));
  process.stdout.write(text.split('\n').map((l) => `  ${l}`).join('\n') + '\n');
  assert.is(code, 0, `chaos exited ${code}`);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { faultsTotal: number; faults: Record<string, number>; chainTxs: number; observedTxs: number; violationsTotal: number };
  assert.is(s.violationsTotal, 0);
  assert.is(s.faultsTotal, 3);
  assert.is(s.faults.slow, 1);
  assert.is(s.faults.partition, 1);
  assert.is(s.faults.pause, 1);
  assert.ok(s.chainTxs > 0 && s.observedTxs > 0, 'the run checked no transactions');
  assert.ok(existsSync(join(out, 'schedule.txt')));
  assert.equal(livePids(out), [], 'processes of the run are still alive');
});

/** Validators or floods still running from this run's directory (their command line names it). */
function livePids(dir: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) found.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

test.run();
