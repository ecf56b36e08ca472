// The cross-engine determinism check: the same ma.wasm on the same seeded op stream gives the same
// roots in every installed engine, and the in-wasm generator (assembly/selftest.ts, used by wabt's
// interpreter) produces exactly the stream of src/engine/opstream.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import { OpStream, boundOf } from '../../src/engine/opstream.ts';
import { DEFAULT_MA_PARAMS, type MaOp, type MaParams } from '../../src/engine/types.ts';
import { ENGINES, runDeterminism, runNode, runSelftestInNode, type EngineName } from '../../src/cli/determinism.ts';
import { findExecutable } from '../../src/cli/determinism/proc.ts';

const OPS = 3000;
const SELFTEST = join(PROJECT_ROOT, 'build', 'selftest.wasm');

function installed(e: EngineName): boolean {
  switch (e) {
    case 'node': return true;
    case 'bun': return findExecutable(join(PROJECT_ROOT, 'node_modules', '.bin', 'bun'), 'bun') !== null;
    case 'deno': return findExecutable(join(PROJECT_ROOT, 'node_modules', '.bin', 'deno'), 'deno') !== null;
    case 'chromium': return findExecutable('chromium', 'chromium-browser') !== null;
    case 'firefox': return findExecutable('firefox-esr', 'firefox') !== null;
    case 'wasm-interp': return findExecutable('wast2json') !== null && findExecutable('spectest-interp') !== null;
  }
}

test('build/selftest.wasm exists and imports nothing', () => {
  assert.ok(existsSync(SELFTEST), 'build/selftest.wasm missing: npm run build:wasm');
  assert.equal(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(SELFTEST))), []);
});

test('the TS generator and the AS selftest generator give the same roots in Node', () => {
  const selftest = new Uint8Array(readFileSync(SELFTEST));
  const odd: MaParams = { shards: 2, layers: 3, slots: 5, dim: 7, q: 5, decay: 0.7, clip: 0.5 }; // B = 2 (< 3), odd q
  const cases: [MaParams, number, number][] = [
    [DEFAULT_MA_PARAMS, 1, OPS],
    [DEFAULT_MA_PARAMS, 0xffffffff, 1001],
    [odd, 42, 5000],
  ];
  for (const [params, seed, ops] of cases) {
    const spec = { params, seed, ops, timeoutMs: 10_000 };
    const ts = runNode('node', spec);
    const as = runSelftestInNode(selftest, spec);
    assert.ok(ts.ok && as.ok, `${ts.error ?? ''} ${as.error ?? ''}`);
    assert.equal(as.roots, ts.roots, `generator mismatch for seed ${seed} params ${JSON.stringify(params)}`);
    assert.equal(ts.at, [Math.floor(ops / 4), Math.floor(ops / 2), Math.floor((3 * ops) / 4), ops]);
  }
});

test('the roots depend on the seed (the check can fail)', () => {
  const a = runNode('node', { params: DEFAULT_MA_PARAMS, seed: 1, ops: 500, timeoutMs: 10_000 });
  const b = runNode('node', { params: DEFAULT_MA_PARAMS, seed: 2, ops: 500, timeoutMs: 10_000 });
  assert.not.equal(a.roots[3], b.roots[3]);
});

test('the stream covers the edge cases within the test op count', () => {
  const p = DEFAULT_MA_PARAMS;
  const B = boundOf(p);
  const s = new OpStream(p, 1);
  const seen = new Set<string>();
  const mark = (op: MaOp): void => {
    if (op.op === 'add') {
      const v = Array.from(op.vec);
      if (v.includes(B) && v.includes(-B)) seen.add('add ±B');
      if (v.some((x) => x % 2 !== 0 && Math.abs(x) <= 3)) seen.add('add small odd');
    } else if (op.op === 'decay') {
      seen.add(op.factor === undefined ? 'decay genesis' : op.factor === p.q / 2 ? 'decay q/2' : op.factor === 0 ? 'decay 0' : op.factor === p.q ? 'decay q' : 'decay k');
    } else if (op.op === 'mix') {
      if (op.src === op.slot) seen.add('mix src=slot');
      seen.add(op.alpha === p.q / 2 ? 'mix q/2' : op.alpha === 0 ? 'mix 0' : op.alpha === p.q ? 'mix q' : 'mix k');
    } else seen.add(op.bound === 0 ? 'clip 0' : op.bound === B ? 'clip B' : 'clip k');
  };
  for (let i = 0; i < OPS; i++) mark(s.next());
  const want = ['add ±B', 'add small odd', 'decay genesis', 'decay 0', 'decay q', 'decay q/2', 'decay k', 'mix src=slot', 'mix 0', 'mix q', 'mix q/2', 'mix k', 'clip 0', 'clip B', 'clip k'];
  for (const w of want) assert.ok(seen.has(w), `no "${w}" op in the first ${OPS} ops`);
});

test(`every installed engine gives the same roots (${OPS} ops)`, async () => {
  const missing = ENGINES.filter((e) => !installed(e));
  if (missing.length) {
    if (process.env.CI) assert.unreachable(`engines not installed in CI: ${missing.join(', ')}`);
    console.log(`  cross-engine: skipping engines that are not installed here: ${missing.join(', ')}`);
  }
  const engines = ENGINES.filter(installed);
  const rep = await runDeterminism({ params: DEFAULT_MA_PARAMS, seed: 7, ops: OPS, interpOps: OPS, engines, timeoutMs: 45_000 });
  assert.equal(rep.failures, [], 'every engine ran');
  assert.equal(rep.mismatches, [], 'no differences');
  assert.ok(rep.ok);
  const ran = rep.results.map((r) => r.engine);
  for (const e of engines) assert.ok(ran.includes(e), `${e} did not run`);
  const finals = new Set(rep.results.map((r) => r.roots.join(',')));
  assert.is(finals.size, 1, `roots differ: ${JSON.stringify(rep.results.map((r) => [r.engine, r.roots[3]]))}`);
});

test.run();
