// Simulator runner: `node --import tsx src/sim/run.ts --seeds 200` runs seeds 1..200 with faults
// derived from each seed and prints one line per failing seed plus a summary; `--seed N` replays one
// seed exactly (add --verbose for its stats). Exit code 1 if any seed fails. Wall time is not
// measured here (the simulator never reads a clock); use `time`.
// Options: --seeds K, --from S, --seed N, --nodes N (else derived from the seed), --real-sigs,
// --unsafe skip-lvr|skip-tc-qc|one-chain (deliberately broken rules), --verbose.
import { nodesForSeed, runSimulation, type SimFaults } from './simulator.ts';
import type { UnsafeSwitches } from '../consensus/types.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const single = arg('--seed');
  const from = Number(arg('--from') ?? 1);
  const count = single !== undefined ? 1 : Number(arg('--seeds') ?? 200);
  const first = single !== undefined ? Number(single) : from;
  const verbose = process.argv.includes('--verbose') || single !== undefined;
  const unsafeName = arg('--unsafe');
  const unsafe: UnsafeSwitches | undefined =
    unsafeName === 'skip-lvr' ? { skipLastVotedRoundCheck: true } : unsafeName === 'one-chain' ? { commitOnOneChain: true }
      : unsafeName === 'skip-tc-qc' ? { skipTcHighQcCheck: true } : undefined;
  let failed = 0;
  let commits = 0;
  for (let seed = first; seed < first + count; seed++) {
    const nodes = arg('--nodes') !== undefined ? Number(arg('--nodes')) : nodesForSeed(seed);
    const r = runSimulation({ seed, nodes, faults: 'random', realSignatures: process.argv.includes('--real-sigs'), unsafeHonest: unsafe });
    commits += r.stats.commits;
    if (!r.ok) {
      failed++;
      console.log(`FAIL seed=${seed} nodes=${nodes} ${r.stats.faults}: ${r.violations.join(' | ')}`);
    }
    if (verbose) console.log(`seed=${seed} nodes=${nodes} ${JSON.stringify(r.stats)}`);
  }
  console.log(`${count - failed} passed, ${failed} failed (${count} seeds from ${first}, ${commits} commits)`);
  process.exitCode = failed > 0 ? 1 : 0;
}

export type { SimFaults };
main();
