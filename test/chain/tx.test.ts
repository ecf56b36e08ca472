import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCanonical, decodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { DEFAULT_MA_PARAMS } from '../../src/engine/types.ts';
import { buildTx, decodeTx, txFromJson, txToJson, txLimits, encodeTxBody, assembleTx, TxError, TX_DOMAIN, type TxFields, type TxJson } from '../../src/chain/tx.ts';
import { keypairFromSeed, signEd25519, verifyZip215 } from '../../src/crypto/ed25519.ts';
import { sha256, toHex, bytesEqual } from '../../src/crypto/sha256.ts';

const B = 8192;
const L = txLimits(DEFAULT_MA_PARAMS, B);
const { secretKey, publicKey } = keypairFromSeed(new Uint8Array(32).fill(1));
const vec = Int32Array.from({ length: 128 }, (_, i) => (i % 2 ? -1 : 1) * ((i * 97) % (B + 1)));

const ADD: TxFields = { chainId: 'numchain-test', nonce: 7, validUntil: 100, op: { op: 'add', shard: 3, layer: 2, slot: 63, vec } };
const ALL: TxFields[] = [
  ADD,
  { chainId: 'numchain-test', nonce: 0, validUntil: 0, op: { op: 'decay', shard: 0, layer: 0, slot: 0 } },
  { chainId: 'numchain-test', nonce: 1, validUntil: 2 ** 32 - 1, op: { op: 'decay', shard: 0, layer: 0, slot: 0, factor: 1024 } },
  { chainId: 'numchain-test', nonce: 2 ** 32 - 1, validUntil: 5, op: { op: 'mix', shard: 1, layer: 3, slot: 4, src: 63, alpha: 512 } },
  { chainId: 'numchain-test', nonce: 3, validUntil: 5, op: { op: 'clip', shard: 1, layer: 3, slot: 4, bound: B } },
];

function codeOf(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof TxError) return [e.code, e.field];
    throw e;
  }
  throw new Error('expected a TxError');
}

/** Wire bytes for an arbitrary body array, correctly signed — to test field checks past the signature. */
function rawTx(fields: Canon[]): Uint8Array {
  const body = encodeCanonical(fields);
  return assembleTx(body, signEd25519(body, secretKey));
}
function goodFields(): Canon[] {
  const body = decodeCanonical(buildTx(ADD, secretKey, L).bodyBytes) as Canon[];
  return [...body];
}

test('round trip for every op: bytes → decode → same body, signature verifies over body bytes', () => {
  for (const f of ALL) {
    const tx = buildTx(f, secretKey, L);
    const d = decodeTx(tx.bytes, L);
    assert.ok(bytesEqual(d.bytes, tx.bytes));
    assert.equal(d.body, tx.body);
    assert.ok(bytesEqual(d.body.sender, publicKey));
    assert.ok(verifyZip215(d.body.sender, d.bodyBytes, d.signature));
    assert.is(d.txidHex, toHex(sha256(d.bodyBytes)));
  }
  const dec = decodeTx(buildTx(ALL[1]!, secretKey, L).bytes, L).body.op;
  assert.equal(dec, { op: 'decay', shard: 0, layer: 0, slot: 0, factor: null });
});

test('body layout is the documented one', () => {
  const f = decodeCanonical(buildTx(ALL[3]!, secretKey, L).bodyBytes) as Canon[];
  assert.equal(f, [TX_DOMAIN, 'numchain-test', publicKey, 2 ** 32 - 1, 5, 2, 1, 3, 4, [63, 512]]);
  const add = decodeCanonical(buildTx(ADD, secretKey, L).bodyBytes) as Canon[];
  const bytes = add[9] as Uint8Array;
  assert.is(bytes.length, 512);
  assert.is(new DataView(bytes.buffer, bytes.byteOffset).getInt32(4, true), vec[1]);
});

