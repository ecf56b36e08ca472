// Genesis documents: strict validation naming the field, the shipped sample matches this engine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, recordedEngineSha256Hex } from '../../src/host/node-loader.ts';
import { generateGenesis, GenesisError, keyPathFor, parseGenesis, readGenesis, readKeyFile, writeGenesisFiles } from '../../src/node/genesis.ts';

const SAMPLE = join(PROJECT_ROOT, 'genesis', 'localnet-4', 'genesis.json');
const base = () => generateGenesis({ nodes: 4, engineSha256: 'ab'.repeat(32), genesisTime: 1, keySeed: 3 });

test('the shipped 4-validator sample is valid, commits to this engine, and its keys match', () => {
  const g = readGenesis(SAMPLE);
  assert.is(g.validators.length, 4);
  assert.is(g.engine.sha256, recordedEngineSha256Hex(), 'regenerate genesis/localnet-4 (see genesis/README.md)');
  // (git does not keep 0600, so a checkout's sample key files have the umask's mode)
  for (let i = 0; i < 4; i++) readKeyFile(keyPathFor(SAMPLE, i), g, i);
});

test('generated files round-trip; key files are 0600 and match their validator only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numchain-genesis-'));
  try {
    const { genesis, keys } = base();
    const paths = writeGenesisFiles(join(dir, 'genesis.json'), genesis, keys);
    assert.equal(readGenesis(paths.genesis), genesis);
    assert.is(statSync(paths.keys[2]).mode & 0o777, 0o600);
    readKeyFile(paths.keys[2], genesis, 2);
    assert.throws(() => readKeyFile(paths.keys[2], genesis, 1), (e: unknown) => e instanceof GenesisError && /public key/.test(e.message));
    assert.throws(() => readKeyFile(paths.keys[2], genesis, 9), (e: unknown) => e instanceof GenesisError && /not a validator/.test(e.message));
    assert.not.match(readFileSync(paths.genesis, 'utf8'), /secretKey/, 'no secret inside genesis');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged key file is refused without quoting it (the text is the secret)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numchain-genesis-'));
  try {
    const { genesis } = base();
    const secret = '5eC7e7'.repeat(10);
    for (const text of [`{"secretKey": "${secret}`, `{"secretKey": "${secret}"}`, `["${secret}"]`]) {
      const p = join(dir, 'key.json');
      writeFileSync(p, text);
      try {
        readKeyFile(p, genesis, 0);
        assert.unreachable(text);
      } catch (e) {
        assert.instance(e, GenesisError);
        assert.not.match((e as Error).message, secret.slice(0, 12));
        assert.match((e as Error).message, p);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad documents are rejected with the field named', () => {
  const { genesis } = base();
  const cases: Array<[(g: Record<string, any>) => void, string]> = [
    [(g) => (g.chainId = 'has space'), 'chainId'],
    [(g) => (g.engine.sha256 = 'xyz'), 'engine.sha256'],
    [(g) => (g.ma.dim = 0), 'ma.dim'],
    [(g) => (g.ma.decay = -1), 'ma.decay'],
    [(g) => (g.chain.txWindow = 0), 'chain.txWindow'],
    [(g) => (g.consensus.timeoutBaseMs = 1.5), 'consensus.timeoutBaseMs'],
    [(g) => (g.validators = []), 'validators'],
    [(g) => (g.validators[1].index = 3), 'validators[1].index'],
    [(g) => (g.validators[2].publicKey = g.validators[0].publicKey), 'validators[2].publicKey'],
    [(g) => (g.validators[0].gossip = 'nohost'), 'validators[0].gossip'],
    [(g) => (g.validators[3].bond = 0), 'validators[3].bond'],
    [(g) => (g.version = 2), 'version'],
  ];
  for (const [mutate, field] of cases) {
    const g = structuredClone(genesis) as Record<string, any>;
    mutate(g);
    try {
      parseGenesis(g);
      assert.unreachable(field);
    } catch (e) {
      assert.instance(e, GenesisError);
      assert.is((e as GenesisError).field, field);
    }
  }
});

test.run();
