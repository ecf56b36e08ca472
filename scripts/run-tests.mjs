#!/usr/bin/env node
// Runs every uvu test file under test/ (TypeScript through tsx), one at a time, each in its own
// process group with a time bound, streams its output, and ends with the one line CI reads:
// "N passed, N failed" (tests, not files). Optional argument: a regex over the paths below test/
// (e.g. 'rpc/|crypto/verify'); only files ending in .test.ts are run.
//
// Why one process per file: a test that never settles hangs only its own file, which is killed when
// its bound runs out (with every process it started) and named, instead of silently holding the run
// until CI's own limit. Files run one after the other: the cluster tests time validators on 2 cores.
//
// Bounds: TEST_TIMEOUT_S (default 300) for every file; a file may set its own with a line
// `// test-timeout-s: N` near its top. Folders named `fixtures` are skipped; RUN_TESTS_DIR points the
// runner at another folder of test files (its own test runs it on test/scripts/fixtures).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = process.env.RUN_TESTS_DIR ? resolve(process.env.RUN_TESTS_DIR) : join(root, 'test');
const pattern = new RegExp(process.argv[2] ?? '\\.test\\.ts$');
const defaultTimeoutS = positive(process.env.TEST_TIMEOUT_S, 'TEST_TIMEOUT_S') ?? 300;
const MARKER = /^\/\/ test-timeout-s: (\d+)\s*$/m;

function positive(raw, what) {
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`run-tests: ${what} must be a positive number of seconds, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

/** test/**\/*.test.ts matching the pattern, as paths below test/ with '/' separators, sorted. */
function testFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'fixtures') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) {
        const rel = relative(testDir, p).split(sep).join('/');
        if (pattern.test(rel)) out.push(rel);
      }
    }
  };
  walk(testDir);
  return out.sort();
}

function timeoutFor(rel) {
  const m = MARKER.exec(readFileSync(join(testDir, rel), 'utf8').slice(0, 8192));
  return m ? Number(m[1]) : defaultTimeoutS;
}

/** Send `signal` to every process in group `pgid`; false when none is left. */
function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

let current = null; // the running file's process, so a Ctrl-C can take its group down too
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) killGroup(current.pid, 'SIGKILL');
    process.exit(130);
  });
}

/**
 * Run one file. Counts come from uvu's closing summary; a file that ends without one (it crashed,
 * or was killed) counts the tests its finished suites reported, "(passed / total)", plus one
 * failure for the crash itself.
 */
function runFile(rel, timeoutS) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(testDir, rel)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
      detached: true, // its own process group, so a kill reaches the validators it started
    });
    current = child;
    let tail = ''; // the last 64 KiB of output, where the summary is
    let partial = ''; // the unfinished last line
    let suitePassed = 0;
    let suiteTotal = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d).slice(-65536);
      const text = partial + d;
      const cut = text.lastIndexOf('\n') + 1;
      for (const m of text.slice(0, cut).matchAll(/\((\d+) \/ (\d+)\)\n/g)) {
        suitePassed += Number(m[1]);
        suiteTotal += Number(m[2]);
      }
      partial = text.slice(cut).slice(-65536);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`\nrun-tests: ${rel} did not finish within ${timeoutS} s: killing its process group`);
      killGroup(child.pid, 'SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      // Whatever it started and left behind (a validator process, say) goes with it.
      killGroup(child.pid, 'SIGKILL');
      const total = Number(/Total:\s+(\d+)/.exec(tail)?.[1] ?? NaN);
      const passedAll = Number(/Passed:\s+(\d+)/.exec(tail)?.[1] ?? NaN);
      let passed;
      let failed;
      let problem = null;
      if (timedOut) problem = `timed out after ${timeoutS} s`;
      else if (Number.isNaN(total) || Number.isNaN(passedAll)) problem = `ended without a summary (exit ${code}${signal ? `, signal ${signal}` : ''})`;
      if (problem === null) {
        passed = passedAll;
        failed = total - passedAll;
        // e.g. an after() hook or a late uncaught error failed it after the summary
        if (code !== 0 && failed === 0) {
          problem = `exited ${code}${signal ? ` (signal ${signal})` : ''} after its summary`;
          failed = 1;
        }
      } else {
        passed = suitePassed;
        failed = suiteTotal - suitePassed + 1;
      }
      resolve({ rel, passed, failed, problem, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const files = testFiles();
if (files.length === 0) {
  console.log(`run-tests: no test file matches ${pattern}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const started = Date.now();
let passed = 0;
let failed = 0;
const bad = [];
for (const rel of files) {
  const timeoutS = timeoutFor(rel);
  console.log(`\n${rel}`);
  const r = await runFile(rel, timeoutS);
  passed += r.passed;
  failed += r.failed;
  console.log(`run-tests: ${rel}: ${r.passed} ok, ${r.failed} not ok, ${r.seconds.toFixed(1)} s${r.problem ? ` (${r.problem})` : ''}`);
  if (r.failed > 0) bad.push(`  ${rel}: ${r.problem ?? `${r.failed} failing`}`);
}
console.log(`\nrun-tests: ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (bad.length > 0) console.log(`run-tests: files with failures:\n${bad.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