test('txid is stable across re-encoding and JSON round trips, and excludes the signature', () => {
  const tx = buildTx(ADD, secretKey, L);
  assert.ok(bytesEqual(encodeTxBody(tx.body), tx.bodyBytes));
  const j = JSON.parse(JSON.stringify(txToJson(tx))) as TxJson;
  const back = txFromJson(j, L);
  assert.ok(bytesEqual(back.bytes, tx.bytes));
  assert.is(back.txidHex, tx.txidHex);
  // Another signature over the same body (here: garbage) does not change the txid.
  const other = decodeTx(assembleTx(tx.bodyBytes, new Uint8Array(64).fill(5)), L);
  assert.is(other.txidHex, tx.txidHex);
  assert.not.ok(bytesEqual(other.bytes, tx.bytes));
});

test('non-canonical encodings are rejected (envelope and body)', () => {
  const tx = buildTx(ALL[4]!, secretKey, L);
  // envelope: fixarray(2) → array16(2)
  const env = new Uint8Array(tx.bytes.length + 2);
  env.set([0xdc, 0x00, 0x02]);
  env.set(tx.bytes.subarray(1), 3);
  assert.equal(codeOf(() => decodeTx(env, L)), ['non_canonical', 'tx']);
  // body: nonce 3 as uint32 instead of a positive fixint
  const fields = decodeCanonical(tx.bodyBytes) as Canon[];
  const canonicalBody = tx.bodyBytes;
  // Both arrays are fixarrays (1-byte header), so the nonce starts where the first three fields end.
  const idx = encodeCanonical([TX_DOMAIN, 'numchain-test', publicKey]).length;
  assert.is(fields[3], 3);
  assert.is(canonicalBody[idx], 0x03);
  const body = new Uint8Array(canonicalBody.length + 4);
  body.set(canonicalBody.subarray(0, idx));
  body.set([0xce, 0, 0, 0, 3], idx);
  body.set(canonicalBody.subarray(idx + 1), idx + 5);
  assert.equal(codeOf(() => decodeTx(assembleTx(body, signEd25519(body, secretKey)), L)), ['non_canonical', 'body']);
  assert.equal(codeOf(() => decodeTx(new Uint8Array([0xc1]), L)), ['malformed', 'tx']);
});

test('every malformed field is a TxError naming the field (wire form)', () => {
  const cases: [number, Canon, string, string][] = [
    [0, 'numchain/tx/v2', 'bad_domain', 'domain'],
    [1, '', 'bad_chain_id', 'chainId'],
    [1, 'has space', 'bad_chain_id', 'chainId'],
    [1, 5, 'bad_chain_id', 'chainId'],
    [2, new Uint8Array(31), 'bad_sender', 'sender'],
    [2, 'x', 'bad_sender', 'sender'],
    [3, -1, 'bad_nonce', 'nonce'],
    [3, 2 ** 32, 'bad_nonce', 'nonce'],
    [4, 'soon', 'bad_valid_until', 'validUntil'],
    [4, 2 ** 32, 'bad_valid_until', 'validUntil'],
    [5, 4, 'bad_op', 'opCode'],
    [5, null, 'bad_op', 'opCode'],
    [6, 4, 'bad_shard', 'shard'],
    [6, -1, 'bad_shard', 'shard'],
    [7, 4, 'bad_layer', 'layer'],
    [8, 64, 'bad_slot', 'slot'],
    [9, new Uint8Array(508), 'bad_vec_length', 'vec'],
    [9, 3, 'bad_vec_length', 'vec'],
  ];
  for (const [i, v, code, field] of cases) {
    const f = goodFields();
    f[i] = v;
    assert.equal(codeOf(() => decodeTx(rawTx(f), L)), [code, field], `field ${i} = ${String(v)}`);
  }
  const big = new Uint8Array(512);
  new DataView(big.buffer).setInt32(40, B + 1, true);
  const f = goodFields();
  f[9] = big;
  assert.equal(codeOf(() => decodeTx(rawTx(f), L)), ['bad_vec_value', 'vec[10]']);
  const opCases: [number, Canon, string, string][] = [
    [1, 1025, 'bad_factor', 'factor'],
    [1, -1, 'bad_factor', 'factor'],
    [1, 'x', 'bad_factor', 'factor'],
    [2, [64, 0], 'bad_src', 'src'],
    [2, [0], 'bad_src', 'src'],
    [2, [0, 1025], 'bad_alpha', 'alpha'],
    [3, B + 1, 'bad_bound', 'bound'],
    [3, -1, 'bad_bound', 'bound'],
  ];
  for (const [op, arg, code, field] of opCases) {
    const g = goodFields();
    g[5] = op;
    g[9] = arg;
    assert.equal(codeOf(() => decodeTx(rawTx(g), L)), [code, field], `op ${op} arg ${JSON.stringify(arg)}`);
  }
  const short = goodFields().slice(0, 9);
  assert.equal(codeOf(() => decodeTx(rawTx(short), L)), ['malformed', 'body']);
  const tx = buildTx(ADD, secretKey, L);
  assert.equal(codeOf(() => decodeTx(encodeCanonical([tx.bodyBytes, new Uint8Array(63)]), L)), ['bad_signature', 'signature']);
  assert.equal(codeOf(() => decodeTx(encodeCanonical([tx.bodyBytes]), L)), ['malformed', 'tx']);
  assert.equal(codeOf(() => decodeTx(tx.bytes, { ...L, maxTxBytes: tx.bytes.length - 1 })), ['too_large', 'tx']);
});

