// The simulator's sweep: 200 seeds (NUMCHAIN_SIM_SEEDS to change), each deriving its own faults from
// its scenario class (classForSeed): drops, delays, duplicates, reordering, partitions, crash/restart,
// Byzantine nodes including the split-vote and stale-fork attacks that catch broken voting rules in
// broken-rules.test.ts; whole-cluster power cuts; up to f validators sending malicious content;
// twins with a Twins-style partition schedule; asymmetric links and clock skew. Any violated
// invariant fails the test and prints the seed; `npx numchain sim --seed N` replays it. Every validator
// runs the real replica driver (src/driver) with the real ChainApp and ma.wasm, under simulated clients.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineModule } from '../../src/host/node-loader.ts';
import { classForSeed, nodesForSeed, runSimulation, SCENARIO_CLASSES } from '../../src/sim/simulator.ts';

const SEEDS = Number(process.env.NUMCHAIN_SIM_SEEDS ?? 200);

test(`${SEEDS} random-fault seeds keep every invariant, running the real replica driver`, async () => {
  const wasm = engineModule();
  const failures: string[] = [];
  let commits = 0;
  const attacks = new Map<string, number>();
  const classes = new Map<string, number>();
  let powerCuts = 0;
  let txs = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const nodes = nodesForSeed(seed);
    const r = await runSimulation({ seed, nodes, faults: 'random', mode: 'replica', wasm });
    commits += r.stats.commits;
    powerCuts += r.stats.powerCuts;
    txs += r.stats.txsSubmitted;
    classes.set(classForSeed(seed), (classes.get(classForSeed(seed)) ?? 0) + 1);
    const mode = r.stats.attack.split(' ')[0]!;
    if (mode !== '') attacks.set(mode, (attacks.get(mode) ?? 0) + 1);
    const byz = /byz=(poison-tc|sync-inject|far-future)/.exec(r.stats.faults)?.[1];
    if (byz !== undefined && r.stats.adversary !== '') attacks.set(byz, (attacks.get(byz) ?? 0) + 1);
    if (!r.ok) failures.push(`seed ${seed} (nodes ${nodes}, ${r.stats.faults}): ${r.violations.join(' | ')} — replay: npx numchain sim --seed ${seed}`);
  }
  console.log(`  simulator (replica driver): ${SEEDS} seeds, ${commits} commits, ${txs} client transactions, ${powerCuts} power cuts, ${failures.length} failing; classes: ${[...classes].map(([c, k]) => `${c} ${k}`).join(', ')}; attacks launched: ${[...attacks].map(([m, k]) => `${m} ${k}`).join(', ') || 'none'}`);
  assert.equal(failures, []);
  assert.ok(commits > SEEDS * 10, 'the seeds made progress');
  assert.ok(txs > SEEDS * 10, 'clients submitted transactions');
  // The correct protocol must have faced every attack and scenario class in the sweep, not just in
  // broken-rules.test.ts and sim.test.ts.
  if (SEEDS >= 100) {
    for (const mode of ['split-vote', 'stale-fork', 'poison-tc', 'sync-inject', 'far-future']) assert.ok((attacks.get(mode) ?? 0) > 0, `no seed launched the ${mode} attack`);
    for (const c of SCENARIO_CLASSES) assert.ok((classes.get(c) ?? 0) >= 10, `the ${c} class ran ${classes.get(c) ?? 0} seeds`);
    assert.ok(powerCuts > 0, 'some seed cut the power of the whole cluster');
  }
});

test.run();
