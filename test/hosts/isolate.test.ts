// One validator cut off from the other three for 10 s by nft rules in its namespace (clients still
// reach it), under a flood to all four: the three keep committing, the isolated one commits nothing
// new; healed, it catches up, and every node holds the same chain with nothing lost or doubled.
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

test('one validator isolated for 10 s: the other three commit; healed, it catches up', async () => {
  if (skipReason('isolate')) return;
  run = await startHosts();
  const net = run.net;
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = net.flood({ rate: 300, durationS: 24, senders: 32, drainS: 10 });
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  const victim = 3;
  const others = [0, 1, 2];
  await witness.sample([victim]);
  net.isolate(victim);
  const t0 = Date.now();
  const [victimAt] = await heights(net, [victim]);
  const othersAt = Math.max(...(await heights(net, others)));
  await sleep(10_000);
  const [victimAfter] = await heights(net, [victim]);
  const othersAfter = Math.min(...(await heights(net, others)));
  say('isolate', `${net.hosts[victim]!.name} isolated ${Date.now() - t0} ms: it went ${victimAt} → ${victimAfter}, the others ${othersAt} → ${othersAfter}`);
  assert.ok(othersAfter >= othersAt + 10, `the three kept committing (${othersAt} → ${othersAfter})`);
  // What it had already received may still land; nothing beyond the others' height at the cut.
  assert.ok(victimAfter <= othersAt + 1, `the isolated validator committed on its own (${victimAt} → ${victimAfter}, others were at ${othersAt})`);

  net.heal();
  const target = Math.max(...(await heights(net, others)));
  const ms = await waitUntil(async () => (await heights(net, [victim]))[0]! >= target, 60_000, `${net.hosts[victim]!.name} to reach ${target}`);
  say('isolate', `healed: ${net.hosts[victim]!.name} caught up to ${target} in ${ms} ms`);

  const { summary, txs } = await finishScenario(net, flood, witness, 'isolate');
  assert.ok(summary.committed > 0, 'the flood committed transactions');
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  passed = true;
});

test('the run leaves no namespace, link or nft rule behind', async () => {
  if (!run || !passed) return;
  await run.close();
});

test.run();
