// 50 ms one-way latency on every validator-to-validator link (DNAT in each namespace to the relay
// host, which holds every chunk 50 ms each way), under a flood: commits continue; the committed TPS,
// p50/p99 submit-to-commit latency and the relay's own CPU are reported; every node holds the same
// chain with nothing lost or doubled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { evidence, finishScenario, say, waitUntil } from '../cluster/harness.ts';
import { skipReason, startHosts, type HostsRun } from './harness.ts';

const DELAY_MS = 50;
const RATE = 300;
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

test(`${DELAY_MS} ms one-way latency on every link: commits continue; TPS and p50/p99 reported`, async () => {
  if (skipReason('latency')) return;
  run = await startHosts({ relay: { delayMs: DELAY_MS } });
  const net = run.net;
  const before = (await net.relayStats())!;
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = net.flood({ rate: RATE, durationS: 15, senders: 32, drainS: 10 });
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  const { summary, txs } = await finishScenario(net, flood, witness, 'latency');
  const after = (await net.relayStats())!;
  const cpu = after.cpuS - before.cpuS;
  const wall = after.wallS - before.wallS;
  say(
    'latency',
    `${DELAY_MS} ms one-way: committed ${summary.committed}/${summary.sent} at ${summary.committedTps.toFixed(0)} tx/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms; ` +
      `relay: ${after.connections} connections, ${((after.bytes - before.bytes) / 1e6).toFixed(1)} MB, CPU ${((100 * cpu) / wall).toFixed(1)} % of a core, event-loop delay p99 ${after.loopDelayP99Ms.toFixed(1)} ms`,
  );
  assert.ok(after.bytes > before.bytes && after.connections >= 6, 'validator traffic went through the relay');
  assert.ok(summary.committed > 0.9 * summary.sent, `most transactions committed (${summary.committed} of ${summary.sent})`);
  assert.ok(summary.committedTps > 0.5 * RATE, `committed ${summary.committedTps.toFixed(0)} tx/s at ${RATE} offered`);
  // A commit needs at least a proposal, the votes and the next proposal to cross the links.
  assert.ok(summary.latencyMs.p50 >= 3 * DELAY_MS, `p50 ${summary.latencyMs.p50} ms is at least 3 one-way delays: the delay is on the path`);
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  passed = true;
});

test('the run leaves no namespace, link or nft rule behind', async () => {
  if (!run || !passed) return;
  await run.close();
});

test.run();
