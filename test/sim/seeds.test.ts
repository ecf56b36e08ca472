// The simulator's sweep: 200 seeds (NUMCHAIN_SIM_SEEDS to change), each deriving its own faults
// (drops, delays, duplicates, reordering, partitions, crash/restart, Byzantine nodes, including the
// split-vote and stale-fork attacks that catch broken voting rules in broken-rules.test.ts). Any violated
// invariant fails the test and prints the seed; `node --import tsx src/sim/run.ts --seed N` replays it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodesForSeed, runSimulation } from '../../src/sim/simulator.ts';

const SEEDS = Number(process.env.NUMCHAIN_SIM_SEEDS ?? 200);

test(`${SEEDS} random-fault seeds keep every invariant`, () => {
  const failures: string[] = [];
  let commits = 0;
  const attacks = new Map<string, number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const nodes = nodesForSeed(seed);
    const r = runSimulation({ seed, nodes, faults: 'random' });
    commits += r.stats.commits;
    const mode = r.stats.attack.split(' ')[0]!;
    if (mode !== '') attacks.set(mode, (attacks.get(mode) ?? 0) + 1);
    if (!r.ok) failures.push(`seed ${seed} (nodes ${nodes}, ${r.stats.faults}): ${r.violations.join(' | ')} — replay: node --import tsx src/sim/run.ts --seed ${seed}`);
  }
  console.log(`  simulator: ${SEEDS} seeds, ${commits} commits, ${failures.length} failing; attacks launched: ${[...attacks].map(([m, k]) => `${m} ${k}`).join(', ') || 'none'}`);
  assert.equal(failures, []);
  assert.ok(commits > SEEDS * 10, 'the seeds made progress');
  // The correct protocol must have faced both attacks in the sweep, not just in broken-rules.test.ts.
  if (SEEDS >= 100) for (const mode of ['split-vote', 'stale-fork']) assert.ok((attacks.get(mode) ?? 0) > 0, `no seed launched the ${mode} attack`);
});

test.run();
