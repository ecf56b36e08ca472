import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeCanonical } from '../../src/codec/canonical.ts';
import { encodeBlock, genesisQC } from '../../src/consensus/block.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { decodeMessage, encodeMessage, syncBlockBytes, TAG_MSG, type ConsensusMessage } from '../../src/consensus/messages.ts';
import { Cluster, flat, makeCore, sends } from './helpers.ts';

const h32 = (b: number) => new Uint8Array(32).fill(b);

function rejects(bytes: Uint8Array, code: string, field?: string): void {
  try {
    decodeMessage(bytes);
    assert.unreachable('decoded garbage');
  } catch (e) {
    assert.instance(e, ConsensusError);
    assert.is((e as ConsensusError).code, code, (e as Error).message);
    if (field !== undefined) assert.match((e as ConsensusError).field, field);
  }
}

test('every message type round-trips through its canonical encoding', () => {
  const c = new Cluster([1, 1, 1, 1], { extra: { blockIntervalMs: 10 } });
  c.start();
  c.run(500);
  const seen = new Set<string>();
  for (const acts of c.actions) {
    for (const a of acts) {
      if (a.type !== 'send') continue;
      const m = decodeMessage(a.bytes);
      assert.is(m.type, a.kind);
      assert.equal(encodeMessage(m), a.bytes);
      seen.add(m.type);
    }
  }
  assert.ok(seen.has('proposal') && seen.has('vote'));
  const qc = genesisQC(h32(1));
  const extra: ConsensusMessage[] = [
    { type: 'timeout', round: 3, voter: 2, highQC: qc, highTC: { round: 2, signers: [0, 1, 3], highQcRounds: [0, 1, 1], sigs: [h32(4), h32(5), h32(6)], highQC: { round: 1, height: 1, blockHash: h32(2), signers: [0, 1, 2], sigs: [h32(4), h32(5), h32(6)] } }, sig: h32(9) },
    { type: 'cert', qc, tc: null },
    { type: 'sync_request', fromHeight: 5, toHash: h32(3) },
    { type: 'sync_response', blocks: [], qc: null },
    { type: 'evidence', evidence: { kind: 'vote', validator: 1, round: 4, a: { height: 2, blockHash: h32(1), sig: h32(7) }, b: { height: 2, blockHash: h32(2), sig: h32(8) } } },
  ];
  for (const m of extra) assert.equal(decodeMessage(encodeMessage(m)), m);
});

test('syncBlockBytes counts exactly the bytes a block takes in its canonical encoding', () => {
  const c = new Cluster([1, 1, 1, 1], { extra: { blockIntervalMs: 10 } });
  c.start();
  c.run(200);
  const proposal = c.actions.flat().find((a) => a.type === 'send' && a.kind === 'proposal');
  assert.ok(proposal && proposal.type === 'send');
  const m = decodeMessage(proposal.bytes);
  assert.ok(m.type === 'proposal');
  // Transaction counts and sizes on both sides of every header-size boundary.
  for (const [n, len] of [[0, 0], [1, 0], [3, 255], [15, 256], [16, 700], [17, 65535], [2, 65536]] as const) {
    const block = { ...m.block, txs: Array.from({ length: n }, (_, i) => new Uint8Array(len).fill(i)) };
    assert.is(syncBlockBytes(block), encodeBlock(block).length, `${n} txs of ${len} bytes`);
  }
});

test('decoding rejects garbage with typed errors naming the field', () => {
  rejects(new Uint8Array([0xc1]), 'bad_encoding');
  rejects(new Uint8Array(0), 'bad_encoding');
  rejects(encodeCanonical(['other/tag', 'vote']), 'bad_tag', 'message.tag');
  rejects(encodeCanonical([TAG_MSG, 'gossip']), 'bad_field', 'message.type');
  rejects(encodeCanonical([TAG_MSG, 'sync_request', -1, h32(0)]), 'bad_field', 'sync_request.fromHeight');
  rejects(encodeCanonical([TAG_MSG, 'sync_request', 1, new Uint8Array(31)]), 'bad_field', 'sync_request.toHash');
  rejects(encodeCanonical([TAG_MSG, 'sync_request', 1]), 'bad_field', 'message');
  rejects(encodeCanonical([TAG_MSG, 'cert', [1, 1, h32(0), [1, 0], [h32(0), h32(0)]], null]), 'bad_field', 'cert.qc.signers');
  rejects(encodeCanonical([TAG_MSG, 'cert', [1, 1, h32(0), [0], []], null]), 'bad_field', 'cert.qc.sigs');
  // Evidence halves must be ordered (one encoding per equivocation).
  rejects(encodeCanonical([TAG_MSG, 'evidence', ['vote', 1, 4, [2, h32(2), h32(7)], [2, h32(1), h32(8)]]]), 'bad_evidence');
  // A TC whose high-QC round is not below its round.
  rejects(encodeCanonical([TAG_MSG, 'cert', [0, 0, h32(0), [], []], [3, [0], [3], [h32(1)], [0, 0, h32(0), [], []]]]), 'bad_tc');
  // A TC without the QC of its highest round (the format before TCs carried it).
  rejects(encodeCanonical([TAG_MSG, 'cert', [0, 0, h32(0), [], []], [3, [0], [2], [h32(1)]]]), 'bad_field', 'cert.tc');
});

test('a proposal whose transactions were tampered with is rejected, not voted for', () => {
  const probe = makeCore([1, 1, 1, 1], -1);
  const L = probe.core.leaderFor(probe.genesis.hash, 1)!;
  const leader = makeCore([1, 1, 1, 1], L);
  const prop = sends([...flat(leader.core.start(0)), ...flat(leader.core.onTimer(0))], 'proposal')[0]!;
  const m = decodeMessage(prop.bytes);
  assert.is(m.type, 'proposal');
  if (m.type !== 'proposal') return;
  const forged = encodeMessage({ ...m, block: { ...m.block, txs: [...m.block.txs, new Uint8Array([1, 2, 3])] } });
  const v = makeCore([1, 1, 1, 1], (L + 1) % 4);
  v.core.start(0);
  const out = flat(v.core.onMessage(L, forged, 1));
  assert.is(sends(out, 'vote').length, 0);
  assert.is(v.core.metrics.invalidMessages, 1);
  assert.ok(out.some((a) => a.type === 'log' && a.msg.includes('txRoot')));
  // The untampered proposal is accepted by the same node.
  assert.is(sends(v.core.onMessage(L, prop.bytes, 2), 'vote').length, 1);
});

test.run();
