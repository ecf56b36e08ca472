// Proof of capacity under the simulator (issue 21 §5): validators that skip their answers, answer
// wrong or keep only part of their replica lose leader weight; the honest one keeps it; every
// honest node computes the same consensus state (leader weights) at every height and the same
// outcome for every validator and epoch, with and without faults (checks.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineModule } from '../../src/host/node-loader.ts';
import { runSimulation } from '../../src/sim/simulator.ts';

const wasm = engineModule();
const behaviours = ['honest', 'skip', 'wrong', 'partial'] as const;

test('skipping, wrong and partial-data validators lose leader weight; the honest one keeps it', async () => {
  const r = await runSimulation({ seed: 11, nodes: 4, mode: 'replica', wasm, poc: behaviours, powers: [100, 100, 100, 100], durationMs: 4000, faults: {} });
  assert.equal(r.violations, []);
  const o = r.stats.pocOutcomes;
  assert.ok((o['0:ontime'] ?? 0) >= 2, JSON.stringify(o));
  assert.is(o['0:missed'] ?? 0, 0);
  assert.ok((o['1:missed'] ?? 0) >= 2 && (o['2:wrong'] ?? 0) >= 2 && (o['3:wrong'] ?? 0) >= 2, JSON.stringify(o));
  // bond × (floor 100‰ + 900‰ × capacity × reliability): full for the honest one, the floor for the rest
  assert.equal(r.stats.leaderWeights, [100, 10, 10, 10]);
});

test('a late validator is judged late, not missed, and loses weight', async () => {
  const r = await runSimulation({ seed: 12, nodes: 4, mode: 'replica', wasm, poc: ['honest', 'late', 'honest', 'honest'], powers: [100, 100, 100, 100], epochLength: 16, durationMs: 4000, faults: {} });
  assert.equal(r.violations, []);
  assert.ok((r.stats.pocOutcomes['1:late'] ?? 0) >= 2, JSON.stringify(r.stats.pocOutcomes));
  assert.is(r.stats.pocOutcomes['1:missed'] ?? 0, 0, 'a late answer is still counted');
  // Each late epoch costs 250‰ of reliability, so after four the late validator leads at the floor.
  const w = r.stats.leaderWeights;
  assert.ok(w[1]! < w[0]!, JSON.stringify(w));
});

test('with random faults (crashes, partitions, Byzantine validators) honest nodes agree on every PoC outcome and weight', async () => {
  for (const seed of [3, 5]) {
    const r = await runSimulation({ seed, nodes: 4, mode: 'replica', wasm, poc: behaviours, durationMs: 6000, faults: 'random' });
    assert.equal(r.violations, [], `seed ${seed}`);
    assert.ok(Object.keys(r.stats.pocOutcomes).length > 0, `seed ${seed}: no epoch closed`);
  }
});

test.run();
