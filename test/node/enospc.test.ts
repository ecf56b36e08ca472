// test-timeout-s: 240
// A validator whose data directory is a small tmpfs that fills up under load (ENOSPC): it stops at
// once with exit 74 and says ENOSPC in its log (nothing is voted or acknowledged that is not on
// disk); the other three go on committing; once space is freed it restarts, recovers and ends on
// the same chain, nothing anyone reported committed lost. Needs root (mount); skipped otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../../src/cli/cluster/localnet.ts';
import { EXIT_PERSIST_FAILED } from '../../src/node/fs-fault.ts';
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

test('ENOSPC on a full tmpfs: the node exits 74 saying why, the others go on; with space freed it recovers', async () => {
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
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 200, 40, [0, 1, 2]);
  await waitUntil(async () => net!.exits.some((e) => e.index === victim && !e.expected), 90_000, 'the victim to stop on a full disk');
  const exit = net.exits.find((e) => e.index === victim && !e.expected)!;
  assert.is(exit.code, EXIT_PERSIST_FAILED);
  assert.match(readFileSync(net.logPath(victim), 'utf8'), /cannot persist; stopping .*ENOSPC/);
  const before = Math.max(...(await heights(net, [0, 1, 2])));
  await waitUntil(async () => Math.max(...(await heights(net!, [0, 1, 2]))) > before + 5, 30_000, 'the other three to keep committing');
  say('enospc', `v${victim} stopped with exit ${exit.code}; the others went on past height ${before + 5}`);

  execFileSync('mount', ['-o', 'remount,size=256m', dir]);
  net.start(victim);
  await net.waitFor({ which: [victim], minHeight: 1, timeoutMs: 60_000 });
  await finishScenario(net, flood, witness, 'enospc');
  assert.is(net.exits.filter((e) => !e.expected).length, 1, 'only the full disk stopped a node');
  passed = true;
});

test.run();
