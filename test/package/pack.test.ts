// The package as its users get it: `npm pack` (which builds dist/ and the engine), install the tarball
// into a scratch project outside the repository, and use it from there: Node, Bun and Deno import
// numchain/engine and reproduce the vector roots; esbuild bundles it for Chromium and Firefox, which
// compile the engine with compileStreaming and reproduce them too; TypeScript resolves every entry's
// declarations; the installed `numchain` runs from dist/ (no tsx), a validator included, without
// sodium-native. The browsers are driven as `numchain determinism` drives them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import { PageServer, runBrowser, type BrowserName } from '../../src/cli/determinism/browser.ts';
import { findExecutable, runGroup } from '../../src/cli/determinism/proc.ts';
import { DEFAULT_MA_PARAMS } from '../../src/engine/types.ts';
import { CONSUMER_FILES } from './fixture.ts';

const VECTORS = ['odd-shapes', 'default-2shards'];
const finalRoot = (name: string): string => readFileSync(join(PROJECT_ROOT, 'test', 'vectors', 'ma', `${name}.roots`), 'utf8').trim().split('\n').pop()!;
const EXPECTED = VECTORS.map(finalRoot);

let scratch = '';
let project = '';
let tarball = '';
let packed: string[] = [];
let t0 = 0;
const took = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, FORCE_COLOR: '0' } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

test.before(() => {
  t0 = performance.now();
  scratch = mkdtempSync(join(tmpdir(), 'numchain-pack-'));
  project = join(scratch, 'app');
  mkdirSync(project);
});

test.after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  console.log(`  package: ${took(t0)} in all`);
});

