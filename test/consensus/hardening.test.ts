// Regression tests for three ways the chain could stop for good (issue 17), each on the real core:
// a whole-cluster restart after a TC, a TC poisoned by faulty validators' claims, and uncertified
// blocks pushed in as sync responses. Each failed before the fix it names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeBlock, timeoutSignBytes } from '../../src/consensus/block.ts';
import type { Ready } from '../../src/consensus/ready.ts';
import { decodeMessage, encodeMessage } from '../../src/consensus/messages.ts';
import type { Block, QC, SafetyState, TC } from '../../src/consensus/types.ts';
import { Cluster, flat, makeCore, type Action } from './helpers.ts';

/** What a node has on disk: its last persisted safety state, stored pending blocks, committed log. */
interface Disk {
  safety: SafetyState | null;
  pending: Block[];
  log: { block: Block; qc: QC }[];
}

function diskOf(actions: readonly Action[]): Disk {
  const d: Disk = { safety: null, pending: [], log: [] };
  for (const a of actions) {
    if (a.type === 'persist') d.safety = a.safety;
    if (a.type === 'persistBlock') d.pending.push(a.block);
    if (a.type === 'commit') d.log.push({ block: a.block, qc: a.qc });
  }
  return d;
}

/** A fresh core for validator `i` recovered from `disk` as a node does: replay the log, restore pending blocks. */
function recovered(powers: number[], i: number, disk: Disk, now: number): { node: ReturnType<typeof makeCore>; restore: Ready } {
  const node = makeCore(powers, i, { safety: disk.safety });
  for (const { block, qc } of disk.log) {
    const r = node.app.execute(block.header.parentHash, block.header.height, block.txs);
    node.app.attach(r.id, block.hash);
    node.core.replayCommitted(block, qc);
  }
  return { node, restore: node.core.restoreBlocks(disk.pending, now) };
}

test('a whole-cluster power cut right after a TC: every node restarts able to time out, and the chain commits again', () => {
  // Four validators, one down for good; the other three are cut while rounds time out one after
  // another (no proposal arrives), right after a TC. Before the fix they resumed one round above
  // the highest justify among their stored blocks, below the round they had timed out in, with a
  // lock raised from a QC held only in memory: no vote, no timeout, no message, forever.
  const powers = [1, 1, 1, 1];
  const c = new Cluster(powers, { extra: { blockIntervalMs: 10, timeoutBaseMs: 200 } });
  const down = 3;
  c.filter = (m) => m.from !== down && m.to !== down;
  c.start();
  c.run(1500);
  const live = [0, 1, 2];
  const h0 = Math.min(...live.map((i) => c.committed(i).length));
  assert.ok(h0 > 5, `the three commit at first: ${h0}`);
  // Now every round times out: proposals are lost.
  c.filter = (m) => m.from !== down && m.to !== down && m.kind !== 'proposal';
  const tcs = () => Math.max(...live.map((i) => c.nodes[i]!.core.metrics.tcsFormed));
  const t0 = tcs();
  while (tcs() < t0 + 3 && c.now < 20_000) c.run(c.now + 10);
  assert.ok(tcs() >= t0 + 3, 'consecutive TCs formed');
  const roundsAtCut = live.map((i) => c.nodes[i]!.core.currentRound);

  // Power cut: everything in memory is gone; each node comes back from its disk.
  const now = c.now + 500;
  const back = new Cluster(powers, { extra: { blockIntervalMs: 10, timeoutBaseMs: 200 } });
  back.now = now;
  back.filter = (m) => m.from !== down && m.to !== down;
  for (const i of live) {
    const { node, restore } = recovered(powers, i, diskOf(c.actions[i]!), now);
    back.nodes[i] = node;
    back.handle(i, restore);
    back.handle(i, node.core.start(now));
    assert.ok(node.core.currentRound >= node.core.safetyState.lastVotedRound, `node ${i} resumes at or above the round it last signed in`);
    assert.ok(node.core.highestQC.round >= node.core.safetyState.highestQcRound, `node ${i}'s high QC is at or above its lock`);
  }
  back.run(now + 8000);
  for (const i of live) {
    const before = diskOf(c.actions[i]!).log.length;
    const after = back.committed(i).length;
    assert.ok(after > 0, `node ${i} (cut in round ${roundsAtCut[i]}) commits again after the restart (had ${before})`);
  }
});

