// Two of four validators down is more than the third a BFT quorum tolerates: nothing may commit.
// Once they are back, commits resume on their own. Done twice: frozen (SIGSTOP/SIGCONT, sockets
// stay open but silent) and killed (SIGKILL, then restarted from disk).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import { background, evidence, finishScenario, heights, say, sleep, startLocalnet, waitUntil } from './harness.ts';

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

async function expectHalt(n: Localnet, live: number[], tag: string): Promise<number> {
  await sleep(1500); // blocks whose votes were already out may still land
  const h = await heights(n, live);
  await sleep(4000);
  const h2 = await heights(n, live);
  assert.equal(h2, h, `${tag}: height moved without a quorum`);
  return Math.max(...h);
}

async function expectResume(n: Localnet, halted: number, tag: string): Promise<number> {
  const ms = await waitUntil(async () => Math.min(...(await heights(n))) > halted + 2, 30_000, `${tag}: commits to resume`);
  say(tag, `commits resumed ${ms} ms after the two validators came back (height ${halted} → ${halted + 3}+ on all four)`);
  return ms;
}

test('2 of 4 frozen, then killed: no commits while down, commits resume when back', async () => {
  net = await startLocalnet();
  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = background(net, 100, 45);
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  // frozen
  net.pause(2);
  net.pause(3);
  const frozenAt = await expectHalt(net, [0, 1], 'SIGSTOP');
  say('SIGSTOP', `height stayed at ${frozenAt} for 4 s with validators 2 and 3 stopped`);
  net.resume(2);
  net.resume(3);
  await expectResume(net, frozenAt, 'SIGSTOP');

  // killed
  await witness.sample([2, 3]);
  await Promise.all([net.kill(2, 'SIGKILL'), net.kill(3, 'SIGKILL')]);
  const killedAt = await expectHalt(net, [0, 1], 'SIGKILL');
  say('SIGKILL', `height stayed at ${killedAt} for 4 s with validators 2 and 3 dead`);
  net.start(2);
  net.start(3);
  await expectResume(net, killedAt, 'SIGKILL');

  await finishScenario(net, flood, witness, 'quorum-loss');
  passed = true;
});

test.run();
