// kill -9 one validator of four while a flood runs: the other three keep committing; restarted, it
// catches up and its state root equals the others' at the same height; no receipt lost or doubled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRootsAtCommonHeight, ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import { background, evidence, finishScenario, heights, say, startLocalnet, waitUntil } from './harness.ts';

let net: Localnet | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let passed = false;

test.after(async () => {
  witness?.stop();
  flood?.stop();
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
});

test('kill -9 under load: three keep committing, the restarted one catches up with the same root', async () => {
  net = await startLocalnet();
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  const victim = 3;
  flood = background(net, 150, 25);
  await waitUntil(async () => (await net!.health(0))!.height > 0 && witness!.seen.size > 100, 30_000, 'the first committed transactions');

  await witness.sample([victim]); // what the victim reported just before dying
  await net.kill(victim, 'SIGKILL');
  const survivors = [0, 1, 2];
  const before = Math.max(...(await heights(net, survivors)));
  const waited = await waitUntil(async () => Math.min(...(await heights(net!, survivors))) >= before + 20, 30_000, '20 more blocks on the three survivors');
  say('kill-9', `3 of 4 committed 20 blocks past ${before} in ${waited} ms with validator ${victim} dead`);

  net.start(victim);
  const target = Math.max(...(await heights(net, survivors)));
  const caught = await waitUntil(async () => (await heights(net!, [victim]))[0]! >= target, 60_000, `validator ${victim} to reach height ${target}`);
  say('kill-9', `restarted validator ${victim} reached height ${target} in ${caught} ms`);

  const roots = await compareRootsAtCommonHeight(net.clients);
  assert.ok(roots.agree, `roots differ at height ${roots.height}: ${roots.roots.join(' ')}`);

  const { summary, txs } = await finishScenario(net, flood, witness, 'kill-9');
  assert.ok(summary.committed > 0, 'the flood committed transactions');
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  passed = true;
});

test.run();
