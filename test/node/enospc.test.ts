// test-timeout-s: 240
// A validator whose data directory is a small tmpfs that fills up under load (ENOSPC): it stays up
// but pauses (nothing is voted, proposed or acknowledged that is not on disk), says so once in its
// log, in /health (ok: false, with the reason) and in numchain_storage_full; the other three go on
// committing; once space is freed (the tmpfs remounted bigger) the same process resumes, /health is
// ok again, and it ends on the same chain, nothing anyone reported committed lost. Needs root
// (mount); skipped otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../../src/cli/cluster/localnet.ts';
import type { HealthJson } from '../../src/rpc/api.ts';
import { background, evidence, finishScenario, heights, say, waitUntil } from '../cluster/harness.ts';

let net: Localnet | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let mounted: string | null = null;
let passed = false;
const root = mkdtempSync(join(tmpdir(), 'numchain-enospc-'));

test.after(async () => {
  witness?.stop();
  flood?.stop();
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
  // The mount goes first: the data dir cannot be removed while a file system is mounted in it.
  if (mounted !== null) execFileSync('umount', ['-l', mounted]);
  rmSync(root, { recursive: true, force: true });
});

test('ENOSPC on a full tmpfs: the node pauses saying why in /health, the others go on; with space freed the same process resumes', async () => {
  net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 500, dataDir: root, keep: true });
  const victim = 3;
  const dir = net.nodeDir(victim);
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    mounted = dir;
  } catch {
    console.log('  skipped: mounting a tmpfs needs root');
    passed = true;
    return;
  }
  net.startAll();
  await net.waitFor({ minHeight: 2, timeoutMs: 60_000 });
  const pid = net.pid(victim);
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 200, 45, [0, 1, 2]);
  let full: HealthJson | null = null;
  await waitUntil(async () => {
    const h = await net!.health(victim);
    if (h !== null && h.ok === false) full = h;
    return full !== null;
  }, 90_000, 'the victim to report a full disk in /health');
  assert.match(String(full!.reason), /^disk full \(ENOSPC\) writing (log|block|safety); paused, retrying$/);
  // Files the node removes (pruned pending blocks, a failed snapshot's temporary file) can give a
  // little space back, and the node then goes on until the next full write. Take what is left with
  // a filler file, so the disk stays full until the test frees it.
  const filler = join(dir, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    /* dd stops with ENOSPC: that is the point */
  }
  await waitUntil(async () => (await net!.health(victim))?.ok === false, 30_000, 'the victim to be paused on the full disk');
  full = await net.health(victim);
  assert.ok(full !== null && full.ok === false);
  assert.is(net.exits.filter((e) => !e.expected).length, 0, 'a full disk must not stop the process');
  assert.match(await metricsText(net.rpcUrls[victim]!), /^numchain_storage_full(\{[^}]*\})? 1$/m);
  const pausedAt = full!.height;
  const before = Math.max(...(await heights(net, [0, 1, 2])));
  await waitUntil(async () => Math.max(...(await heights(net!, [0, 1, 2]))) > before + 5, 30_000, 'the other three to keep committing');
  const still = await net.health(victim);
  assert.ok(still !== null && still.ok === false && still.height === pausedAt, `the paused node moved: ${JSON.stringify(still)}`);
  say('enospc', `v${victim} paused at height ${pausedAt}: ${full!.reason}; the others went on past height ${before + 5}`);
  // The queue stands still behind the held write while peers' messages wait: the watchdog says so.
  await waitUntil(async () => /^numchain_consensus_queue_stalls_total(\{[^}]*\})? [1-9]/m.test(await (await fetch(`${net!.rpcUrls[victim]}/metrics`)).text()), 20_000, 'the queue watchdog to report the stall');

  // Free space: delete the filler, and grow the tmpfs so the rest of the run does not fill it again.
  execFileSync('mount', ['-o', 'remount,size=256m', dir]);
  rmSync(filler);
  await waitUntil(async () => (await net!.health(victim))?.ok === true, 30_000, 'the victim to resume once space is freed');
  await waitUntil(async () => (await heights(net!, [victim]))[0]! > before + 5, 60_000, 'the victim to catch up');
  assert.is(net.pid(victim), pid, 'the same process resumed');
  assert.match(await metricsText(net.rpcUrls[victim]!), /^numchain_storage_full(\{[^}]*\})? 0$/m);
  await finishScenario(net, flood, witness, 'enospc');
  const log = readFileSync(net.logPath(victim), 'utf8');
  assert.ok((log.match(/disk full: paused/g) ?? []).length >= 1, 'the pause is logged');
  assert.match(log, /disk full: paused.*op="?(log|block|safety)"?.*code="?ENOSPC/);
  assert.match(log, /disk space available again: write succeeded, resuming/);
  assert.match(log, /consensus queue stalled: no input finished while inputs wait.*storageFull="?disk full/);
  assert.match(log, /consensus queue moving again/);
  assert.is(net.exits.filter((e) => !e.expected).length, 0, 'no process stopped');
  passed = true;
});

/** The node's storage_full lines of /metrics (the gauge's HELP, TYPE and value). */
async function metricsText(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  const text = await r.text();
  const lines = text.split('\n').filter((l) => l.includes('storage_full'));
  say('enospc', `GET /metrics ${r.status}: ${lines.join(' | ') || text.slice(0, 200)}`);
  return lines.join('\n');
}

test.run();
