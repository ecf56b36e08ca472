#!/usr/bin/env node
// The offline fuzz run: every property in test/fuzz/ with many cases (default 100,000 per target),
// then one table of targets, cases, failures and durations. Usage:
//   npm run fuzz                      # 100,000 cases per target
//   npm run fuzz -- 5000 'codec|tx'   # 5,000 cases per target, in the files matching the regex
// FUZZ_SEED replays a reported failure (with its FUZZ_PATH). Files run one after the other through
// scripts/run-tests.mjs, each with a 4-hour bound instead of the usual 300 s.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = process.argv[2] ?? '100000';
if (!/^[1-9]\d*$/.test(runs)) {
  console.error(`fuzz: the case count must be a positive integer, got '${runs}'`);
  process.exit(2);
}
const filter = process.argv[3] ?? '';
const dir = mkdtempSync(join(tmpdir(), 'numchain-fuzz-'));
const report = join(dir, 'report.jsonl');
const started = Date.now();
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), `^fuzz/.*(${filter || '.'})`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, FUZZ_RUNS: runs, FUZZ_REPORT: report, TEST_TIMEOUT_S: process.env.TEST_TIMEOUT_S ?? '14400' },
  });
  child.on('close', (c) => resolve(c ?? 1));
});
const rows = existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
rmSync(dir, { recursive: true, force: true });
const width = Math.max(6, ...rows.map((r) => r.target.length));
console.log(`\nfuzz: ${runs} cases per target, node ${process.version}, ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
console.log(`${'target'.padEnd(width)}  ${'cases'.padStart(9)}  failed  ${'seconds'.padStart(8)}  cases/s`);
for (const r of rows) {
  const s = r.ms / 1000;
  console.log(`${r.target.padEnd(width)}  ${String(r.runs).padStart(9)}  ${(r.failed ? 'YES' : 'no').padStart(6)}  ${s.toFixed(2).padStart(8)}  ${Math.round(r.runs / Math.max(s, 1e-3))}`);
  if (r.failed) console.log(`  seed ${r.seed}, path ${r.path}: ${r.error}\n  counterexample ${String(r.counterexample).slice(0, 400)}`);
}
const failed = rows.filter((r) => r.failed).length;
console.log(`${rows.length} targets, ${failed} failed`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
