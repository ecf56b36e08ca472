// The operator workflow of issue 19 as operators type it: `numchain init` on each machine, `numchain
// genesis --validators` over the records, `numchain testnet`, the config file of `numchain run`, the
// seed's flags, and nothing replaced without --force. Processes for what a user sees (exit codes,
// messages, file modes); resolveRunSettings in-process for the config/flag merge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { UsageError } from '../../src/cli/args.ts';
import { ConfigError } from '../../src/cli/config.ts';
import { RUN_FLAGS, resolveRunSettings } from '../../src/cli/run.ts';
import { publicKeyOf } from '../../src/crypto/ed25519.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
import { generateGenesis, readGenesis, writeGenesisFiles } from '../../src/node/genesis.ts';
import { readRecordFile } from '../../src/node/validator-record.ts';
import { runCli } from '../helpers/node-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'numchain-operator-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(args);
const read = (p: string): string => readFileSync(p, 'utf8');

test('version, -h and help CMD', async () => {
  const [v, h, hr, rh, bad] = await Promise.all([cli('version'), cli('-h'), cli('help', 'run'), cli('run', '-h'), cli('help', 'nope')]);
  assert.is(v.code, 0);
  assert.match(v.output, /^numchain \d+\.\d+\.\d+\nengine sha256 [0-9a-f]{64}\n/);
  assert.is(h.code, 0);
  for (const c of ['init', 'genesis', 'testnet', 'run', 'version', 'help']) assert.match(h.output, `\n  ${c} `);
  assert.is(hr.code, 0);
  assert.is(hr.output, rh.output);
  for (const flag of Object.keys(RUN_FLAGS)) assert.match(hr.output, flag === 'help' ? '-h, --help' : `--${flag} `);
  assert.is(bad.code, 2);
  assert.match(bad.output, 'unknown command "nope"');
});

test('init: 0600 key never printed, a record whose signature verifies, a config run reads; no overwrite without --keep-key/--force', async () => {
  const home = join(dir, 'alice');
  const r = await cli('init', '--home', home, '--moniker', 'alice', '--advertise', '10.0.0.1', '--bond', '250', '--chain-id', 'opnet');
  assert.is(r.code, 0, r.output);
  const key = JSON.parse(read(join(home, 'key.json')));
  assert.is(statSync(join(home, 'key.json')).mode & 0o777, 0o600);
  assert.is(key.publicKey, toHex(publicKeyOf(fromHex(key.secretKey, 'secretKey', 32))));
  assert.not.match(r.output, key.secretKey);
  const rec = readRecordFile(join(home, 'validator.json'));
  assert.equal([rec.moniker, rec.bond, rec.gossip, rec.rpc, rec.chainId, rec.publicKey], ['alice', 250, '10.0.0.1:26656', '127.0.0.1:26657', 'opnet', key.publicKey]);
  assert.not.match(read(join(home, 'validator.json')), key.secretKey);
  const conf = parseToml(read(join(home, 'config.toml')));
  assert.equal({ ...conf }, { genesis: 'genesis.json', key: 'key.json', 'data-dir': 'data', gossip: '0.0.0.0:26656', rpc: '127.0.0.1:26657', 'log-level': 'info', 'snapshot-every': 200, 'verify-workers': 2, 'verify-nice': 10, 'peer-tls': 'on' });

  const again = await cli('init', '--home', home, '--advertise', '10.0.0.1');
  assert.is(again.code, 1);
  assert.match(again.output, `${join(home, 'key.json')} already exists; refusing to overwrite it`);
  assert.is(JSON.parse(read(join(home, 'key.json'))).secretKey, key.secretKey);

  const kept = await cli('init', '--home', home, '--moniker', 'alice', '--advertise', '10.0.0.7:27000', '--keep-key', '--chain-id', 'opnet');
  assert.is(kept.code, 0, kept.output);
  assert.is(JSON.parse(read(join(home, 'key.json'))).secretKey, key.secretKey);
  assert.is(readRecordFile(join(home, 'validator.json')).gossip, '10.0.0.7:27000');

  const forced = await cli('init', '--home', home, '--advertise', '10.0.0.1', '--force');
  assert.is(forced.code, 0, forced.output);
  assert.is.not(JSON.parse(read(join(home, 'key.json'))).publicKey, key.publicKey);
  assert.is(statSync(join(home, 'key.json')).mode & 0o777, 0o600);
});

