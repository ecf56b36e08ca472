// `numchain poc init|check|prove` as an operator runs it (real processes): the replica builds and
// scrubs clean, a challenge is answered from disk, damage is named chunk by chunk with exit 1, a
// missing replica is exit 1 with the file named, and usage mistakes are exit 2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keypairFromSeed } from '../../src/crypto/ed25519.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
import { deriveChallenge } from '../../src/poc/challenge.ts';
import { seededKey } from '../../src/node/genesis.ts';
import { ranges } from '../../src/cli/poc.ts';
import { runCli } from '../helpers/node-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'numchain-cli-poc-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['poc', ...args], { timeoutMs: 60_000 });
const SEED = 'ab'.repeat(32);
const small = ['--chunks', '512', '--chunk-bytes', '1024', '--rounds', '2'];

test('init → check → prove: root printed and stored, clean scrub, timed answer', async () => {
  const d = join(dir, 'a');
  const init = await cli('init', '--dir', d, ...small, '--key-seed', '7', '--validator', '1', '--chain-id', 'pocnet');
  assert.is(init.code, 0, init.output);
  const root = /root ([0-9a-f]{64})/.exec(init.output)?.[1];
  const m = JSON.parse(readFileSync(join(d, 'replica.json'), 'utf8'));
  assert.is(m.root, root);
  assert.is(m.publicKey, toHex(keypairFromSeed(seededKey(7, 1)).publicKey), 'the localnet key of validator 1 under --key-seed 7');
  assert.equal([m.chainId, m.chunks, m.chunkBytes, m.encodeRounds], ['pocnet', 512, 1024, 2]);
  assert.match(init.output, /MiB\/s/);

  const again = await cli('init', '--dir', d, ...small, '--key-seed', '7');
  assert.is(again.code, 1);
  assert.match(again.output, 'refusing to replace');

  const chk = await cli('check', '--dir', d);
  assert.is(chk.code, 0, chk.output);
  assert.match(chk.output, 'read 512 chunks');
  assert.match(chk.output, 'ok: every chunk matches the tree');

  const pr = await cli('prove', '--dir', d, '--epoch-seed', SEED, '--epoch', '3', '--validator', '1');
  assert.is(pr.code, 0, pr.output);
  assert.match(pr.output, /reads: \d+ positioned reads in [\d.]+ ms/);
  assert.match(pr.output, /answer body \d+ B/);

  // damage chunks 100..109: the scrub names them, a challenge that hits them refuses to look fine
  const fd = openSync(join(d, 'replica.bin'), 'r+');
  writeSync(fd, new Uint8Array(10 * 1024), 0, 10 * 1024, 100 * 1024);
  closeSync(fd);
  const bad = await cli('check', '--dir', d);
  assert.is(bad.code, 1, bad.output);
  assert.match(bad.output, 'BAD: 10 chunks do not match the tree: 100-109');
  // an epoch whose challenge opens one of them: prove says so and exits 1
  let epoch = 0;
  while (!deriveChallenge('pocnet', fromHex(SEED), epoch, 1, fromHex(root!), 512, { k: 8, popSamples: 0, popWindow: 1 }).chunks.some((c) => c >= 100 && c <= 110)) epoch++;
  const hit = await cli('prove', '--dir', d, '--epoch-seed', SEED, '--epoch', String(epoch), '--validator', '1');
  assert.is(hit.code, 1, hit.output);
  assert.match(hit.output, /BAD: chunks [\d, -]+ do not match the stored tree; this answer would count as a wrong fault/);
});

test('--key FILE and --public-key give the same replica; errors and usage', async () => {
  const kp = keypairFromSeed(new Uint8Array(32).fill(9));
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, JSON.stringify({ publicKey: toHex(kp.publicKey), secretKey: toHex(kp.secretKey) }));
  const [a, b] = await Promise.all([cli('init', '--dir', join(dir, 'k1'), ...small, '--key', keyFile), cli('init', '--dir', join(dir, 'k2'), ...small, '--public-key', toHex(kp.publicKey))]);
  assert.is(a.code, 0, a.output);
  assert.is(b.code, 0, b.output);
  assert.is(/root (\w+)/.exec(a.output)?.[1], /root (\w+)/.exec(b.output)?.[1]);

  const usage = await Promise.all([
    cli(),
    cli('nope'),
    cli('init', '--dir', join(dir, 'u'), '--chunks', '512'),
    cli('init', '--dir', join(dir, 'u'), '--chunks', '1', '--key-seed', '1'),
    cli('init', '--dir', join(dir, 'u'), '--chunks', '512', '--chunk-bytes', '100', '--key-seed', '1'),
    cli('prove', '--dir', join(dir, 'k1'), '--epoch-seed', 'zz', '--epoch', '1', '--validator', '0'),
    cli('prove', '--dir', join(dir, 'k1'), '--epoch-seed', SEED, '--validator', '0'),
  ]);
  for (const u of usage) assert.is(u.code, 2, u.output);
  assert.match(usage[2]!.output, 'give exactly one of --key FILE, --key-seed S or --public-key HEX');

  const missing = await cli('check', '--dir', join(dir, 'none'));
  assert.is(missing.code, 1);
  assert.match(missing.output, /replica\.json is missing: no complete replica/);
  const help = await cli('prove', '--help');
  assert.is(help.code, 0);
  assert.match(help.output, '--epoch-seed');
});

test('ranges: compact lists of bad chunks', () => {
  assert.is(ranges([1, 2, 3, 7, 9, 10]), '1-3, 7, 9-10');
  assert.is(ranges([]), '');
  assert.is(ranges([1, 3, 5], 2), '1, 3, ...');
  assert.is(ranges([1, 3], 2), '1, 3');
});

test.run();
