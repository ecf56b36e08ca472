import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ready } from '../../src/consensus/ready.ts';
import { toHex } from '../../src/crypto/sha256.ts';
import { decodeMessage } from '../../src/consensus/messages.ts';
import type { ConsensusConfig, SafetyState } from '../../src/consensus/types.ts';
import { Cluster, commits, makeCore, sends, flat, type Action } from './helpers.ts';

const hashes = (bs: { hash: Uint8Array }[]) => bs.map((b) => toHex(b.hash));

function checkChain(c: Cluster, i: number): void {
  const bs = c.committed(i);
  bs.forEach((b, k) => {
    assert.is(b.header.height, k + 1, 'commits come in height order, exactly once');
    if (k > 0) assert.is(toHex(b.header.parentHash), toHex(bs[k - 1]!.hash));
  });
  for (const a of c.actions[i]!) if (a.type === 'commit') assert.is(toHex(a.qc.blockHash), toHex(a.block.hash), 'commit carries the QC certifying the block');
}

test('one validator is a quorum of one and commits on its own', () => {
  const c = new Cluster([1], { extra: { blockIntervalMs: 100 } });
  c.start();
  c.run(1000);
  const bs = c.committed(0);
  assert.ok(bs.length >= 5, `committed ${bs.length}`);
  checkChain(c, 0);
});

test('four validators commit the same chain; leaders rotate', () => {
  const c = new Cluster([1, 1, 1, 1], { extra: { blockIntervalMs: 10 } });
  c.start();
  c.run(2000);
  const ref = hashes(c.committed(0));
  assert.ok(ref.length >= 20, `committed ${ref.length}`);
  for (let i = 0; i < 4; i++) {
    checkChain(c, i);
    const mine = hashes(c.committed(i));
    const n = Math.min(ref.length, mine.length);
    assert.equal(mine.slice(0, n), ref.slice(0, n));
  }
  const proposers = new Set(c.committed(0).map((b) => b.header.proposer));
  assert.equal([...proposers].sort(), [0, 1, 2, 3]);
  assert.is(c.nodes[0]!.core.metrics.timeouts, 0);
});

test('a silent leader causes a TC; commits need a 2-chain of consecutive rounds', () => {
  const c = new Cluster([1, 1, 1, 1], { extra: { blockIntervalMs: 10 } });
  // Drop every round-2 proposal: round 2 ends in a TC, the round-3 block carries it.
  const origHandle = c.handle.bind(c);
  c.handle = (i: number, acts: Ready | Action[]) => {
    origHandle(i, acts);
    for (let k = c.queue.length - 1; k >= 0; k--) {
      const m = c.queue[k]!;
      if (m.kind === 'proposal' && (decodeMessage(m.bytes) as { block: { header: { round: number } } }).block.header.round === 2) c.queue.splice(k, 1);
    }
  };
  c.start();
  c.run(5000);
  const core0 = c.nodes[0]!.core;
  assert.ok(core0.metrics.tcsFormed >= 1, 'TC formed');
  assert.ok(core0.metrics.viewChanges >= 1);
  const bs = c.committed(0);
  assert.ok(bs.length >= 5, 'liveness resumes after the view change');
  checkChain(c, 0);
  const b3 = bs.find((b) => b.header.round === 3)!;
  assert.ok(b3 !== undefined && b3.header.tc !== null && b3.header.tc.round === 2, 'round-3 block carries the TC');
  assert.is(bs[0]!.header.round, 1);
  // Block 1 (round 1) is certified by QC(3)'s block only through a gap, so it must not commit before
  // the 2-chain 3 ← 4 exists: it commits in the same step as the round-3 block.
  const batch = c.batches[0]!.find((acts) => commits(acts).some((b) => b.header.height === 1))!;
  assert.equal(commits(batch).map((b) => b.header.round), [1, 3]);
});

function equivocatingLeaderOfRound1() {
  const probe = makeCore([1, 1, 1, 1], -1);
  const L = probe.core.leaderFor(probe.genesis.hash, 1)!;
  const leader = makeCore([1, 1, 1, 1], L, { unsafe: { equivocateProposals: true } });
  const props = sends([...flat(leader.core.start(0)), ...flat(leader.core.onTimer(0))], 'proposal');
  const even = props.find((p) => p.to !== L && (p.to as number) % 2 === 0)!;
  const odd = props.find((p) => p.to !== L && (p.to as number) % 2 === 1)!;
  return { L, leader, a: even.bytes, b: odd.bytes, others: [0, 1, 2, 3].filter((i) => i !== L) };
}

