// `numchain sim`: the deterministic simulator from the command line. `--seeds 200` runs seeds 1..200
// with faults derived from each seed and prints one line per failing seed plus a summary; `--seed N`
// replays one seed exactly (with its stats). Exit code 1 if any seed fails. Wall time is not
// measured by the simulator (it never reads a clock); use `time`.
import { engineModule } from '../host/node-loader.ts';
import {
  BREAK_SCENARIOS, BREAKABLE_RULES, classForSeed, nodesForSeed, runSimulation, SCENARIO_CLASSES, type BreakableRule, type ScenarioClass, type SimFaults, type SimOptions,
} from '../sim/simulator.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';
import { POC_SIM_BEHAVIOURS, type PocSimBehaviour } from '../sim/poc-world.ts';

const FLAGS = {
  seeds: { type: 'number', help: 'how many seeds to run', default: 200 },
  from: { type: 'number', help: 'first seed', default: 1 },
  seed: { type: 'number', help: 'replay this one seed exactly and print its stats' },
  nodes: { type: 'number', help: 'validators (default: derived from each seed, 1..10)' },
  mode: { type: 'string', help: 'replica (the real driver, ChainApp and ma.wasm) or core (the bare consensus core with a fake app, faster)', default: 'replica' },
  scenario: { type: 'string', help: `draw every seed's faults from one class: ${SCENARIO_CLASSES.join(', ')} (default: each seed's own class)` },
  break: { type: 'string', help: `switch one rule off on every honest node: ${BREAKABLE_RULES.join(', ')}; runs the scenario built to expose it (failing seeds are then expected)` },
  faults: { type: 'string', help: "with --break: 'random' to use each seed's random faults instead of the rule's scenario" },
  'real-sigs': { type: 'boolean', help: 'real Ed25519 consensus signatures (slower)' },
  poc: { type: 'string', help: `proof of capacity, one behaviour per validator, comma-separated: ${POC_SIM_BEHAVIOURS.join(', ')} (replica mode; real signatures; e.g. honest,skip,wrong,partial)` },
  verbose: { type: 'boolean', help: "print every seed's stats" },
  help: { type: 'boolean', help: 'show this help' },
} as const;

export const command: Command = {
  summary: 'run the deterministic simulator over many seeds, or replay one',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, 'numchain sim [--seeds K --from S | --seed N] [--mode replica|core] [--scenario CLASS] [--break RULE]', 'Seeded simulation of a whole cluster: network, clocks, disks, crashes and Byzantine validators are all\ndrawn from the seed, so any failing seed replays exactly.');
    if (f === null) return 0;
    if (f.mode !== 'replica' && f.mode !== 'core') throw new UsageError('--mode must be replica or core');
    const scenario = f.scenario as ScenarioClass | undefined;
    if (scenario !== undefined && !SCENARIO_CLASSES.includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIO_CLASSES.join(', ')}`);
    const rule = f.break as BreakableRule | undefined;
    if (rule !== undefined && !BREAKABLE_RULES.includes(rule)) throw new UsageError(`--break must be one of ${BREAKABLE_RULES.join(', ')}`);
    const randomFaults = rule === undefined || f.faults === 'random';
    const single = f.seed;
    const first = single ?? f.from;
    const count = single !== undefined ? 1 : f.seeds;
    const verbose = f.verbose || single !== undefined;
    const wasm = f.mode === 'replica' ? engineModule() : undefined;
    const poc = f.poc === undefined ? undefined : f.poc.split(',').map((b) => b.trim() as PocSimBehaviour);
    if (poc !== undefined) {
      const bad = poc.find((b) => !POC_SIM_BEHAVIOURS.includes(b));
      if (bad !== undefined) throw new UsageError(`--poc: '${bad}' is not one of ${POC_SIM_BEHAVIOURS.join(', ')}`);
      if (f.mode !== 'replica') throw new UsageError('--poc needs --mode replica');
    }
    const flags = `${poc !== undefined ? ` --poc ${poc.join(',')}` : ''}${f.mode === 'core' ? ' --mode core' : ''}${scenario !== undefined ? ` --scenario ${scenario}` : ''}${rule !== undefined ? ` --break ${rule}${randomFaults ? ' --faults random' : ''}` : ''}`;
    let failed = 0;
    let commits = 0;
    const failing: number[] = [];
    const byClass = new Map<string, { seeds: number; failed: number }>();
    for (let seed = first; seed < first + count; seed++) {
      const nodes = poc?.length ?? f.nodes ?? (randomFaults ? nodesForSeed(seed) : 4);
      const faults: SimFaults | 'random' = randomFaults ? 'random' : BREAK_SCENARIOS[rule!];
      const opts: SimOptions = { seed, nodes, faults, scenario, realSignatures: f['real-sigs'], breakRule: rule, mode: f.mode, wasm, ...(poc !== undefined ? { poc } : {}) };
      const r = await runSimulation(opts);
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
        console.log(`  replay: npx numchain sim --seed ${seed}${f.nodes !== undefined ? ` --nodes ${nodes}` : ''}${flags}`);
      }
      if (verbose) console.log(`seed=${seed} nodes=${nodes} ${JSON.stringify(r.stats)}`);
      if (single !== undefined && rule !== undefined) {
        // The other half of the demonstration: the same seed and faults with the rule put back.
        const intact = await runSimulation({ ...opts, breakRule: undefined });
        console.log(`same seed with ${rule} intact: ${intact.ok ? 'ok' : `FAIL ${intact.violations.join(' | ')}`} (height ${intact.stats.minHonestHeight}${intact.stats.attack !== '' ? `, attack=[${intact.stats.attack}]` : ''})`);
      }
    }
    if (rule !== undefined) console.log(`rule ${rule} broken on every honest node; seeds that caught it: ${failing.length > 0 ? failing.join(' ') : 'none'}`);
    if (byClass.size > 1) console.log(`by class: ${[...byClass].map(([k, v]) => `${k} ${v.seeds - v.failed}/${v.seeds}`).join(', ')}`);
    console.log(`${count - failed} passed, ${failed} failed (${count} seeds from ${first}, ${commits} commits, mode ${f.mode})`);
    return failed > 0 ? 1 : 0;
  },
};
