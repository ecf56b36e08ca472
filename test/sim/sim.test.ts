import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enumeratedSchedule } from '../../src/sim/faults.ts';
import { engineModule } from '../../src/host/node-loader.ts';
import { nodesForSeed, runSimulation } from '../../src/sim/simulator.ts';

// The real replica driver with the real ChainApp and ma.wasm; tests without it run the fast core mode.
const replica = { mode: 'replica', wasm: engineModule() } as const;

test('random-fault seeds keep every invariant', async () => {
  for (const seed of [2, 3, 5]) {
    const r = await runSimulation({ seed, nodes: nodesForSeed(seed), faults: 'random', durationMs: 8000 });
    assert.ok(r.ok, `seed ${seed}: ${r.violations.join(' | ')}`);
    assert.ok(r.stats.minHonestHeight > 5, `seed ${seed} made progress`);
  }
});

test('a seed replays exactly, in both modes', async () => {
  for (const mode of [{}, replica]) {
    const a = await runSimulation({ seed: 11, nodes: 4, faults: 'random', durationMs: 4000, ...mode });
    const b = await runSimulation({ seed: 11, nodes: 4, faults: 'random', durationMs: 4000, ...mode });
    assert.equal(a, b);
    const c = await runSimulation({ seed: 12, nodes: 4, faults: 'random', durationMs: 4000, ...mode });
    assert.not.equal(a.stats, c.stats);
  }
});

test('a lagging validator catches up when copies of old sync answers arrive late (seed 1993 of the offline sweep)', async () => {
  // 2 validators, one of them a quorum alone, slow asymmetric links and skewed clocks: each retried
  // sync request brought a second answer, which used to void the answer to the next request, so the
  // lagging node fell further behind at every step.
  for (const mode of [{}, replica]) {
    const r = await runSimulation({ seed: 1993, nodes: nodesForSeed(1993), faults: 'random', ...mode });
    assert.ok(r.ok, r.violations.join(' | '));
  }
});

test('an equivocating, double-voting leader is survived and caught', async () => {
  const r = await runSimulation({ seed: 7, nodes: 4, faults: { byzantine: 'equivocate', dropRate: 0.05, maxDelayMs: 50 }, durationMs: 6000 });
  assert.ok(r.ok, r.violations.join(' | '));
  assert.ok(r.stats.equivocations > 0);
  assert.ok(r.stats.evidence > 0);
});

test('Twins (two instances, one key) cannot break safety and are caught', async () => {
  const r = await runSimulation({ seed: 9, nodes: 4, faults: { byzantine: 'twins', maxDelayMs: 100 }, durationMs: 6000 });
  assert.ok(r.ok, r.violations.join(' | '));
  assert.ok(r.stats.equivocations > 0 && r.stats.evidence > 0);
});

test('crash-restart with lost unsynced writes, torn appends and partitions, on the real replica', async () => {
  // A few seeds, so that some crash whatever the exact message pattern (it moves the random draws).
  let crashes = 0;
  for (const seed of [20, 21, 22]) {
    const r = await runSimulation({ seed, nodes: 5, faults: { crashes: true, partitions: true, dropRate: 0.05, maxDelayMs: 100 }, durationMs: 8000, ...replica });
    assert.ok(r.ok, `seed ${seed}: ${r.violations.join(' | ')}`);
    crashes += r.stats.crashes;
  }
  assert.ok(crashes > 0, 'some seed crashed a node');
});

