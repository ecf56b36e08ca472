// Simulator runner: `node --import tsx src/sim/run.ts --seeds 200` runs seeds 1..200 with faults
// derived from each seed and prints one line per failing seed plus a summary; `--seed N` replays one
// seed exactly (add --verbose for its stats). Exit code 1 if any seed fails. Wall time is not
// measured here (the simulator never reads a clock); use `time`.
// Options: --seeds K, --from S, --seed N, --nodes N (else derived from the seed), --real-sigs, --verbose,
// --break skipLastVotedRoundCheck|skipTcHighQcCheck|commitOnOneChain: switch the rule off on every
//   honest node and run the fault scenario built to expose it (BREAK_SCENARIOS, 4 validators), or
//   with --faults random the seed's random faults. Failing seeds are then the expected outcome.
// --unsafe skip-lvr|skip-tc-qc|one-chain is the older spelling of --break RULE --faults random.
// --scenario classic|power-cut|byzantine-content|twins-schedule|skewed: draw every seed's faults from
//   that class (default: the class classForSeed gives each seed, so a sweep covers all of them).
import { BREAK_SCENARIOS, BREAKABLE_RULES, classForSeed, nodesForSeed, runSimulation, SCENARIO_CLASSES, type BreakableRule, type ScenarioClass, type SimFaults } from './simulator.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ALIASES: Readonly<Record<string, BreakableRule>> = { 'skip-lvr': 'skipLastVotedRoundCheck', 'skip-tc-qc': 'skipTcHighQcCheck', 'one-chain': 'commitOnOneChain' };

function parseRule(): { rule: BreakableRule | undefined; randomFaults: boolean } {
  const legacy = arg('--unsafe');
  const name = arg('--break') ?? legacy;
  if (name === undefined) return { rule: undefined, randomFaults: true };
  const rule = ALIASES[name] ?? BREAKABLE_RULES.find((r) => r === name);
  if (rule === undefined) throw new Error(`unknown rule '${name}'; one of ${BREAKABLE_RULES.join(', ')}`);
  return { rule, randomFaults: legacy !== undefined || arg('--faults') === 'random' };
}

function main(): void {
  const single = arg('--seed');
  const from = Number(arg('--from') ?? 1);
  const count = single !== undefined ? 1 : Number(arg('--seeds') ?? 200);
  const first = single !== undefined ? Number(single) : from;
  const verbose = process.argv.includes('--verbose') || single !== undefined;
  const { rule, randomFaults } = parseRule();
  const replayFlags = rule === undefined ? '' : ` --break ${rule}${randomFaults ? ' --faults random' : ''}`;
  const scenarioArg = arg('--scenario');
  if (scenarioArg !== undefined && !SCENARIO_CLASSES.includes(scenarioArg as ScenarioClass)) throw new Error(`unknown scenario '${scenarioArg}'; one of ${SCENARIO_CLASSES.join(', ')}`);
  const scenario = scenarioArg as ScenarioClass | undefined;
  let failed = 0;
  let commits = 0;
  const byClass = new Map<string, { seeds: number; failed: number }>();
  const failing: number[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const nodesArg = arg('--nodes');
    const nodes = nodesArg !== undefined ? Number(nodesArg) : randomFaults ? nodesForSeed(seed) : 4;
    const faults: SimFaults | 'random' = randomFaults || rule === undefined ? 'random' : BREAK_SCENARIOS[rule];
    const r = runSimulation({ seed, nodes, faults, scenario, realSignatures: process.argv.includes('--real-sigs'), breakRule: rule });
    commits += r.stats.commits;
    const cls = faults === 'random' ? scenario ?? classForSeed(seed) : 'fixed';
    const c = byClass.get(cls) ?? { seeds: 0, failed: 0 };
    c.seeds++;
    if (!r.ok) c.failed++;
    byClass.set(cls, c);
    if (!r.ok) {
      failed++;
      failing.push(seed);
      console.log(`FAIL seed=${seed} nodes=${nodes} class=${cls} ${r.stats.faults}${r.stats.attack !== '' ? ` attack=[${r.stats.attack}]` : ''}${r.stats.adversary !== '' ? ` adversary=[${r.stats.adversary}]` : ''}: ${r.violations.join(' | ')}`);
      console.log(`  replay: node --import tsx src/sim/run.ts --seed ${seed}${nodesArg !== undefined ? ` --nodes ${nodes}` : ''}${scenario !== undefined ? ` --scenario ${scenario}` : ''}${replayFlags}`);
    }
    if (verbose) console.log(`seed=${seed} nodes=${nodes} ${JSON.stringify(r.stats)}`);
    if (single !== undefined && rule !== undefined) {
      // The other half of the demonstration: the same seed and faults with the rule put back.
      const intact = runSimulation({ seed, nodes, faults, realSignatures: process.argv.includes('--real-sigs') });
      console.log(`same seed with ${rule} intact: ${intact.ok ? 'ok' : `FAIL ${intact.violations.join(' | ')}`} (height ${intact.stats.minHonestHeight}${intact.stats.attack !== '' ? `, attack=[${intact.stats.attack}]` : ''})`);
    }
  }
  if (rule !== undefined) console.log(`rule ${rule} broken on every honest node; seeds that caught it: ${failing.length > 0 ? failing.join(' ') : 'none'}`);
  if (byClass.size > 1) console.log(`by class: ${[...byClass].map(([k, v]) => `${k} ${v.seeds - v.failed}/${v.seeds}`).join(', ')}`);
  console.log(`${count - failed} passed, ${failed} failed (${count} seeds from ${first}, ${commits} commits)`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
