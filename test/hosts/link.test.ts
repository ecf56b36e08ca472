// A validator's interface taken down in the middle of a round and brought up again, under a flood
// to the other three: first for 3 s (longer than a round timeout, so the others change view without
// it), then three times for 300 ms (it comes back within the round). The victim is whichever
// validator proposed the latest block, taken down a few ms after it entered a new round. The others
// keep committing; it catches up; every node holds the same chain with nothing lost or doubled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { HostsNet } from '../../src/cli/hosts/hostnet.ts';
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

/** Wait until validator i reports a round other than the one it is in now; returns the new round. */
async function nextRound(net: HostsNet, i: number): Promise<number> {
  const round = async (): Promise<number | null> => ((await net.health(i))?.round as number | undefined) ?? null;
  const r0 = await round();
  for (let k = 0; k < 500; k++) {
    const r = await round();
    if (r !== null && r !== r0) return r;
    await sleep(5);
  }
  throw new Error(`validator ${i} stayed in round ${r0}`);
}

test('a validator’s interface down and up in the middle of a round: the others commit, it catches up', async () => {
  if (skipReason('link')) return;
  run = await startHosts();
  const net = run.net;
  const latest = await net.clients[0]!.block('latest');
  const victim = (latest?.proposer as number | undefined) ?? 1;
  const others = [...Array(net.size).keys()].filter((i) => i !== victim);
  const name = net.hosts[victim]!.name;
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = net.flood({ rate: 300, durationS: 20, senders: 32, drainS: 10, which: others });
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  for (const [k, downMs] of [3000, 300, 300, 300].entries()) {
    await witness.sample([victim]);
    const round = await nextRound(net, victim);
    net.setLink(victim, false);
    const from = Math.max(...(await heights(net, others)));
    await sleep(downMs);
    net.setLink(victim, true);
    const to = Math.max(...(await heights(net, others)));
    say('link', `#${k + 1}: ${name} down ${downMs} ms from the start of its round ${round}; the others went ${from} → ${to}`);
    if (downMs >= 3000) assert.ok(to >= from + 3, `the others kept committing while ${name} was down (${from} → ${to})`);
    await sleep(700);
  }

  const target = Math.max(...(await heights(net, others)));
  const ms = await waitUntil(async () => (await heights(net, [victim]))[0]! >= target, 60_000, `${name} to reach ${target}`);
  say('link', `${name} back at ${target} ${ms} ms after the last flap`);

  const { summary, txs } = await finishScenario(net, flood, witness, 'link');
  assert.ok(summary.committed > 0, 'the flood committed transactions');
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  passed = true;
});

test('the run leaves no namespace, link or nft rule behind', async () => {
  if (!run || !passed) return;
  await run.close();
});

test.run();
