// Signed validator records: what `numchain init` makes and `numchain genesis --validators` checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keypairFromSeed } from '../../src/crypto/ed25519.ts';
import { parseRecord, RecordError, signRecord, validatorsFromRecords, type ValidatorRecord } from '../../src/node/validator-record.ts';

const key = (i: number): Uint8Array => keypairFromSeed(new Uint8Array(32).fill(i + 1)).secretKey;
const rec = (i: number, over: Partial<Omit<ValidatorRecord, 'type' | 'publicKey' | 'signature'>> = {}, k = key(i)): ValidatorRecord =>
  signRecord({ chainId: 'c1', moniker: `v${i}`, bond: 100, gossip: `10.0.0.${i + 1}:26656`, rpc: '127.0.0.1:26657', ...over }, k);

function refused(f: () => unknown, file: string, field: string, message?: RegExp): void {
  try {
    f();
    assert.unreachable(`expected ${file}: ${field} to be refused`);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    assert.is(e.file, file, e.message);
    assert.is(e.field, field, e.message);
    assert.ok(e.message.startsWith(`${file}: ${field}: `), e.message);
    if (message) assert.match(e.message, message);
  }
}

test('a signed record round-trips through JSON and verifies', () => {
  const r = rec(0);
  assert.equal(parseRecord(JSON.parse(JSON.stringify(r)), 'a.json'), r);
  assert.is(r.signature.length, 128);
});

test('any change to a signed field breaks the signature, named as the signature field of that file', () => {
  const r = rec(0);
  for (const change of [{ bond: 101 }, { gossip: '10.9.9.9:26656' }, { rpc: '10.0.0.1:26657' }, { moniker: 'evil' }, { chainId: 'c2' }, { publicKey: rec(1).publicKey }]) {
    refused(() => parseRecord({ ...r, ...change }, 'alice.json'), 'alice.json', 'signature', /changed after signing/);
  }
});

test('malformed fields are named, even when the signature would also fail', () => {
  const r = rec(0);
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ bond: 0 }, 'bond'],
    [{ bond: '100' }, 'bond'],
    [{ gossip: '0.0.0.0:26656' }, 'gossip'],
    [{ gossip: '10.0.0.1:0' }, 'gossip'],
    [{ gossip: '10.0.0.1' }, 'gossip'],
    [{ rpc: 'http://x:1' }, 'rpc'],
    [{ moniker: 'has space' }, 'moniker'],
    [{ publicKey: 'AB'.repeat(32) }, 'publicKey'],
    [{ type: 'numchain/validator-record/v0' }, 'type'],
    [{ extra: 1 }, 'extra'],
  ];
  for (const [change, field] of cases) refused(() => parseRecord({ ...r, ...change }, 'b.json'), 'b.json', field);
  refused(() => parseRecord([], 'b.json'), 'b.json', '(root)');
});

test('genesis validators come in the order given; duplicates, conflicting keys and bad mixes are refused', () => {
  const rs = [0, 1, 2].map((i) => ({ file: `${i}.json`, record: rec(i) }));
  const vs = validatorsFromRecords(rs, 'c1');
  assert.equal(vs.map((v) => [v.index, v.name, v.gossip]), [[0, 'v0', '10.0.0.1:26656'], [1, 'v1', '10.0.0.2:26656'], [2, 'v2', '10.0.0.3:26656']]);
  assert.is(vs[1]!.publicKey, rs[1]!.record.publicKey);
  // the same file twice
  refused(() => validatorsFromRecords([...rs, rs[0]!], 'c1'), '0.json', 'publicKey', /same file given twice/);
  // one key, two different records (conflicting keys)
  refused(() => validatorsFromRecords([...rs, { file: 'x.json', record: rec(3, { moniker: 'x', gossip: '10.0.0.9:26656' }, key(1)) }], 'c1'), 'x.json', 'publicKey', /also in 1\.json/);
  refused(() => validatorsFromRecords([...rs, { file: 'm.json', record: rec(3, { moniker: 'v0' }) }], 'c1'), 'm.json', 'moniker', /also in 0\.json/);
  refused(() => validatorsFromRecords([...rs, { file: 'g.json', record: rec(3, { gossip: '10.0.0.2:26656' }) }], 'c1'), 'g.json', 'gossip', /also in 1\.json/);
  refused(() => validatorsFromRecords([...rs, { file: 'l.json', record: rec(3, { gossip: '127.0.0.1:26656' }) }], 'c1'), 'l.json', 'gossip', /loopback/);
  refused(() => validatorsFromRecords(rs, 'c2'), '0.json', 'chainId');
  // RPC on 127.0.0.1 everywhere is normal (each machine's own API), so it is not a duplicate
  assert.is(new Set(vs.map((v) => v.rpc)).size, 1);
});

test.run();
