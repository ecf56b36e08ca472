import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { genesisBlock, genesisQC, makeBlock } from '../../src/consensus/block.ts';
import type { QC } from '../../src/consensus/types.ts';
import { sha256, toHex } from '../../src/crypto/sha256.ts';
import { LOG_JSON } from '../../src/util/log-record.ts';
import { decodeRecord, makeRecord } from '../../src/driver/records.ts';
import type { Receipt } from '../../src/chain/receipts.ts';

const root = sha256(new Uint8Array([1]));
const g = genesisBlock('records-test', 1_700_000_000_000, root, [{ publicKey: new Uint8Array(32).fill(3), power: 1 }]);
const txs = [new Uint8Array(300).fill(7), new Uint8Array([0x92, 1, 2]), new Uint8Array(0)];
const block = makeBlock({ ...g.header, height: 1, round: 1, parentHash: g.hash, justify: genesisQC(g.hash), stateRoot: sha256(new Uint8Array([2])) }, txs);
const qc: QC = { round: 1, height: 1, blockHash: block.hash, signers: [0], sigs: [new Uint8Array(64).fill(9)] };
const receipts: Receipt[] = [
  { txid: toHex(sha256(txs[0]!)), height: 1, index: 0, status: 'applied', row: 5, leaf: toHex(sha256(new Uint8Array([5]))) },
  { txid: null, height: 1, index: 1, status: 'rejected', reason: 'malformed', field: 'tx' },
  { txid: toHex(sha256(txs[2]!)), height: 1, index: 2, status: 'rejected', reason: 'bad_domain', field: 'domain "quoted"\\' },
];

test('a block record carries exactly its JSON.stringify as its log text, and decodes back', () => {
  const rec = makeRecord(block, qc, { height: 1, blockHash: block.hash, stateRoot: block.header.stateRoot, txRoot: root, receipts });
  const own = rec[LOG_JSON]!;
  const text = typeof own === 'string' ? own : own.join('');
  assert.is(text, JSON.stringify(rec));
  const back = decodeRecord(JSON.parse(text), 10, 1024);
  assert.is(toHex(back.block.hash), toHex(block.hash));
  assert.equal(back.block.txs, txs);
  assert.is(toHex(back.qc.blockHash), toHex(block.hash));
  assert.equal(back.receipts, receipts);
  assert.is(back.root, toHex(block.header.stateRoot));
});

test.run();
