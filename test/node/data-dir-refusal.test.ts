// A validator whose data directory cannot be written refuses to start with exit 73, names the
// directory and why, and writes nothing: a read-only mount (tmpfs mounted ro; needs root), a path
// under a regular file, and (control) a fresh path under a writable directory starts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_DATA_DIR_UNUSABLE } from '../../src/node/data-dir-check.ts';
import { createLocalnet, killAllNodes, NodeProcess, runCli, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;
let mounted: string | null = null;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
});

test.after(async () => {
  await killAllNodes();
  if (mounted !== null) execFileSync('umount', [mounted]);
  await net?.cleanup();
});

const runArgs = (dataDir: string): string[] => new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir, extraArgs: ['--key', net.keyPath(0)] }).runArgs();

test('a data directory under a regular file: exit 73 naming it, nothing written', async () => {
  const file = join(net.dir, 'not-a-dir');
  writeFileSync(file, 'x');
  const r = await runCli(runArgs(join(file, 'data')));
  assert.is(r.code, EXIT_DATA_DIR_UNUSABLE, r.output);
  assert.match(r.output, /data directory .*not-a-dir\/data is unusable/);
});

test('a read-only mount: exit 73 naming EROFS, nothing written', async () => {
  const dir = join(net.dir, 'ro');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    mounted = dir;
  } catch {
    console.log('  skipped: mounting a read-only tmpfs needs root');
    return;
  }
  const r = await runCli(runArgs(join(dir, 'data')));
  assert.is(r.code, EXIT_DATA_DIR_UNUSABLE, r.output);
  assert.match(r.output, /EROFS: read-only file system/);
  assert.equal(readdirSync(dir), []);
});

test('control: a fresh data directory under a writable one passes the check and is created', async () => {
  const dataDir = join(net.dir, 'fresh', 'data');
  const node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir, extraArgs: ['--key', net.keyPath(0)] });
  await node.start();
  assert.ok(existsSync(dataDir));
  await node.stop();
});

test.run();
