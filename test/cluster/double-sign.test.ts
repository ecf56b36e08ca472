// A double-signing validator on real processes: a second process runs with validator 0's key (a
// failover pair that both came up, the classic way an operator equivocates). Its two instances sign
// different proposals for the same rounds; the others turn that into evidence, commit it, slash
// validator 0, and from the next epoch give it the slashed weight as a leader (its votes keep
// counting with its bond: quorums are in bonded power). The chain keeps committing and every node, the original validator 0 included, holds the same chain.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { BIN, type Localnet } from '../../src/cli/cluster/localnet.ts';
import { background, evidence, finishScenario, heights, say, startLocalnet, waitUntil } from './harness.ts';

let net: Localnet | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let twin: ChildProcess | null = null;
let passed = false;

test.after(async () => {
  twin?.kill('SIGKILL');
  witness?.stop();
  flood?.stop();
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
});

interface EvidenceJson {
  readonly slashing: readonly { kind: string; validator: number; before: number; after: number }[];
}

test('a validator running twice is caught equivocating, slashed, and loses leader weight (never voting power); the chain goes on', async () => {
  net = await startLocalnet();
  const honest = [1, 2, 3];
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 100, 30, honest, 16);

  // The twin listens on ports of its own; it dials validators 1–3 (the lower index dials), where it
  // keeps displacing the original's connections and vice versa.
  const fd = openSync(join(net.dir, 'twin-0.log'), 'a');
  try {
    twin = spawn(process.execPath, [BIN, 'run', '--genesis', join(net.dir, 'genesis.json'), '--node-index', '0', '--data-dir', join(net.dir, 'twin-0'), '--rpc', '127.0.0.1:0', '--gossip', '127.0.0.1:0'], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }

  const slashed = async (i: number) => ((await net!.clients[i]!.evidence()) as EvidenceJson).slashing.filter((e) => e.validator === 0);
  const tEvidence = await waitUntil(async () => (await slashed(1)).length > 0, 60_000, 'a committed slashing of validator 0');
  const events = await slashed(1);
  // slashPermille 500 (the genesis default): each committed item takes half, rounded up.
  for (const e of events) assert.is(e.after, e.before - Math.ceil(e.before / 2), `slashing ${e.before} → ${e.after}`);
  say('double-sign', `validator 0 slashed after ${tEvidence} ms (${events.length} events so far: ${events.slice(0, 3).map((e) => `${e.kind} ${e.before}→${e.after}`).join(', ')})`);

  // Effective power drops at once; the leader weight at the next epoch boundary (100 blocks by
  // default). Voting power, what quorums count, stays the bond.
  const weights = async (i: number) => (await net!.health(i)) as unknown as { votingPower: number[]; leaderWeight: number[]; effectivePower: number[]; height: number } | null;
  await waitUntil(async () => (await Promise.all(honest.map(weights))).every((h) => h !== null && h.leaderWeight[0]! < 100), 60_000, 'leader weight of validator 0 slashed on validators 1–3');
  for (const i of honest) {
    const h = (await weights(i))!;
    assert.equal(h.leaderWeight.slice(1), [100, 100, 100], `validator ${i}: honest weights are untouched`);
    assert.ok(h.effectivePower[0]! <= h.leaderWeight[0]!, `validator ${i}: the effective power is at most the epoch's leader weight`);
    assert.equal(h.votingPower, [100, 100, 100, 100], `validator ${i}: voting power is the bond`);
  }
  const h0 = Math.min(...(await heights(net, honest)));
  say('double-sign', `leader weights on validators 1–3 at height ≥ ${h0}: ${JSON.stringify((await weights(1))!.leaderWeight)}`);

  twin.kill('SIGKILL');
  twin = null;
  await waitUntil(async () => Math.min(...(await heights(net!, honest))) >= h0 + 10, 30_000, '10 more blocks after the twin stopped');

  await finishScenario(net, flood, witness, 'double-sign');
  passed = true;
});

test.run();