test('a TC in which faulty validators claim a high QC nobody has is refused', () => {
  // Seven validators, f = 2. Round 3 timed out at everyone with high QC 1; the two faulty ones sign
  // timeouts claiming round 2 and assemble a TC from them and three honest timeouts. Before the fix
  // the TC was valid and, as the first of its round, stuck: no honest node could vote after it.
  const powers = [1, 1, 1, 1, 1, 1, 1];
  const c = new Cluster(powers, { extra: { blockIntervalMs: 10 } });
  c.start();
  c.run(300);
  const victim = c.nodes[0]!.core;
  const qc = victim.highestQC;
  const round = victim.currentRound + 1;
  const { keys, chainId } = c.nodes[0]!;
  const claims: [number, number][] = [[2, qc.round], [3, qc.round], [4, qc.round], [5, round - 1], [6, round - 1]];
  const tc: TC = {
    round, signers: claims.map(([v]) => v), highQcRounds: claims.map(([, r]) => r),
    sigs: claims.map(([v, r]) => keys[v]!.signer.sign(timeoutSignBytes(chainId, round, r))), highQC: qc,
  };
  const invalid = victim.metrics.invalidMessages;
  const out = flat(victim.onMessage(5, encodeMessage({ type: 'cert', qc, tc }), c.now));
  assert.is(victim.metrics.invalidMessages, invalid + 1, 'counted as invalid');
  assert.ok(out.some((a) => a.type === 'log' && /highQC\.round/.test(a.msg)), 'the log names the field');
  assert.not.ok(victim.highestTC !== null && victim.highestTC.round === round, 'not adopted as the TC of its round');
});

