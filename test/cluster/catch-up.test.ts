// A validator that was down while the others committed many blocks catches up on its own after a
// restart (block sync from peers) and ends with the same chain and state root. A short base timeout
// keeps the rounds led by the dead validator cheap, so the survivors make ~15 blocks/s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRootsAtCommonHeight, ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import { checkConsistent, evidence, heights, say, startLocalnet, waitUntil } from './harness.ts';

let net: Localnet | null = null;
let passed = false;
const WANT = Number(process.env.CATCHUP_BLOCKS ?? 1000);
const MIN = 300;

test.after(async () => {
  if (net && !passed) console.log(await evidence(net));
  await net?.close(2000);
});

test(`a validator down for ${WANT} blocks catches up by itself`, async () => {
  net = await startLocalnet({ blockIntervalMs: 5, timeoutBaseMs: 100 });
  const victim = 3;
  const survivors = [0, 1, 2];
  await net.stop(victim);
  const from = Math.min(...(await heights(net, survivors)));
  // Up to WANT blocks, but stop producing after 25 s once MIN is reached (bounds the file); at least MIN.
  const t0 = Date.now();
  await waitUntil(async () => {
    const h = Math.min(...(await heights(net!, survivors)));
    return h - from >= WANT || (Date.now() - t0 > 25_000 && h - from >= MIN);
  }, 90_000, `${MIN}+ blocks on the survivors`);
  const target = Math.max(...(await heights(net, survivors)));
  const produced = target - from;
  say('catch-up', `survivors committed ${produced} blocks (${from} → ${target}) in ${Date.now() - t0} ms while validator ${victim} was down`);

  const t1 = Date.now();
  net.start(victim);
  await waitUntil(async () => (await heights(net!, [victim]))[0]! >= target, 90_000, `validator ${victim} to reach ${target}`);
  const ms = Date.now() - t1;
  say('catch-up', `restarted validator ${victim} caught up ${produced} blocks in ${ms} ms (process start included)`);

  const roots = await compareRootsAtCommonHeight(net.clients);
  assert.ok(roots.agree, `roots differ at height ${roots.height}: ${roots.roots.join(' ')}`);
  const witness = new ReceiptWitness(net.clients);
  await checkConsistent(net, witness, 'catch-up', target);
  passed = true;
});

test.run();