test('persisted safety state prevents a second vote in the same round after restart', () => {
  const { L, a, b, others } = equivocatingLeaderOfRound1();
  assert.not.equal(toHex(a), toHex(b));
  const me = others[0]!;
  const v = makeCore([1, 1, 1, 1], me);
  v.core.start(0);
  const a1 = flat(v.core.onMessage(L, a, 1));
  assert.is(sends(a1, 'vote').length, 1);
  const persistIdx = a1.findIndex((x) => x.type === 'persist');
  const sendIdx = a1.findIndex((x) => x.type === 'send' && x.kind === 'vote');
  assert.ok(persistIdx >= 0 && persistIdx < sendIdx, 'persist comes before the signed vote leaves');
  const persisted = (a1[persistIdx] as { safety: SafetyState }).safety;
  assert.is(persisted.lastVotedRound, 1);

  const restarted = makeCore([1, 1, 1, 1], me, { safety: persisted });
  restarted.core.start(2);
  assert.is(sends(restarted.core.onMessage(L, b, 3), 'vote').length, 0, 'no vote for the conflicting block');
  // Without the persisted state the same node would have signed the conflicting vote.
  const amnesiac = makeCore([1, 1, 1, 1], me);
  amnesiac.core.start(2);
  assert.is(sends(amnesiac.core.onMessage(L, b, 3), 'vote').length, 1);
});

test('two proposals for one round from one leader become evidence', () => {
  const { L, a, b, others } = equivocatingLeaderOfRound1();
  const w = makeCore([1, 1, 1, 1], others[1]!);
  w.core.start(0);
  assert.is(flat(w.core.onMessage(L, a, 1)).filter((x) => x.type === 'evidence').length, 0);
  const out = flat(w.core.onMessage(L, b, 2));
  const ev = out.filter((x) => x.type === 'evidence');
  assert.is(ev.length, 1);
  assert.ok(w.core.hasEvidence('proposal', L, 1));
  assert.ok(sends(out, 'evidence').length === 1, 'evidence is gossiped');
  // The same pair again is not new evidence.
  assert.is(flat(w.core.onMessage(L, b, 3)).filter((x) => x.type === 'evidence').length, 0);
});

/**
 * Four validators of power 2 where the leader of round 1 equivocates, on a gossiping network: every
 * proposal the equivocator sends reaches everyone.
 */
function equivocatorCluster(extra: Partial<ConsensusConfig>): { c: Cluster; L: number } {
  const c = new Cluster([2, 2, 2, 2], { extra });
  const probe = makeCore([2, 2, 2, 2], -1);
  const L = probe.core.leaderFor(probe.genesis.hash, 1)!;
  c.nodes[L] = makeCore([2, 2, 2, 2], L, { unsafe: { equivocateProposals: true }, extra });
  const origHandle = c.handle.bind(c);
  c.handle = (i: number, out: Ready | Action[]) => {
    const acts = Array.isArray(out) ? out : flat(out);
    origHandle(i, i === L ? acts.map((x) => (x.type === 'send' && x.kind === 'proposal' ? { ...x, to: 'all' as const } : x)) : acts);
  };
  return { c, L };
}

test('evidence is put on chain and slashes effective power at commit', () => {
  const { c, L } = equivocatorCluster({ blockIntervalMs: 10, epochLength: 4 });
  c.start();
  c.run(4000);
  const honest = others(L);
  const core1 = c.nodes[honest[0]!]!.core;
  assert.ok(core1.metrics.evidenceFound >= 1, 'someone saw both proposals');
  const slashes = c.actions[honest[0]!]!.filter((x) => x.type === 'slashing');
  assert.ok(slashes.length >= 1, 'a slashing event was committed');
  assert.ok(core1.currentPowers()[L]! < 2);
  for (const h of honest) assert.is(core1.currentPowers()[h], 2);
  checkChain(c, honest[0]!);
});

function others(L: number): number[] {
  return [0, 1, 2, 3].filter((i) => i !== L);
}

