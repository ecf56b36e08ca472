// Proof of capacity on real processes (issue 21 §5): four validators build their replicas at first
// start, commit to them and answer every epoch's challenge from disk under a light load (so PoP asks
// about real transactions). The replica file of one validator is deleted: its next challenge goes
// unanswered and it loses leader weight; put back, it answers again and recovers by the documented
// steps; the chain keeps committing throughout and every node ends on the same root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { compareRootsAtCommonHeight } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import type { ValidatorsJson } from '../../src/rpc/api.ts';
import { background, evidence, heights, say, startLocalnet, waitUntil } from './harness.ts';

let net: Localnet | null = null;
let flood: FloodRun | null = null;
let passed = false;

test.after(async () => {
  flood?.stop();
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
});

const EPOCH = 20;
// 256 chunks of 4 KiB = 1 MiB per validator; answers due 10 blocks into each 20-block epoch.
const POC = { chunkBytes: 4096, minChunks: 256, targetChunks: 256, k: 8, popSamples: 2, popWindow: 4, deadlineBlocks: 10 };

async function validators(i = 0): Promise<ValidatorsJson> {
  return net!.clients[i]!.validators();
}

const outcomes = (v: ValidatorsJson, i: number): string[] => v.validators[i]!.poc!.history.map((h) => h.outcome);

test('a validator whose replica is deleted misses its challenge and loses leader weight; restored, it recovers', async () => {
  net = await startLocalnet({ epochLength: EPOCH, poc: POC });
  flood = background(net, 50, 120);
  const victim = 3;

  // Epoch 0 carries the commits; epoch 1 is the first challenged; its outcome is decided at the start of epoch 2.
  const t1 = await waitUntil(async () => {
    const v = await validators();
    return v.poc && v.validators.every((x, i) => x.poc!.active !== null && outcomes(v, i).includes('ontime'));
  }, 90_000, 'every validator to answer a challenge on time');
  const v1 = await validators();
  say('poc', `all four committed (${v1.validators[0]!.poc!.active!.chunks} chunks each) and answered on time within ${t1} ms; leader weights ${v1.validators.map((x) => x.leaderWeight).join(',')}`);
  assert.ok(v1.validators.every((x) => x.leaderWeight === x.votingPower), 'full capacity and reliability: leader weight = bond');

  // Delete the victim's replica data (kept aside to put back later).
  const data = join(net.nodeDir(victim), 'poc', 'replica.bin');
  const aside = `${data}.aside`;
  renameSync(data, aside);
  const t2 = await waitUntil(async () => outcomes(await validators(), victim).includes('missed'), 90_000, `validator ${victim} to miss a challenge`);
  const v2 = await validators();
  const w = v2.validators.map((x) => x.leaderWeight);
  say('poc', `replica of validator ${victim} deleted: missed its next challenge after ${t2} ms; reliability ${v2.validators[victim]!.poc!.reliabilityPermille}‰; weights ${w.join(',')}`);
  assert.ok(w[victim]! < w[0]!, `validator ${victim} leads less: ${w.join(',')}`);
  assert.ok(v2.validators.every((x, i) => i === victim || !outcomes(v2, i).includes('missed')), 'the others are unaffected');
  const health = (await net.health(1)) as { poc?: { reliabilityPermille: number[]; lastOutcome: (string | null)[] } } | null;
  assert.ok(health?.poc !== undefined && health.poc.reliabilityPermille[victim]! < 1000 && health.poc.reliabilityPermille[0] === 1000, JSON.stringify(health?.poc));

  // Put it back: the next challenge is answered on time, and reliability climbs by recoverPermille per clean epoch.
  copyFileSync(aside, data);
  const relAfterMiss = v2.validators[victim]!.poc!.reliabilityPermille;
  const t3 = await waitUntil(async () => {
    const v = await validators();
    return outcomes(v, victim).lastIndexOf('ontime') > outcomes(v, victim).lastIndexOf('missed') && v.validators[victim]!.poc!.reliabilityPermille > relAfterMiss;
  }, 90_000, `validator ${victim} to answer again and regain reliability`);
  const v3 = await validators();
  say('poc', `replica restored: on time again after ${t3} ms; reliability ${relAfterMiss}‰ → ${v3.validators[victim]!.poc!.reliabilityPermille}‰`);

  // Every node computed the same weights, and nothing committed was lost.
  const all = await Promise.all([0, 1, 2, 3].map((i) => validators(i)));
  const sameEpoch = all.filter((v) => v.epoch === all[0]!.epoch);
  for (const v of sameEpoch) assert.equal(v.validators.map((x) => x.leaderWeight), sameEpoch[0]!.validators.map((x) => x.leaderWeight));
  const hs = await heights(net);
  assert.ok(Math.min(...hs) > 3 * EPOCH, `heights ${hs.join(',')}`);
  const roots = await compareRootsAtCommonHeight(net.clients);
  assert.ok(roots.agree, `roots differ at height ${roots.height}: ${roots.roots.join(' ')}`);
  const metrics = await (await fetch(`${net.rpcUrls[victim]}/metrics`)).text();
  assert.match(metrics, /^numchain_poc_answers_failed(\{[^}]*\})? [1-9]/m);
  assert.match(metrics, /^numchain_poc_epoch_outcomes_total\{validator="3",outcome="missed"[^}]*\} [1-9]/m);
  passed = true;
});

test.run();
