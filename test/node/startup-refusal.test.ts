// A validator whose engine or key does not match genesis must refuse to start, say why, and leave
// no trace in its data directory (so nothing it could have signed or committed exists).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { engineSha256Hex } from '../../src/host/node-loader.ts';
import { createLocalnet, editGenesisFile, killAllNodes, NodeProcess, runCli, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;

test.before(async () => {
  net = await createLocalnet({ nodes: 2, gossipPorts: 'zero' });
});

test.after(async () => {
  await killAllNodes();
  await net?.cleanup();
});

test('engine hash differs from genesis → exit non-zero naming both hashes', async () => {
  const path = join(net.dir, 'genesis-other-engine.json');
  await copyFile(net.genesisPath, path);
  const other = 'ab'.repeat(32);
  await editGenesisFile(path, (g) => (g.engine.sha256 = other));
  const dataDir = join(net.dir, 'engine-mismatch');
  const node = new NodeProcess({ genesisPath: path, index: 0, dataDir, extraArgs: ['--key', net.keyPath(0)] });
  const r = await runCli(node.runArgs());
  assert.is.not(r.code, 0, r.output);
  assert.match(r.output, engineSha256Hex(), 'names this engine');
  assert.match(r.output, other, 'names the engine genesis requires');
  assert.match(r.output, /engine/i);
  assert.not.ok(existsSync(dataDir), 'no data directory was created');
});

test("another validator's key → exit non-zero naming the key mismatch", async () => {
  const dataDir = join(net.dir, 'key-mismatch');
  const node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir, extraArgs: ['--key', net.keyPath(1)] });
  const r = await runCli(node.runArgs());
  assert.is.not(r.code, 0, r.output);
  const pub1 = (JSON.parse(await readFile(net.keyPath(1), 'utf8')) as { publicKey: string }).publicKey;
  assert.match(r.output, /key/i);
  assert.match(r.output, pub1, 'names the public key the file holds');
  assert.match(r.output, net.genesis.validators[0]!.publicKey, 'names the key genesis expects');
  assert.not.ok(existsSync(dataDir), 'no data directory was created');
});

test('a key file with a foreign secret → exit non-zero', async () => {
  const path = join(net.dir, 'key-bad.json');
  const k = JSON.parse(await readFile(net.keyPath(0), 'utf8')) as Record<string, string>;
  await writeFile(path, JSON.stringify({ ...k, secretKey: '11'.repeat(32) }));
  const dataDir = join(net.dir, 'key-foreign');
  const r = await runCli(new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir, extraArgs: ['--key', path] }).runArgs());
  assert.is.not(r.code, 0, r.output);
  assert.match(r.output, /key file .* holds public key/);
  assert.not.ok(existsSync(dataDir));
});

test('the matching engine and key start fine (control)', async () => {
  const node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0) });
  const h = await node.start();
  assert.is(h.engineSha256, engineSha256Hex());
  assert.is(h.chainId, net.genesis.chainId);
  await node.kill9();
});

test.run();