test('every malformed field is a TxError naming the field (JSON form)', () => {
  const good = txToJson(buildTx(ALL[3]!, secretKey, L));
  const cases: [Record<string, unknown>, string, string][] = [
    [{ op: 'mul' }, 'bad_op', 'op'],
    [{ sender: good.sender.toUpperCase() }, 'bad_sender', 'sender'],
    [{ sender: good.sender.slice(2) }, 'bad_sender', 'sender'],
    [{ nonce: 1.5 }, 'bad_nonce', 'nonce'],
    [{ validUntil: '5' }, 'bad_valid_until', 'validUntil'],
    [{ shard: 9 }, 'bad_shard', 'shard'],
    [{ src: -1 }, 'bad_src', 'src'],
    [{ alpha: 2000 }, 'bad_alpha', 'alpha'],
    [{ signature: 'ab' }, 'bad_signature', 'signature'],
    [{ txid: '00'.repeat(32) }, 'bad_txid', 'txid'],
    [{ vec: [1] }, 'malformed', 'vec'],
    [{ extra: 1 }, 'malformed', 'extra'],
  ];
  for (const [patch, code, field] of cases) {
    assert.equal(codeOf(() => txFromJson({ ...good, ...patch }, L)), [code, field], JSON.stringify(patch));
  }
  const add = txToJson(buildTx(ADD, secretKey, L));
  assert.equal(codeOf(() => txFromJson({ ...add, vec: add.vec!.slice(1) }, L)), ['bad_vec_length', 'vec']);
  assert.equal(codeOf(() => txFromJson({ ...add, vec: add.vec!.map((x, i) => (i === 3 ? B + 1 : x)) }, L)), ['bad_vec_value', 'vec[3]']);
  assert.equal(codeOf(() => txFromJson({ ...add, vec: add.vec!.map((x, i) => (i === 3 ? 0.5 : x)) }, L)), ['bad_vec_value', 'vec[3]']);
  assert.equal(codeOf(() => txFromJson(null, L)), ['malformed', 'tx']);
  // genesis decay: factor may be null or absent
  const d = txToJson(buildTx(ALL[1]!, secretKey, L));
  assert.is(d.factor, null);
  const { factor: _f, ...noFactor } = d;
  assert.is(txFromJson(noFactor, L).txidHex, txFromJson(d, L).txidHex);
});

test('buildTx refuses to sign what nodes would reject', () => {
  assert.equal(codeOf(() => buildTx({ ...ADD, op: { ...ADD.op, shard: 4 } as TxFields['op'] }, secretKey, L)), ['bad_shard', 'shard']);
  assert.equal(codeOf(() => buildTx(ADD, new Uint8Array(5), L)), ['bad_secret_key', 'secretKey']);
  assert.equal(codeOf(() => buildTx({ ...ADD, nonce: 0.5 }, secretKey, L)), ['malformed', 'body']);
});

test.run();