test('npm pack builds and ships dist/, build/ma.wasm, the dashboard (build/ui/), genesis/ and docs/, and no tests or sources', () => {
  const t = performance.now();
  const r = run('npm', ['pack', '--json', '--pack-destination', scratch], PROJECT_ROOT, 180_000);
  assert.is(r.code, 0, `npm pack failed: ${r.stderr.slice(-2000)}`);
  // Lifecycle scripts (prepack: build:dist, prepare: build:wasm) print to stdout before the JSON.
  const at = r.stdout.search(/^\[$/m);
  assert.ok(at >= 0, `no JSON in npm pack output: ${r.stdout.slice(-500)}`);
  const [info] = JSON.parse(r.stdout.slice(at)) as { filename: string; files: { path: string; size: number }[] }[];
  tarball = join(scratch, info.filename);
  packed = info.files.map((f) => f.path);
  console.log(`  package: npm pack ${took(t)} (${packed.length} files)`);
  for (const must of [
    'package.json', 'README.md', 'bin/numchain.js', 'build/ma.wasm', 'assembly/ma.wasm.sha256',
    'dist/index.js', 'dist/index.d.ts', 'dist/engine/index.js', 'dist/engine/index.d.ts', 'dist/engine/engine.js',
    'dist/engine-node.js', 'dist/engine-node.d.ts', 'dist/client.js', 'dist/client.d.ts', 'dist/rpc/client.js',
    'dist/cli/main.js', 'dist/host/verify-worker.mjs', 'genesis/localnet-4/genesis.json', 'docs/spec.md', 'docs/ARCHITECTURE.md',
    'build/ui/index.html', 'build/ui/app.js', 'build/ui/app.css', 'dist/light/light-client.js', 'docs/grafana/numchain.json',
  ]) {
    assert.ok(packed.includes(must), `${must} is not in the package`);
  }
  const stray = packed.filter((p) =>
    /^(test|bench|src|scripts)\//.test(p) || /\.test\./.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')) ||
    (p.startsWith('build/') && p !== 'build/ma.wasm' && !/^build\/ui\/(index\.html|app\.js|app\.css)$/.test(p)) || (p.startsWith('assembly/') && p !== 'assembly/ma.wasm.sha256') ||
    p.startsWith('ui/'));
  assert.equal(stray, [], 'tests, TypeScript sources, other engine builds');
  assert.is(info.files.find((f) => f.path === 'build/ma.wasm')?.size, statSync(join(PROJECT_ROOT, 'build', 'ma.wasm')).size);
});

test('the tarball installs into a project outside the repository, without the build tools', () => {
  assert.ok(tarball, 'npm pack did not run');
  assert.ok(relative(PROJECT_ROOT, project).startsWith('..'), `${project} is inside the repository`);
  const t = performance.now();
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'numchain-pack-check', private: true, type: 'module' }) + '\n');
  const r = run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project, 180_000);
  assert.is(r.code, 0, `npm install failed: ${r.stderr.slice(-2000)}`);
  console.log(`  package: npm install ${took(t)}`);
  const installed = join(project, 'node_modules');
  assert.ok(existsSync(join(installed, 'numchain', 'build', 'ma.wasm')), 'the installed package has no engine');
  for (const dev of ['assemblyscript', 'tsx', 'uvu', 'typescript', 'esbuild']) assert.not.ok(existsSync(join(installed, dev)), `${dev} was installed with the package`);
  const pkg = JSON.parse(readFileSync(join(installed, 'numchain', 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
  assert.ok(pkg.optionalDependencies?.['sodium-native'], 'sodium-native is optional');
  for (const [name, text] of Object.entries(CONSUMER_FILES)) writeFileSync(join(project, name), text);
  for (const v of VECTORS) {
    for (const ext of ['jsonl', 'roots']) copyFileSync(join(PROJECT_ROOT, 'test', 'vectors', 'ma', `${v}.${ext}`), join(project, `${v}.${ext}`));
  }
});

const RUNTIMES: Record<string, { find: () => string | null; args: string[] }> = {
  node: { find: () => process.execPath, args: [] },
  bun: { find: () => findExecutable(join(PROJECT_ROOT, 'node_modules', '.bin', 'bun'), 'bun'), args: [] },
  deno: { find: () => findExecutable(join(PROJECT_ROOT, 'node_modules', '.bin', 'deno'), 'deno'), args: ['run', '--quiet', '--no-lock', '--allow-read'] },
};

function missing(what: string): void {
  if (process.env.CI) assert.unreachable(`${what} is not installed in CI`);
  console.log(`  package: skipping ${what}: not installed here`);
}

test('Node, Bun and Deno import numchain/engine from the install and reproduce the vector roots', async () => {
  assert.ok(existsSync(join(project, 'runtime.mjs')), 'the package was not installed');
  const t = performance.now();
  const runs = Object.entries(RUNTIMES).map(async ([name, rt]) => {
    const exe = rt.find();
    if (!exe) return missing(name);
    const r = await runGroup(exe, [...rt.args, 'runtime.mjs', ...VECTORS], 60_000, { cwd: project });
    const line = lastLine(r.stdout);
    let out: { runtime?: string; error?: string; results?: { name: string; via: string; ops: number; root: string }[] };
    try {
      out = JSON.parse(line);
    } catch {
      return assert.unreachable(`${name}: no result (exit ${r.code}): ${r.stderr.slice(-1500)} ${r.stdout.slice(-500)}`);
    }
    assert.is(out.error, undefined, `${name}: ${out.error}`);
    assert.is(r.code, 0, `${name} exit code`);
    const results = out.results ?? [];
    assert.equal(results.map((x) => `${x.name} ${x.via}`), VECTORS.flatMap((v) => [`${v} numchain/engine/node`, `${v} numchain/ma.wasm`]), name);
    for (const x of results) assert.is(x.root, EXPECTED[VECTORS.indexOf(x.name)], `${out.runtime}: ${x.name} via ${x.via}`);
    console.log(`  package: ${out.runtime} reproduced ${results.length} replays`);
  });
  await Promise.all(runs);
  console.log(`  package: runtimes ${took(t)}`);
});

test('TypeScript resolves the declarations of every entry (numchain, /engine, /engine/node, /client)', () => {
  const r = run(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  assert.is(r.code, 0, `tsc in the scratch project: ${r.stdout.slice(-3000)}${r.stderr.slice(-1000)}`);
});

test('the installed numchain command runs from dist/ without tsx (npx numchain)', () => {
  const help = run('npx', ['numchain', '--help'], project);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, 'usage: numchain <command>');
  const apply = run('npx', ['numchain', 'ma', 'apply', 'odd-shapes.jsonl'], project);
  assert.is(apply.code, 0, apply.stderr);
  assert.is(apply.stdout.trim(), EXPECTED[0]);
});

test('a one-validator localnet runs from the installed package without sodium-native', () => {
  const sodium = join(project, 'node_modules', 'sodium-native');
  const hidden = join(scratch, 'sodium-native-hidden');
  const t = performance.now();
  if (existsSync(sodium)) renameSync(sodium, hidden);
  try {
    const r = run('npx', ['numchain', 'demo', '--nodes', '1', '--duration', '2', '--rate', '200', '--json'], project, 90_000);
    assert.is(r.code, 0, `numchain demo: ${r.stderr.slice(-2000)}`);
    const summary = JSON.parse(lastLine(r.stdout)) as { committed: number; rootsAgree: boolean; unexpectedExits: unknown[] };
    assert.ok(summary.committed > 0, 'committed transactions');
    assert.ok(summary.rootsAgree);
    assert.equal(summary.unexpectedExits, []);
  } finally {
    if (existsSync(hidden)) renameSync(hidden, sodium);
  }
  console.log(`  package: demo without sodium-native ${took(t)}`);
});

test('esbuild bundles numchain/engine for Chromium and Firefox; both stream-compile it and reproduce the roots', async () => {
  assert.ok(existsSync(join(project, 'page.mjs')), 'the package was not installed');
  const t = performance.now();
  const { build } = await import('esbuild');
  const out = await build({
    absWorkingDir: project,
    entryPoints: ['page.mjs'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    loader: { '.jsonl': 'text', '.roots': 'text' },
    write: false,
    logLevel: 'silent',
  });
  // The engine the page fetches is the installed package's `numchain/ma.wasm` export.
  const wasm = new Uint8Array(readFileSync(createRequire(join(project, 'package.json')).resolve('numchain/ma.wasm')));
  const server = new PageServer(out.outputFiles[0].text, wasm);
  await server.start();
  try {
    const browsers: { name: BrowserName; bins: string[] }[] = [
      { name: 'chromium', bins: ['chromium', 'chromium-browser'] },
      { name: 'firefox', bins: ['firefox-esr', 'firefox'] },
    ];
    await Promise.all(browsers.map(async ({ name, bins }) => {
      if (!findExecutable(...bins)) return missing(name);
      // runBrowser's spec only sets the time limit here: the page replays the bundled vectors.
      const spec = { params: DEFAULT_MA_PARAMS, seed: 0, ops: 0, timeoutMs: 60_000 };
      const r = await runBrowser(name, spec, server);
      assert.ok(r.ok, `${name}: ${r.error}`);
      assert.equal(r.roots, EXPECTED, name);
      console.log(`  package: ${name} reproduced ${VECTORS.length} vectors (${r.version})`);
    }));
  } finally {
    await server.close();
  }
  console.log(`  package: browsers ${took(t)}`);
});

test.run();