test('a validator that is down loses its leader turns: few timeouts, the chain keeps pace with the rounds', async () => {
  for (const [powers, down] of [[[1, 1, 1, 1], 2], [[3, 1, 1, 1], 1], [[1, 1, 1, 1, 1, 1, 1], 0]] as const) {
    const r = await runSimulation({ seed: 1, nodes: powers.length, powers, faults: { down: [down], maxDelayMs: 20 }, durationMs: 20000 });
    assert.ok(r.ok, r.violations.join(' | '));
    const live = powers.length - 1;
    const perNode = r.stats.timeouts / live;
    // Without benching the dead validator leads ~1/n of all rounds, each ending in a timeout.
    assert.ok(perNode * 10 < r.stats.rounds, `${JSON.stringify(powers)}: ${perNode} timeouts per node in ${r.stats.rounds} rounds`);
    assert.ok(r.stats.minHonestHeight >= 0.9 * r.stats.rounds, `${JSON.stringify(powers)}: height ${r.stats.minHonestHeight} after ${r.stats.rounds} rounds`);
  }
});

test('a validator killed mid-run, some of its last messages lost: commits resume after one round timeout', async () => {
  // Its next turn times out once; then it is benched. Its last vote may have reached only some nodes:
  // the QC sent on to the next leader keeps that from costing a second timeout.
  for (let seed = 1; seed <= 6; seed++) {
    for (const validator of [0, 1, 2, 3]) {
      const r = await runSimulation({ seed, nodes: 4, faults: { killAt: { validator, atMs: 2500 + 97 * seed }, maxDelayMs: 20 }, durationMs: 9000, timeoutBaseMs: 1000 });
      assert.ok(r.ok, r.violations.join(' | '));
      assert.ok(r.stats.maxGapAfterKillMs < 1500, `seed ${seed}, validator ${validator} killed: longest commit gap ${r.stats.maxGapAfterKillMs} ms`);
    }
  }
});

// Seeds of the new scenario classes that failed before issue 17's fixes (docs/consensus.md, Simulator).
for (const [seed, what] of [[127, 'power cut after a TC'], [56, 'poisoned TCs'], [57, 'sync injection'], [52, 'far-future rounds']] as const) {
  test(`seed ${seed} (${what}), which stopped the chain for good before, keeps every invariant`, async () => {
    const r = await runSimulation({ seed, nodes: nodesForSeed(seed), faults: 'random' });
    assert.ok(r.ok, r.violations.join(' | '));
    assert.ok(r.stats.minHonestHeight > 20, `height ${r.stats.minHonestHeight}`);
  });
}

test('f faulty validators poisoning TCs on 7 validators: refused, the chain goes on', async () => {
  for (const seed of [1, 2]) {
    const r = await runSimulation({ seed, nodes: 7, faults: { byzantine: 'poison-tc', byzantineCount: 2, partitions: true, maxDelayMs: 40 } });
    assert.ok(r.ok, r.violations.join(' | '));
    assert.ok(/poisonedTcs=[1-9]/.test(r.stats.adversary), `the coalition sent poisoned TCs: ${r.stats.adversary}`);
    assert.ok(r.stats.minHonestHeight > 50, `height ${r.stats.minHonestHeight}`);
  }
});

test('twins that really diverge, under an enumerated partition schedule', async () => {
  for (const index of [5, 77, 300]) {
    const r = await runSimulation({ seed: index, nodes: 4, faults: { byzantine: 'twins', roundPartitions: enumeratedSchedule(index, 4, 3, 4), maxDelayMs: 40 }, durationMs: 6000 });
    assert.ok(r.ok, r.violations.join(' | '));
    assert.ok(r.stats.minHonestHeight > 10);
  }
});

test('asymmetric links and skewed clocks', async () => {
  const r = await runSimulation({ seed: 3, nodes: 5, faults: { asymmetric: true, clockSkew: true, partitions: true, maxDelayMs: 100 }, durationMs: 8000 });
  assert.ok(r.ok, r.violations.join(' | '));
  assert.ok(r.stats.minHonestHeight > 10);
});

test('real Ed25519 signatures', async () => {
  const r = await runSimulation({ seed: 4, nodes: 4, realSignatures: true, faults: { maxDelayMs: 20 }, durationMs: 1200 });
  assert.ok(r.ok, r.violations.join(' | '));
  assert.ok(r.stats.minHonestHeight >= 5);
});

test.run();