test('init refuses addresses peers cannot dial, naming the flag', async () => {
  const [a, b, c] = await Promise.all([
    cli('init', '--home', join(dir, 'x1'), '--advertise', '0.0.0.0:26656'),
    cli('init', '--home', join(dir, 'x2'), '--advertise', '26656'),
    cli('init', '--home', join(dir, 'x3')),
  ]);
  for (const x of [a, b, c]) assert.is(x.code, 2, x.output);
  assert.match(a.output, '--advertise 0.0.0.0:26656');
  assert.match(b.output, '--advertise needs a host');
  assert.match(c.output, '--advertise is required');
});

test('genesis --validators: checks every record; tampered, duplicate, conflicting and bad records are refused naming file and field; no overwrite', async () => {
  const homes = ['a', 'b', 'c'].map((n) => join(dir, 'g', n));
  const inits = await Promise.all(homes.map((h, i) => cli('init', '--home', h, '--moniker', `m${i}`, '--advertise', `10.1.0.${i + 1}`, '--chain-id', 'gnet')));
  for (const x of inits) assert.is(x.code, 0, x.output);
  const recs = homes.map((h) => join(h, 'validator.json'));
  const out = join(dir, 'g', 'genesis.json');
  const ok = await cli('genesis', '--validators', recs.join(','), '--out', out);
  assert.is(ok.code, 0, ok.output);
  const g = readGenesis(out);
  assert.is(g.chainId, 'gnet');
  assert.equal(g.validators.map((v) => [v.name, v.gossip, v.publicKey]), recs.map((p, i) => [`m${i}`, `10.1.0.${i + 1}:26656`, readRecordFile(p).publicKey]));
  assert.match(ok.output, /sha256 [0-9a-f]{64}/);

  const tampered = join(dir, 'g', 'tampered.json');
  writeFileSync(tampered, JSON.stringify({ ...JSON.parse(read(recs[1]!)), bond: 1_000_000 }));
  const conflicting = join(dir, 'g', 'conflicting.json'); // b's key, signed again with another address: a second identity claim
  const bKey = join(dir, 'g', 'b2');
  mkdirSync(bKey);
  writeFileSync(join(bKey, 'key.json'), read(join(homes[1]!, 'key.json')));
  assert.is((await cli('init', '--home', bKey, '--keep-key', '--moniker', 'm9', '--advertise', '10.1.0.9', '--chain-id', 'gnet')).code, 0);
  writeFileSync(conflicting, read(join(bKey, 'validator.json')));
  const other = join(dir, 'g', 'other-chain');
  assert.is((await cli('init', '--home', other, '--moniker', 'm8', '--advertise', '10.1.0.8', '--chain-id', 'elsewhere')).code, 0);
  const badAddr = join(dir, 'g', 'bad-addr.json');
  writeFileSync(badAddr, JSON.stringify({ ...JSON.parse(read(recs[2]!)), gossip: '0.0.0.0:26656' }));

  const fresh = (n: string) => join(dir, 'g', `${n}.json`);
  const [t, d, c, o, a, exists, mixed] = await Promise.all([
    cli('genesis', '--validators', [recs[0]!, tampered].join(','), '--out', fresh('t')),
    cli('genesis', '--validators', [recs[0]!, recs[1]!, recs[0]!].join(','), '--out', fresh('d')),
    cli('genesis', '--validators', [...recs, conflicting].join(','), '--out', fresh('c')),
    cli('genesis', '--validators', [recs[0]!, join(other, 'validator.json')].join(','), '--out', fresh('o')),
    cli('genesis', '--validators', [recs[0]!, badAddr].join(','), '--out', fresh('a')),
    cli('genesis', '--validators', recs.join(','), '--out', out),
    cli('genesis', '--validators', recs.join(','), '--nodes', '3', '--out', fresh('m')),
  ]);
  const expect = (r: { code: number | null; output: string }, code: number, text: string) => {
    assert.is(r.code, code, r.output);
    assert.match(r.output, text);
  };
  expect(t, 1, `${tampered}: signature: does not verify`);
  expect(d, 1, `${recs[0]}: publicKey: key`);
  expect(c, 1, `${conflicting}: publicKey: key ${readRecordFile(recs[1]!).publicKey} is also in ${recs[1]}`);
  expect(o, 1, `${join(other, 'validator.json')}: chainId: is "elsewhere"`);
  expect(a, 1, `${badAddr}: gossip: 0.0.0.0:26656 cannot be dialed`);
  expect(exists, 1, `${out} already exists; refusing to overwrite it (--force`);
  expect(mixed, 2, '--nodes is for a one-machine localnet');
  assert.equal(readGenesis(out), g, 'the refused run left genesis as it was');
  const forced = await cli('genesis', '--validators', recs.join(','), '--out', out, '--force', '--genesis-time', '5');
  assert.is(forced.code, 0, forced.output);
  assert.is(readGenesis(out).genesisTime, 5);
});

