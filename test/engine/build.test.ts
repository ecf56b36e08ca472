// Deterministic by construction: the module imports nothing, is byte-for-byte reproducible, and its
// code has no SIMD, no float stores or float results visible to the host, no recursion, and grows
// memory only while sizing the tensor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, WASM_PATH, recordedEngineSha256Hex } from '../../src/host/node-loader.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const wasm = readFileSync(WASM_PATH);

function wat(file: string): string {
  const r = spawnSync('wasm2wat', ['--generate-names', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`wasm2wat (Debian package wabt) is needed for this test: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

test('ma.wasm imports nothing from its host', () => {
  const m = new WebAssembly.Module(wasm);
  assert.equal(WebAssembly.Module.imports(m), []);
  const exported = WebAssembly.Module.exports(m).map((e) => e.kind);
  assert.ok(exported.includes('memory'));
  assert.not.ok(exported.includes('global'), 'no exported globals (a float could leak through one)');
});

test('the built engine matches the SHA-256 recorded in the repository', () => {
  assert.is(sha(wasm), recordedEngineSha256Hex(), 'rebuild from a clean tree, or record a deliberate change: npm run record-wasm-hash');
});

test('a rebuild from the sources is byte-identical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'numchain-build-'));
  try {
    const out = join(dir, 'ma.wasm');
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'node_modules/assemblyscript/bin/asc.js'), 'assembly/index.ts', '--target', 'release', '--outFile', out, '--textFile', join(dir, 'ma.wat')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(sha(readFileSync(out)), sha(wasm));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no SIMD, no float stores, no float results, no indirect calls, no recursion, growth only in init', () => {
  const text = wat(WASM_PATH);
  assert.not.match(text, /v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2/, 'SIMD');
  assert.not.match(text, /f(32|64)\.store|i(32|64)\.reinterpret_f|f(32|64)\.reinterpret/, 'floats reach memory or change type');
  assert.not.match(text, /call_indirect/, 'indirect calls');
  assert.not.match(text, /\(result [^)]*f(32|64)/, 'a function returns a float');

  // Call graph from the text: each "(func $name" up to the next one; edges from "call $x".
  const funcs = new Map<string, string[]>();
  const parts = text.split(/\n\s*\(func /).slice(1);
  for (const p of parts) {
    const name = /^(\$[^\s()]+)/.exec(p)?.[1] ?? '?';
    funcs.set(name, [...p.matchAll(/\bcall (\$[^\s()]+)/g)].map((m) => m[1]));
  }
  assert.ok(funcs.size > 5, 'parsed the functions');
  const state = new Map<string, number>();
  const cyclic = (f: string): boolean => {
    if (state.get(f) === 1) return true;
    if (state.get(f) === 2) return false;
    state.set(f, 1);
    for (const g of funcs.get(f) ?? []) if (cyclic(g)) return true;
    state.set(f, 2);
    return false;
  };
  for (const f of funcs.keys()) assert.not.ok(cyclic(f), `recursion through ${f}`);

  // Only init() may reach memory.grow (directly or through callees).
  const growers = new Set(parts.filter((p) => p.includes('memory.grow')).map((p) => /^(\$[^\s()]+)/.exec(p)?.[1] ?? '?'));
  assert.ok(growers.size > 0, 'found the sizing code');
  const reaches = (f: string, seen = new Set<string>()): boolean => {
    if (growers.has(f)) return true;
    if (seen.has(f)) return false;
    seen.add(f);
    return (funcs.get(f) ?? []).some((g) => reaches(g, seen));
  };
  const exportsByName = [...text.matchAll(/\(export "([^"]+)" \(func (\$[^\s()]+)\)/g)].map((m) => [m[1], m[2]] as const);
  assert.ok(exportsByName.length > 10, 'parsed the exports');
  assert.equal(exportsByName.filter(([, f]) => reaches(f)).map(([n]) => n), ['init']);
});

test.run();