test('a node cut off for a while catches up by block sync and commits the same chain', () => {
  const c = new Cluster([1, 1, 1, 1], { extra: { blockIntervalMs: 10, timeoutBaseMs: 50, limits: { maxSyncBlocks: 4 } } });
  let cut = true;
  c.filter = (m) => !(cut && (m.from === 3 || m.to === 3));
  c.start();
  c.run(2000);
  assert.is(c.committed(3).length, 0);
  const ahead = c.committed(0).length;
  assert.ok(ahead >= 10);
  cut = false;
  c.run(3000);
  const core3 = c.nodes[3]!.core;
  assert.ok(core3.metrics.syncBlocksApplied > 0, `synced ${core3.metrics.syncBlocksApplied} of ${ahead}`);
  checkChain(c, 3);
  const ref = hashes(c.committed(0));
  const mine = hashes(c.committed(3));
  assert.ok(mine.length >= ahead);
  assert.equal(mine, ref.slice(0, mine.length));
});

test('garbage input is counted and logged, never thrown', () => {
  const v = makeCore([1, 1, 1, 1], 1);
  v.core.start(0);
  const out = flat(v.core.onMessage(0, new Uint8Array([0xc1, 0x00, 0xff]), 1));
  assert.ok(out.some((a) => a.type === 'log' && a.level === 'warn'));
  assert.is(v.core.metrics.invalidMessages, 1);
});

test('export/import of committed-derived state round-trips', () => {
  const c = new Cluster([1, 2, 3], { extra: { blockIntervalMs: 10, epochLength: 4 } });
  c.start();
  c.run(1500);
  const src = c.nodes[0]!.core;
  const bytes = src.exportState();
  const fresh = makeCore([1, 2, 3], 0);
  fresh.core.importState(bytes);
  assert.equal(fresh.core.exportState(), bytes);
  assert.equal(fresh.core.currentEpoch(), src.currentEpoch());
  assert.ok(src.currentEpoch().epoch >= 2, 'several epochs passed');
});

/**
 * An equivocating leader among [2, 2, 2, 2] is slashed by `slashPermille`; once the epoch's leader
 * weights show it (or after 20 s), one honest validator is cut off. Returns the equivocator's leader
 * weight, how many blocks an honest node commits afterwards, and how many of those it proposed.
 */
function commitsAfterSlashAndCut(slashPermille: number): { slashedTo: number; after: number; ledBySlashed: number } {
  const { c, L } = equivocatorCluster({ blockIntervalMs: 10, epochLength: 4, slashPermille });
  const [watch, cut] = others(L);
  const core = c.nodes[watch!]!.core;
  c.start();
  // Until the slashing is in the epoch weights of the committed chain (2 blocks into that epoch).
  while (c.now < 20_000 && !(core.metrics.slashingEvents > 0 && core.currentEpoch().powers[L] !== 2 && core.committedHeight % 4 >= 2)) c.run(c.now + 100);
  const slashedTo = core.currentEpoch().powers[L]!;
  c.filter = (m) => m.from !== cut && m.to !== cut;
  // Blocks already certified may still commit: count from a while after the cut.
  c.run(c.now + 2000);
  const before = c.committed(watch!).length;
  c.run(c.now + 4000);
  checkChain(c, watch!);
  const later = c.committed(watch!).slice(before);
  return { slashedTo, after: later.length, ledBySlashed: later.filter((b) => b.header.proposer === L).length };
}

test('a slashed validator loses leader weight, never voting power: quorums stay in bonded power', () => {
  // Not slashed at all (permille 0), the cut costs nothing either.
  const kept = commitsAfterSlashAndCut(0);
  assert.is(kept.slashedTo, 2);
  assert.ok(kept.after > 0, `commits with one honest validator cut off: ${kept.after}`);
  // Slashed to 0 it never leads again, but the equivocator and two honest validators still hold
  // 6 of 8 bonded power, a quorum: the chain goes on.
  const gone = commitsAfterSlashAndCut(1000);
  assert.is(gone.slashedTo, 0);
  assert.ok(gone.after > 0, `commits with the slashed validator's votes counted in bonded power: ${gone.after}`);
  assert.is(gone.ledBySlashed, 0, 'a validator slashed to 0 leads no block');
});

test.run();
