// `numchain determinism`: run the same build/ma.wasm on the same seeded op stream in every engine
// we can find (Node, Bun, Deno, headless Chromium and Firefox, wabt's interpreter), print the roots side
// by side and fail on any difference or on any engine that could not run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaEngine } from '../engine/engine.ts';
import { engineModule, engineSha256Hex, engineWasmBytes, PROJECT_ROOT } from '../host/node-loader.ts';
import { checkpointsFor, runStream } from '../engine/opstream.ts';
import { DEFAULT_MA_PARAMS, type MaParams } from '../engine/types.ts';
import { bundlePage, PageServer, runBrowser } from './determinism/browser.ts';
import { runInterp } from './determinism/interp.ts';
import { findExecutable, lastLines, runGroup } from './determinism/proc.ts';
import { failed, type EngineResult, type RunSpec } from './determinism/types.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

export const ENGINES = ['node', 'bun', 'deno', 'chromium', 'firefox', 'wasm-interp'] as const;
export type EngineName = (typeof ENGINES)[number];

export const DEFAULT_OPS = 100_000;
/** wabt's interpreter applied ~2,100 ops/s here (100,000 in 47 s on a loaded 2-core box), in parallel with the rest. */
export const DEFAULT_INTERP_OPS = 100_000;

const SELFTEST_PATH = join(PROJECT_ROOT, 'build', 'selftest.wasm');
const RUNTIME_RUNNER = join(PROJECT_ROOT, 'src', 'cli', 'determinism', 'runtime-runner.ts');