test('sync responses: an unsolicited one is dropped unread, an uncertified block is never inserted or executed', () => {
  const powers = [1, 1, 1, 1];
  const c = new Cluster(powers, { extra: { blockIntervalMs: 10 } });
  const lag = 1;
  c.start();
  c.run(300);
  c.filter = (m) => m.from !== lag && m.to !== lag; // validator 1 falls behind
  c.run(1500);
  const victim = c.nodes[lag]!.core;
  const tip = victim.committedHeight;
  const ahead = c.committed(0);
  assert.ok(ahead.length > tip + 3, 'the others moved on');

  /** A block at `height` on top of `parent` with a valid header and roots, which nobody voted for. */
  const forge = (parent: Block, justify: QC): Block => {
    const height = parent.header.height + 1;
    const round = justify.round + 1;
    const exec = c.nodes[3]!.app.execute(parent.hash, height, [new Uint8Array([1, 2, 3])]);
    return makeBlock({
      chainId: c.nodes[lag]!.chainId, height, round, parentHash: parent.hash, proposer: victim.leaderFor(parent.hash, round)!, timestamp: 0,
      txRoot: exec.txRoot, stateRoot: exec.stateRoot, justify, tc: null, epoch: Math.floor(height / 8), randao: { commit: null, reveal: null }, evidence: [],
    }, [new Uint8Array([1, 2, 3])]);
  };
  const base = victim.committedBlock;
  const forged = forge(base, victim.highestQC);
  // Its tail claims a QC for the forged block that nobody signed.
  const tail = makeBlock({ ...forged.header, height: forged.header.height + 1, round: forged.header.round + 1, parentHash: forged.hash, justify: { round: forged.header.round, height: forged.header.height, blockHash: forged.hash, signers: [0, 2, 3], sigs: [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)] } }, []);
  const forgedResponse = encodeMessage({ type: 'sync_response', blocks: [forged, tail], qc: null });
  const pending = victim.pendingBlocks();

  // Unasked: dropped unread (before the fix the forged block was executed, stored and inserted).
  const unsolicited = flat(victim.onMessage(3, forgedResponse, c.now));
  assert.is(victim.metrics.unsolicitedSyncResponses, 1);
  assert.not.ok(unsolicited.some((a) => a.type === 'persistBlock'), 'nothing stored');
  assert.is(victim.pendingBlocks(), pending, 'nothing inserted');

  // A real QC of a block it lacks makes it ask validator 3 for the blocks after its tip.
  const ask = flat(victim.onMessage(3, encodeMessage({ type: 'cert', qc: c.nodes[0]!.core.highestQC, tc: null }), c.now));
  const req = ask.find((a) => a.type === 'send' && a.kind === 'sync_request');
  assert.ok(req !== undefined && req.type === 'send' && req.to === 3, 'asked validator 3');
  const asked = decodeMessage(req.bytes);
  assert.ok(asked.type === 'sync_request' && asked.fromHeight === tip + 1);

  // Answered with the forged range: its top QC does not verify, so nothing of it is stored or inserted.
  const invalid = victim.metrics.invalidMessages;
  const answered = flat(victim.onMessage(3, forgedResponse, c.now));
  assert.is(victim.metrics.invalidMessages, invalid + 1);
  assert.not.ok(answered.some((a) => a.type === 'persistBlock'), 'nothing stored');
  assert.is(victim.pendingBlocks(), pending, 'nothing inserted');

  // The genuine blocks, asked for again, are taken.
  victim.onMessage(3, encodeMessage({ type: 'cert', qc: c.nodes[0]!.core.highestQC, tc: null }), c.now + 5000);
  const real = ahead.slice(tip, tip + 6);
  const good = flat(victim.onMessage(3, encodeMessage({ type: 'sync_response', blocks: real, qc: null }), c.now + 5000));
  assert.ok(good.some((a) => a.type === 'commit' || a.type === 'persistBlock'), 'real blocks are inserted');
  assert.ok(victim.committedHeight > tip, `committed past ${tip}: ${victim.committedHeight}`);
});

test('votes and timeouts signed for rounds far ahead never crowd out the current round', () => {
  const powers = [1, 1, 1, 1];
  const c = new Cluster(powers, { extra: { blockIntervalMs: 10 } });
  c.start();
  c.run(300);
  const victim = c.nodes[0]!.core;
  const { keys, chainId } = c.nodes[0]!;
  const qc = victim.highestQC;
  const r0 = victim.currentRound;
  // Validator 3 signs a timeout for each of the next 64 rounds (inside the aggregation window).
  for (let r = r0 + 1; r <= r0 + 64; r++) {
    victim.onMessage(3, encodeMessage({ type: 'timeout', round: r, voter: 3, highQC: qc, highTC: null, sig: keys[3]!.signer.sign(timeoutSignBytes(chainId, r, qc.round)) }), c.now);
  }
  // The honest timeouts of the current round still form a TC (before the fix: dropped, the buckets being full).
  let tc: TC | null = null;
  for (const v of [1, 2, 3]) {
    const out = victim.onMessage(v, encodeMessage({ type: 'timeout', round: r0, voter: v, highQC: qc, highTC: null, sig: keys[v]!.signer.sign(timeoutSignBytes(chainId, r0, qc.round)) }), c.now);
    for (const a of flat(out)) {
      if (a.type !== 'send' || a.kind !== 'cert') continue;
      const m = decodeMessage(a.bytes);
      if (m.type === 'cert' && m.tc !== null) tc = m.tc;
    }
  }
  assert.ok(tc !== null && tc.round === r0, 'the TC of the current round formed');
  assert.ok(victim.currentRound > r0);
});

test.run();