test('one-machine genesis: no key file or genesis replaced without --force', async () => {
  const out = join(dir, 'local', 'genesis.json');
  const first = await cli('genesis', '--out', out, '--nodes', '2');
  assert.is(first.code, 0, first.output);
  const k1 = read(join(dir, 'local', 'key-1.json'));
  rmSync(out); // only the keys are left: still refused
  const again = await cli('genesis', '--out', out, '--nodes', '2');
  assert.is(again.code, 1);
  assert.match(again.output, `${join(dir, 'local', 'key-0.json')} already exists`);
  assert.is(read(join(dir, 'local', 'key-1.json')), k1);
  const forced = await cli('genesis', '--out', out, '--nodes', '2', '--force');
  assert.is(forced.code, 0, forced.output);
  assert.is.not(read(join(dir, 'local', 'key-1.json')), k1);
  assert.is(statSync(join(dir, 'local', 'key-1.json')).mode & 0o777, 0o600);
  // the library refuses the same way (Localnet and the test helpers write through it)
  const { genesis, keys } = generateGenesis({ nodes: 2, engineSha256: 'ab'.repeat(32), genesisTime: 1, keySeed: 1 });
  assert.throws(() => writeGenesisFiles(out, genesis, keys), /already exists/);
});

test('testnet: one complete home per host, the same genesis in each, a clash or a second run refused', async () => {
  const out = join(dir, 'tn');
  const r = await cli('testnet', '--hosts', '10.2.0.1,10.2.0.2,10.2.0.3,10.2.0.4', '--out', out, '--chain-id', 'tnet');
  assert.is(r.code, 0, r.output);
  const g = read(join(out, 'node-0', 'genesis.json'));
  const genesis = readGenesis(join(out, 'node-0', 'genesis.json'));
  assert.is(genesis.chainId, 'tnet');
  for (let i = 0; i < 4; i++) {
    const home = join(out, `node-${i}`);
    assert.is(read(join(home, 'genesis.json')), g);
    assert.is(statSync(join(home, 'key.json')).mode & 0o777, 0o600);
    const rec = readRecordFile(join(home, 'validator.json'));
    assert.equal([rec.gossip, rec.rpc, rec.moniker], [`10.2.0.${i + 1}:26656`, '127.0.0.1:26657', `node-${i}`]);
    assert.is(genesis.validators[i]!.publicKey, JSON.parse(read(join(home, 'key.json'))).publicKey);
    assert.is(parseToml(read(join(home, 'config.toml'))).gossip, '0.0.0.0:26656');
    // run --home finds everything, its index included, with nothing else given
    const s = resolveRunSettings(['--home', home])!;
    assert.equal([s.index, s.genesisPath, s.keyPath, s.dataDir, s.gossip, s.rpc], [i, join(home, 'genesis.json'), join(home, 'key.json'), join(home, 'data'), '0.0.0.0:26656', '127.0.0.1:26657']);
  }
  const [again, clash] = await Promise.all([
    cli('testnet', '--hosts', '10.2.0.1,10.2.0.2,10.2.0.3,10.2.0.4', '--out', out),
    cli('testnet', '--hosts', '127.0.0.1:27000,127.0.0.1:27001', '--out', join(dir, 'tn-clash')),
  ]);
  assert.is(again.code, 1);
  assert.match(again.output, 'already exists; refusing to overwrite it');
  assert.is(read(join(out, 'node-0', 'genesis.json')), g);
  assert.is(clash.code, 2);
  assert.match(clash.output, 'both use port 27001 on 127.0.0.1');
});