const FLAGS = {
  ops: { type: 'number', help: 'ops in the stream for the JIT engines', default: DEFAULT_OPS },
  seed: { type: 'number', help: 'stream seed (u32)', default: 1 },
  engines: { type: 'string', help: `comma-separated subset of ${ENGINES.join(',')} (node always runs: it is the reference)`, default: ENGINES.join(',') },
  'interp-ops': { type: 'number', help: `ops for wasm-interp (compared with Node on the same count); default min(--ops, ${DEFAULT_INTERP_OPS})` },
  timeout: { type: 'number', help: 'seconds before an engine is killed and reported as failed', default: 300 },
  json: { type: 'boolean', help: 'print one JSON line instead of the table' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain determinism [--ops N] [--seed S] [--engines node,bun,...] [--interp-ops N] [--json]';
const SUMMARY = `Apply the same seeded op stream (edge cases included: rounding ties, ±B values, factors and alphas
0, q/2 and q, clip bounds 0 and B, genesis decay, mix with src = target) to build/ma.wasm in every
engine and compare the state root at 25/50/75/100 % of the stream. The JS engines and browsers get
the stream from src/engine/opstream.ts through the portable wrapper; wabt's interpreter runs the same
ma.wasm fed by the identical generator compiled into build/selftest.wasm, on its own count (--interp-ops),
compared with Node on that count. Node also runs selftest.wasm to prove both generators agree.
Exit 0 when every engine ran and agrees, 1 on any difference or failed engine, 2 on bad usage.`;

export interface DeterminismOptions {
  readonly params: MaParams;
  readonly seed: number;
  readonly ops: number;
  readonly interpOps: number;
  readonly engines: readonly EngineName[];
  readonly timeoutMs: number;
  /** called as each engine finishes (progress) */
  readonly onResult?: (r: EngineResult) => void;
}

export interface Mismatch {
  readonly engine: string;
  readonly reference: string;
  readonly ops: number;
  /** index of the first differing checkpoint */
  readonly checkpoint: number;
  readonly message: string;
}

export interface DeterminismReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly ops: number;
  readonly interpOps: number;
  readonly params: MaParams;
  readonly wasmSha256: string;
  readonly results: EngineResult[];
  readonly mismatches: Mismatch[];
  readonly failures: { engine: string; error: string }[];
  readonly wallMs: number;
}

export function runNode(engine: string, spec: RunSpec): EngineResult {
  const t0 = performance.now();
  try {
    const e = MaEngine.instantiateSync(engineModule(), spec.params);
    const t1 = performance.now();
    const r = runStream(e, spec.seed, spec.ops);
    const done = performance.now();
    return { engine, version: `node ${process.version}`, ok: true, ops: spec.ops, at: r.at, roots: r.roots, computeMs: done - t1, wallMs: done - t0 };
  } catch (e) {
    return failed(engine, spec.ops, performance.now() - t0, (e as Error).message);
  }
}

/** assembly/selftest.ts run() in V8: the in-wasm generator + engine, to compare with the TS generator. */
export function runSelftestInNode(selftest: Uint8Array, spec: RunSpec): EngineResult {
  const t0 = performance.now();
  const name = 'selftest';
  try {
    const module = new WebAssembly.Module(selftest as BufferSource);
    const imports = WebAssembly.Module.imports(module);
    if (imports.length) return failed(name, spec.ops, 0, `build/selftest.wasm imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}; it must import nothing`);
    const x = new WebAssembly.Instance(module, {}).exports as unknown as {
      run(...a: number[]): number;
      rootWord(k: number, w: number): number;
    };
    const p = spec.params;
    const rc = x.run(p.shards, p.layers, p.slots, p.dim, p.q, p.decay, p.clip, spec.seed | 0, spec.ops);
    if (rc < 0) return failed(name, spec.ops, performance.now() - t0, `selftest init failed with code ${rc}`);
    if (rc > 0) return failed(name, spec.ops, performance.now() - t0, `the engine rejected generated op #${rc}: generator bug in assembly/selftest.ts`);
    const roots = [0, 1, 2, 3].map((k) => Array.from({ length: 8 }, (_, w) => (x.rootWord(k, w) >>> 0).toString(16).padStart(8, '0')).join(''));
    const wallMs = performance.now() - t0;
    return { engine: name, version: 'AS generator, node', ok: true, ops: spec.ops, at: checkpointsFor(spec.ops), roots, computeMs: wallMs, wallMs };
  } catch (e) {
    return failed(name, spec.ops, performance.now() - t0, (e as Error).message);
  }
}

/** Bun (JavaScriptCore) and Deno (a newer V8) run the same runner script, from their npm packages. */
const RUNTIMES = {
  bun: { args: (script: string) => [script], pkg: 'bun' },
  deno: { args: (script: string) => ['run', '--quiet', '--allow-read', '--allow-env', script], pkg: 'deno' },
} as const;

async function runRuntime(name: keyof typeof RUNTIMES, spec: RunSpec): Promise<EngineResult> {
  const t0 = performance.now();
  const rt = RUNTIMES[name];
  const exe = findExecutable(join(PROJECT_ROOT, 'node_modules', '.bin', name), name);
  if (!exe) return failed(name, spec.ops, 0, `not installed: node_modules/.bin/${name} missing (the \`${rt.pkg}\` npm devDependency) and no ${name} on PATH`);
  const wasmPath = join(PROJECT_ROOT, 'build', 'ma.wasm');
  const r = await runGroup(exe, [...rt.args(RUNTIME_RUNNER), wasmPath, JSON.stringify({ params: spec.params, seed: spec.seed, ops: spec.ops })], spec.timeoutMs);
  const wallMs = performance.now() - t0;
  if (r.timedOut) return failed(name, spec.ops, wallMs, `no result within ${Math.round(spec.timeoutMs / 1000)} s (killed)`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return failed(name, spec.ops, wallMs, `${name} exit ${r.code ?? r.signal} without a result: ${lastLines(r.stderr + '\n' + r.stdout) || 'no output'}`);
  }
  const version = typeof body.version === 'string' ? body.version : undefined;
  if (body.ok !== true) return failed(name, spec.ops, wallMs, String(body.error), version);
  if (version !== undefined && !version.startsWith(`${name} `)) return failed(name, spec.ops, wallMs, `${exe} is not ${name} (${version})`);
  return { engine: name, version, ok: true, ops: spec.ops, at: (body.at as number[]) ?? [], roots: (body.roots as string[]) ?? [], computeMs: Number(body.computeMs), wallMs };
}

async function runBrowsers(names: ('chromium' | 'firefox')[], spec: RunSpec, wasm: Uint8Array, report: (r: EngineResult) => void): Promise<void> {
  if (!names.length) return;
  let server: PageServer;
  try {
    server = new PageServer(await bundlePage(), wasm);
    await server.start();
  } catch (e) {
    for (const n of names) report(failed(n, spec.ops, 0, `could not bundle or serve the page: ${(e as Error).message}`));
    return;
  }
  try {
    for (const n of names) report(await runBrowser(n, spec, server));
  } finally {
    await server.close();
  }
}

function compare(result: EngineResult, ref: EngineResult, what: string): Mismatch | null {
  if (!result.ok || !ref.ok) return null;
  const i = ref.roots.findIndex((r, k) => result.roots[k] !== r);
  if (i < 0 && result.roots.length === ref.roots.length) return null;
  const k = i < 0 ? ref.roots.length : i;
  const at = ref.at[k] ?? result.ops;
  return { engine: result.engine, reference: ref.engine, ops: result.ops, checkpoint: k, message: `${what}: ${result.engine} differs from ${ref.engine} after ${at} ops (root ${result.roots[k] ?? 'missing'} vs ${ref.roots[k] ?? 'missing'})` };
}

export async function runDeterminism(o: DeterminismOptions): Promise<DeterminismReport> {
  const t0 = performance.now();
  const results: EngineResult[] = [];
  const report = (r: EngineResult): void => {
    results.push(r);
    o.onResult?.(r);
  };
  const spec: RunSpec = { params: o.params, seed: o.seed, ops: o.ops, timeoutMs: o.timeoutMs };
  const interpSpec: RunSpec = { ...spec, ops: o.interpOps };
  const wasm = engineWasmBytes();
  const selftest = existsSync(SELFTEST_PATH) ? new Uint8Array(readFileSync(SELFTEST_PATH)) : null;
  const missingSelftest = `${SELFTEST_PATH} is missing; build it with: npm run build:wasm`;

  // The interpreter is slow and single-threaded: start it first and let the others run meanwhile.
  const interp = o.engines.includes('wasm-interp')
    ? selftest ? runInterp(interpSpec, wasm, selftest) : Promise.resolve(failed('wasm-interp', o.interpOps, 0, missingSelftest))
    : null;

  const node = runNode('node', spec);
  report(node);
  report(selftest ? runSelftestInNode(selftest, spec) : failed('selftest', o.ops, 0, missingSelftest));
  for (const rt of ['bun', 'deno'] as const) if (o.engines.includes(rt)) report(await runRuntime(rt, spec));
  await runBrowsers(o.engines.filter((e): e is 'chromium' | 'firefox' => e === 'chromium' || e === 'firefox'), spec, wasm, report);
  let interpRef = node;
  if (interp) {
    if (o.interpOps !== o.ops) {
      interpRef = runNode(`node@${o.interpOps}`, interpSpec);
      report(interpRef);
    }
    report(await interp);
  }

  const mismatches: Mismatch[] = [];
  for (const r of results) {
    if (r === node || r === interpRef) continue;
    const ref = r.ops === o.ops ? node : interpRef;
    const what = r.engine === 'selftest' ? 'GENERATOR MISMATCH (TS opstream vs assembly/selftest.ts; a generator bug, not an engine difference)' : 'ENGINE DIFFERENCE';
    const m = compare(r, ref, what);
    if (m) mismatches.push(m);
  }
  const failures = results.filter((r) => !r.ok).map((r) => ({ engine: r.engine, error: r.error ?? 'failed' }));
  return {
    ok: mismatches.length === 0 && failures.length === 0,
    seed: o.seed,
    ops: o.ops,
    interpOps: o.interpOps,
    params: o.params,
    wasmSha256: engineSha256Hex(),
    results,
    mismatches,
    failures,
    wallMs: performance.now() - t0,
  };
}

function shortVersion(v: string | undefined): string {
  if (!v) return '';
  const ua = /(HeadlessChrome|Chrome|Firefox)\/[\d.]+/.exec(v);
  return ua ? ua[0] : v;
}

function seconds(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '' : `${(ms / 1000).toFixed(2)} s`;
}

export function formatTable(rep: DeterminismReport): string {
  const head = ['engine', 'version', 'ops', '@25%', '@50%', '@75%', 'final', 'compute', 'wall'];
  const refFor = (r: EngineResult): EngineResult | undefined =>
    rep.results.find((x) => x.ok && x.ops === r.ops && (x.engine === 'node' || x.engine.startsWith('node@')));
  const rows = rep.results.map((r) => {
    const ref = refFor(r);
    const cells = [0, 1, 2, 3].map((k) => {
      if (!r.ok) return k === 0 ? 'FAILED' : '';
      const root = r.roots[k] ?? '-';
      return root.slice(0, 16) + (ref && ref.roots[k] !== root ? ' ≠' : '');
    });
    return [r.engine, shortVersion(r.version), String(r.ops), ...cells, seconds(r.computeMs), seconds(r.wallMs)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]): string => row.map((c, i) => (i === 2 || i >= 7 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [
    `ma.wasm sha256 ${rep.wasmSha256}; seed ${rep.seed}; params ${JSON.stringify(rep.params)}`,
    `roots shown as their first 16 hex digits, after floor(ops·k/4) ops` +
      (rep.interpOps === rep.ops ? '' : `; wasm-interp runs ${rep.interpOps} ops and is compared with node@${rep.interpOps}`),
    '',
    fmt(head),
    ...rows.map(fmt),
    '',
  ];
  for (const r of rep.results) if (r.ok && (r.engine === 'node' || r.engine.startsWith('node@'))) out.push(`final root after ${r.ops} ops: ${r.roots[3]}`);
  for (const f of rep.failures) out.push(`FAILED ${f.engine}: ${f.error}`);
  for (const m of rep.mismatches) out.push(m.message);
  out.push(rep.ok ? `OK: all ${rep.results.length} runs agree (${seconds(rep.wallMs)})` : `NOT OK: ${rep.mismatches.length} difference(s), ${rep.failures.length} failed engine(s)`);
  return out.join('\n');
}

function parseEngines(s: string): EngineName[] {
  const names = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const n of names) {
    if (!(ENGINES as readonly string[]).includes(n)) throw new UsageError(`unknown engine "${n}" (choose from ${ENGINES.join(', ')})`);
  }
  return [...new Set(names)] as EngineName[];
}

function opsFlag(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > 2147483647) throw new UsageError(`--${name} must be an integer in [1, 2^31 − 1], got ${v}`);
  return v;
}

export const command: Command = {
  summary: 'cross-engine determinism check',
  async run(argv) {
    const flags = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (flags === null) return 0;
    const ops = opsFlag('ops', flags.ops);
    const interpOps = flags['interp-ops'] === undefined ? Math.min(ops, DEFAULT_INTERP_OPS) : opsFlag('interp-ops', flags['interp-ops']);
    if (!Number.isInteger(flags.seed) || flags.seed < 0 || flags.seed > 0xffffffff) throw new UsageError(`--seed must be an integer in [0, 2^32 − 1], got ${flags.seed}`);
    if (!(flags.timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');
    const rep = await runDeterminism({
      params: DEFAULT_MA_PARAMS,
      seed: flags.seed,
      ops,
      interpOps,
      engines: parseEngines(flags.engines),
      timeoutMs: flags.timeout * 1000,
      onResult: flags.json ? undefined : (r) => process.stderr.write(`  ${r.engine}: ${r.ok ? 'done' : 'FAILED'} (${seconds(r.wallMs)})\n`),
    });
    console.log(flags.json ? JSON.stringify(rep) : formatTable(rep));
    return rep.ok ? 0 : 1;
  },
};
