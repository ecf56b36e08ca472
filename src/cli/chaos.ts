// `numchain chaos`: real validator processes, a flood, seeded faults (kill -9, SIGSTOP/SIGCONT,
// restarts, two down at once, partitions and slow links on relayed peer links), then heal and check
// the history Jepsen-style. Exits 1 on any violation so CI and long runs fail loudly.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandFlags, UsageError } from './args.ts';
import { countByKind } from './chaos/checker.ts';
import { runChaos } from './chaos/run.ts';
import type { Command } from './main.ts';

const FLAGS = {
  seed: { type: 'number', help: 'seed of the fault schedule (same seed, same faults in the same order)', default: 1 },
  duration: { type: 'number', help: 'seconds of faults under load (then heal and check)', default: 60 },
  out: { type: 'string', help: 'keep node data, logs, schedule.txt and summary.json here (default: a temp dir, removed when clean)' },
  rate: { type: 'number', help: 'flood rate, tx/s', default: 200 },
  'resume-bound': { type: 'number', help: 'seconds after healing within which every node must commit again', default: 30 },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain chaos [--seed 1] [--duration 60] [--out DIR] [--rate 200]';
const SUMMARY = `Run a 4-validator localnet under a flood while injecting faults drawn from --seed. Fault kinds:
  kill       kill -9 one validator, restart it after the hold
  pause      SIGSTOP one validator, SIGCONT after the hold
  restart    SIGTERM one validator and start it again at once
  two-down   kill -9 two validators at once (no quorum), restart both after the hold
  partition  cut one validator off from the others, or split them 2/2 (no side has a quorum)
  slow       add 50-200 ms one-way delay on every link of one validator
Every peer link runs through an in-process TCP relay of this command (validator i dials j at relay
(i, j) via --peers), which cuts and delays bytes: no root and no network namespaces needed.
Then heal everything and check:
every transaction a client saw committed is in the chain exactly once and where it was seen; every node has
the same block hash and state root at every height; every node commits again within --resume-bound.
Prints the schedule and a summary; exits 1 on any violation.`;

export const command: Command = {
  summary: 'seeded faults (kill -9, pauses, restarts, 2 down, partitions, slow links) on a flooded localnet, then a Jepsen-style check',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    if (!Number.isInteger(f.seed) || f.seed < 0) throw new UsageError('--seed must be a non-negative integer');
    if (!(f.duration >= 10 && f.duration <= 86_400)) throw new UsageError('--duration must be in [10, 86400] seconds');
    if (!(f.rate > 0 && f.rate <= 5000)) throw new UsageError('--rate must be in (0, 5000]');
    if (!(f['resume-bound'] > 0)) throw new UsageError('--resume-bound must be positive');
    const out = f.out === undefined ? mkdtempSync(join(tmpdir(), 'numchain-chaos-')) : resolve(f.out);
    mkdirSync(out, { recursive: true });
    let aborted = false;
    // Ctrl-C must not leave validators behind: stop injecting, let runChaos heal and close them.
    const onSignal = (): void => {
      if (aborted) return;
      aborted = true;
      console.log('interrupted: healing and stopping every process');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const t0 = Date.now();
    const log = (line: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s] ${line}`);
    try {
      const r = await runChaos({ seed: f.seed, durationS: f.duration, dataDir: join(out, 'net'), rate: f.rate, resumeBoundMs: f['resume-bound'] * 1000, log, aborted: () => aborted });
      writeFileSync(join(out, 'schedule.txt'), r.schedule.join('\n') + '\n');
      const summary = {
        seed: r.seed,
        durationS: f.duration,
        faults: r.faults,
        faultsTotal: Object.values(r.faults).reduce((a, b) => a + b, 0),
        checkedHeight: r.check.checkedHeight,
        chainTxs: r.check.chainTxs,
        observedTxs: r.check.observedTxs,
        flood: r.flood,
        resumeMs: r.resumeMs,
        violations: countByKind(r.violations),
        violationsTotal: r.violations.length,
        interrupted: aborted,
      };
      writeFileSync(join(out, 'summary.json'), JSON.stringify({ ...summary, details: r.violations.filter((v) => v.detail !== '') }, null, 2) + '\n');
      console.log('\nsummary');
      console.log(`  faults injected: ${summary.faultsTotal} (${Object.entries(r.faults).map(([k, v]) => `${k} ${v}`).join(', ')})`);
      console.log(`  checked: heights 1..${summary.checkedHeight} on 4 nodes, ${summary.chainTxs} txs in the chain, ${summary.observedTxs} seen committed by clients`);
      if (r.flood) console.log(`  flood: sent ${r.flood.sent}, committed ${r.flood.committed}`);
      console.log(`  commits resumed on every node ${r.resumeMs === null ? 'never' : `${r.resumeMs} ms`} after healing`);
      console.log(`  violations: ${r.violations.length}${r.violations.length ? ' ' + JSON.stringify(summary.violations) : ''}`);
      for (const v of r.violations.filter((x) => x.detail !== '').slice(0, 20)) console.log(`    ${v.kind}: ${v.detail}`);
      console.log(JSON.stringify(summary));
      const clean = r.violations.length === 0 && !aborted;
      if (clean && f.out === undefined) rmSync(out, { recursive: true, force: true });
      else console.log(`  data, logs and summary kept in ${out}`);
      return r.violations.length === 0 ? (aborted ? 130 : 0) : 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
