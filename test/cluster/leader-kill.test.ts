// Kill the proposer of the latest block (kill -9), three times, restarting it each time, under a
// light flood: its rounds time out, the others form timeout certificates (view change) and keep
// committing; afterwards every node holds the same chain and no receipt moved.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metricValues, ReceiptWitness } from '../../src/cli/cluster/checks.ts';
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

const TC = 'numchain_consensus_timeout_certificates_total';

async function tcs(n: Localnet, i: number): Promise<number> {
  return metricValues(await n.clients[i]!.metricsText(), [TC])[TC]!;
}

test('killing the leader three times: view changes, commits continue, chains agree', async () => {
  net = await startLocalnet();
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 100, 40);
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  for (let k = 0; k < 3; k++) {
    const blocks = await Promise.all(net.clients.map((c) => c.block('latest').catch(() => null)));
    const latest = blocks.reduce((a, b) => (b && (!a || b.height > a.height) ? b : a), null);
    assert.ok(latest, 'a latest block');
    const victim = latest.proposer as number;
    const others = [...Array(net.size).keys()].filter((i) => i !== victim);
    const tcBefore = await tcs(net, others[0]!);
    await witness.sample([victim]);
    const t0 = Date.now();
    await net.kill(victim, 'SIGKILL');
    const h0 = Math.max(...(await heights(net, others)));
    // Its next turn as leader comes within a few rounds; a view change must get past it.
    await waitUntil(async () => (await tcs(net!, others[0]!)) > tcBefore, 30_000, `a timeout certificate after killing validator ${victim}`);
    const viewChangeMs = Date.now() - t0;
    await waitUntil(async () => Math.min(...(await heights(net!, others))) >= h0 + 5, 30_000, '5 more blocks on the survivors');
    say('leader-kill', `#${k + 1}: killed proposer ${victim} of height ${latest.height}; first TC after ${viewChangeMs} ms; survivors at ≥ ${h0 + 5} after ${Date.now() - t0} ms`);
    net.start(victim);
    // Back to four in step before the next kill, or the next kill would leave two of four.
    const top = Math.max(...(await heights(net, others)));
    await net.waitFor({ which: [victim], minHeight: top, timeoutMs: 60_000 });
  }

  await finishScenario(net, flood, witness, 'leader-kill');
  passed = true;
});

test.run();
