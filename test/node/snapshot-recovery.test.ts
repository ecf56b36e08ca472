// Restart from snapshots: with --snapshot-every 5 a restart loads the newest snapshot and replays
// only the few blocks after it; a corrupt or deleted newest snapshot falls back to an older one (or
// to genesis), and every fallback recovers the same state root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalnet, killAllNodes, logFields, NodeProcess, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

const EVERY = 5;
let net: Localnet;
let node: NodeProcess;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
  node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0), snapshotEvery: EVERY });
});

test.after(async () => {
  await killAllNodes();
  await net?.cleanup();
});

const snapDir = (): string => join(net.dataDir(0), 'snapshots');

async function snapshotHeights(): Promise<number[]> {
  return (await readdir(snapDir()))
    .map((f) => /^snap-(\d+)\.bin$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Start, read the "recovered" line, stop with kill -9 (no shutdown work can hide a bug). */
async function restartAndRecover(): Promise<{ height: number; snapshot: number; replayed: number; root: string; rootAt: (h: number) => Promise<string> }> {
  await node.start();
  const f = logFields(node.log, 'recovered');
  assert.ok(f, `no "recovered" line:\n${node.tail()}`);
  const blocks = new Map<number, string>();
  const c = node.client;
  // Read the root of the recovered height now, while this run serves it.
  const h = Number(f!.height);
  if (h > 0) blocks.set(h, (await c.block(h))!.stateRoot);
  return { height: h, snapshot: Number(f!.snapshot), replayed: Number(f!.replayed), root: f!.root!, rootAt: async (x) => blocks.get(x) ?? (await c.block(x))!.stateRoot };
}

test('restart uses the newest snapshot and replays only the blocks after it', () =>
  withNodeLogs([node], async () => {
    await node.start();
    await node.waitForHeight(4 * EVERY + 2);
    await node.kill9();
    const snaps = await snapshotHeights();
    assert.ok(snaps.length >= 2, `snapshots written: ${snaps}`);
    assert.ok(snaps.every((h) => h % EVERY === 0), `every ${EVERY} blocks: ${snaps}`);

    const r = await restartAndRecover();
    assert.is(r.snapshot, snaps.at(-1), 'loaded the newest snapshot');
    assert.is(r.snapshot + r.replayed, r.height, 'snapshot height + replayed blocks = recovered height');
    assert.ok(r.replayed < 2 * EVERY, `replayed ${r.replayed} blocks, fewer than ${2 * EVERY}`);
    assert.is(r.root, await r.rootAt(r.height), 'recovered root is the logged root of that block');
    await node.kill9();
  }));

test('a corrupt newest snapshot is skipped (with a warning) for the previous one; same root', () =>
  withNodeLogs([node], async () => {
    const snaps = await snapshotHeights();
    assert.ok(snaps.length >= 2);
    const newest = snaps.at(-1)!;
    const path = join(snapDir(), `snap-${newest}.bin`);
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(path, bytes);
    const logHeight = (await readFile(join(net.dataDir(0), 'blocks.log'), 'utf8')).split('\n').filter((l) => l).length;

    const r = await restartAndRecover();
    assert.ok(r.snapshot < newest && r.snapshot > 0, `fell back from ${newest} to ${r.snapshot}`);
    assert.is(r.snapshot, snaps.at(-2), 'the next newest snapshot');
    assert.is(r.height, logHeight, 'still recovered the whole log');
    assert.is(r.snapshot + r.replayed, r.height);
    assert.match(node.log, new RegExp(`snap-${newest}\\.bin`), 'the skipped file is named in the log');
    assert.is(r.root, await r.rootAt(r.height));
    await node.kill9();
  }));

test('all snapshots deleted: replay from genesis reaches the same root', () =>
  withNodeLogs([node], async () => {
    const logText = (await readFile(join(net.dataDir(0), 'blocks.log'), 'utf8')).split('\n').filter((l) => l);
    const lastRoot = (JSON.parse(logText.at(-1)!.slice(9)) as { root: string }).root;
    await rm(snapDir(), { recursive: true, force: true });

    const r = await restartAndRecover();
    assert.is(r.snapshot, 0);
    assert.is(r.replayed, logText.length, 'replayed every block');
    assert.is(r.height, logText.length);
    assert.is(r.root, lastRoot, 'the root the log recorded for its last block');
    await node.kill9();
  }));

test.run();
