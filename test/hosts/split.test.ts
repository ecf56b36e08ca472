// A 2/2 split by nft rules (v0, v1 | v2, v3) under a flood to all four: neither half has a quorum,
// so no node commits anything and nothing conflicting is ever committed; healed, commits resume
// within seconds, and every node holds the same chain with nothing lost or doubled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { evidence, finishScenario, heights, say, sleep, waitUntil } from '../cluster/harness.ts';
import { skipReason, startHosts, type HostsRun } from './harness.ts';

let run: HostsRun | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let passed = false;

test.after(async () => {
  witness?.stop();
  flood?.stop();
  if (run && !passed) console.log(await evidence(run.net));
  await run?.close();
});

test('a 2/2 split: no commits, none conflicting; healed, commits resume within seconds', async () => {
  if (skipReason('split')) return;
  run = await startHosts();
  const net = run.net;
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = net.flood({ rate: 300, durationS: 22, senders: 32, drainS: 10 });
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  await witness.sample();
  net.split([[0, 1], [2, 3]]);
  await sleep(1500); // a block whose votes were already out may still land
  const halted = await heights(net);
  await sleep(6000);
  const still = await heights(net);
  // A node that lagged may still fetch, from its half, blocks committed before the split; nothing new commits.
  assert.is(Math.max(...still), Math.max(...halted), `no node commits without a quorum (${halted.join(',')} → ${still.join(',')})`);
  say('split', `split v0,v1 | v2,v3: heights ${halted.join(',')} → ${still.join(',')} in 6 s`);

  net.heal();
  const top = Math.max(...halted);
  const ms = await waitUntil(async () => Math.min(...(await heights(net))) > top + 2, 30_000, 'commits to resume on all four');
  say('split', `healed: all four past height ${top + 2} ${ms} ms later`);
  assert.ok(ms < 20_000, `commits resumed ${ms} ms after the heal`);

  const { summary, txs } = await finishScenario(net, flood, witness, 'split');
  assert.ok(summary.committed > 0, 'the flood committed transactions');
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  passed = true;
});

test('the run leaves no namespace, link or nft rule behind', async () => {
  if (!run || !passed) return;
  await run.close();
});

test.run();