test('config file: flags override it, relative paths resolve against the home, unknown keys and bad types are named', () => {
  const home = join(dir, 'cfg');
  const { genesis, keys } = generateGenesis({ nodes: 3, engineSha256: 'ab'.repeat(32), genesisTime: 1, keySeed: 9, gossipBasePort: 9000, rpcBasePort: 8000 });
  writeGenesisFiles(join(home, 'net', 'genesis.json'), genesis, keys);
  const conf = (text: string) => writeFileSync(join(home, 'config.toml'), text);
  conf(['genesis = "net/genesis.json"', 'key = "net/key-2.json"', 'rpc = 8100', 'gossip = "127.0.0.1:9100"', 'peers = ["0=10.0.0.1:9000", "127.0.0.1:9001"]', 'snapshot-every = 7', 'log-level = "warn"'].join('\n'));
  const s = resolveRunSettings(['--home', home])!;
  assert.is(s.index, 2, 'found by the key');
  assert.is(s.genesisPath, join(home, 'net', 'genesis.json'));
  assert.is(s.keyPath, join(home, 'net', 'key-2.json'));
  assert.is(s.rpc, '127.0.0.1:8100');
  assert.is(s.gossip, '127.0.0.1:9100');
  assert.equal([...s.peers], [[0, '10.0.0.1:9000'], [1, '127.0.0.1:9001']]);
  assert.equal([s.snapshotEvery, s.logLevel, s.verifyWorkers], [7, 'warn', 2]);
  const o = resolveRunSettings(['--home', home, '--rpc', '0.0.0.0:8200', '--gossip', '9200', '--snapshot-every', '0', '--log-level', 'debug', '--node-index', '2', '--peers', '1=10.9.9.9:1'])!;
  assert.equal([o.rpc, o.gossip, o.snapshotEvery, o.logLevel, [...o.peers]], ['0.0.0.0:8200', '0.0.0.0:9200', 0, 'debug', [[1, '10.9.9.9:1']]]);

  const cfgErr = (text: string, key: string | null, msg: string) => {
    conf(text);
    try {
      resolveRunSettings(['--home', home]);
      assert.unreachable(text);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      assert.is(e.key, key);
      assert.match(e.message, `config ${join(home, 'config.toml')}: `);
      assert.match(e.message, msg);
    }
  };
  cfgErr('genesis = "net/genesis.json"\ndatadir = "x"', 'datadir', 'is not a known key (known: genesis, node-index, key, data-dir');
  cfgErr('home = "/elsewhere"', 'home', 'command-line flag only');
  cfgErr('snapshot-every = "7"', 'snapshot-every', 'must be a number');
  cfgErr('[p2p]\nladdr = "x"', 'p2p', 'is not a known key');
  cfgErr('genesis = ', null, 'is not valid TOML');
  // JSON works the same way
  writeFileSync(join(home, 'c.json'), JSON.stringify({ genesis: 'net/genesis.json', 'node-index': 1, rpc: '127.0.0.1:1' }));
  const j = resolveRunSettings(['--home', home, '--config', join(home, 'c.json')])!;
  assert.equal([j.index, j.rpc, j.keyPath], [1, '127.0.0.1:1', join(home, 'key.json')]);
});

test("the seed's flags: bare ports and a plain peer list matched to validators by their genesis addresses", () => {
  const home = join(dir, 'seed');
  const { genesis, keys } = generateGenesis({ nodes: 3, engineSha256: 'ab'.repeat(32), genesisTime: 1, keySeed: 4, gossipBasePort: 9000, rpcBasePort: 8000 });
  const paths = writeGenesisFiles(join(home, 'genesis.json'), genesis, keys);
  const s = resolveRunSettings(['--genesis', paths.genesis, '--node-index', '0', '--rpc', '8000', '--gossip', '9000', '--peers', '127.0.0.1:9001,127.0.0.1:9002'])!;
  assert.equal([s.index, s.rpc, s.gossip, [...s.peers]], [0, '127.0.0.1:8000', '0.0.0.0:9000', [[1, '127.0.0.1:9001'], [2, '127.0.0.1:9002']]]);
  assert.is(s.keyPath, undefined, 'key-0.json beside genesis, as before');
  const usage = (args: string[], msg: string) => assert.throws(() => resolveRunSettings(['--genesis', paths.genesis, '--node-index', '0', ...args]), (e: unknown) => e instanceof UsageError && e.message.includes(msg));
  usage(['--peers', '127.0.0.1:9999'], '127.0.0.1:9999 is not the gossip address of any validator in genesis (0=127.0.0.1:9000, 1=127.0.0.1:9001, 2=127.0.0.1:9002)');
  usage(['--peers', '9001'], 'needs a host');
  usage(['--peers', '7=127.0.0.1:9001'], '7 is not a validator index');
  usage(['--rpc', 'localhost'], '--rpc must be host:port');
  usage(['--node-index', '5'], '--node-index 5 is not a validator index');
});

test.run();
