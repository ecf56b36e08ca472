// test-timeout-s: 240
// A write/fsync error (EIO, injected through the storage layer with NUMCHAIN_FS_FAULT) stops a
// validator at once with exit code 74 and a log line saying why; restarted without the fault it
// recovers and ends on the same chain as the others, nothing it reported committed lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import { EXIT_PERSIST_FAILED, fsFaultFromEnv } from '../../src/node/fs-fault.ts';
import { background, evidence, finishScenario, startLocalnet, waitUntil } from '../cluster/harness.ts';

let net: Localnet | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let passed = false;

test.after(async () => {
  delete process.env.NUMCHAIN_FS_FAULT;
  witness?.stop();
  flood?.stop();
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
});

test('the fault spec fails exactly the n-th write of its kind, and a bad spec is refused', () => {
  const f = fsFaultFromEnv('EIO:log:2');
  f.check('safety');
  f.check('log');
  assert.throws(() => f.check('log'), /EIO: injected log/);
  f.check('log');
  assert.throws(() => fsFaultFromEnv('EIO:log'), /NUMCHAIN_FS_FAULT must be/);
  fsFaultFromEnv('').check('log');
});

test('EIO on the block log: the node exits 74 and says why; restarted without the fault it recovers', async () => {
  net = await startLocalnet();
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 100, 25);
  const victim = 3;
  await net.stop(victim);
  // The child inherits the environment at spawn: only this start of the victim carries the fault.
  process.env.NUMCHAIN_FS_FAULT = 'EIO:log:20';
  net.start(victim);
  delete process.env.NUMCHAIN_FS_FAULT;
  await waitUntil(async () => net!.exits.some((e) => e.index === victim && !e.expected), 60_000, 'the victim to stop on the injected EIO');
  const exit = net.exits.find((e) => e.index === victim && !e.expected)!;
  assert.is(exit.code, EXIT_PERSIST_FAILED);
  assert.match(readFileSync(net.logPath(victim), 'utf8'), /cannot persist; stopping/);

  net.start(victim);
  await net.waitFor({ which: [victim], minHeight: 1, timeoutMs: 60_000 });
  await finishScenario(net, flood, witness, 'eio');
  assert.is(net.exits.filter((e) => !e.expected).length, 1, 'only the injected failure stopped a node');
  passed = true;
});

test.run();
