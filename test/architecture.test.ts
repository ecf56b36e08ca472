// The folder layout is the architecture (docs/ARCHITECTURE.md): every folder of src/ may import only
// the folders listed for it here, the pure folders import no `node:*` module (the one fast-path file
// aside), and no source file is over 500 lines unless its header says why. Fails naming the file and
// the import that breaks the rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** folder → the folders it may import (itself always). Keep in step with docs/ARCHITECTURE.md. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  util: [],
  codec: [],
  crypto: ['codec'],
  engine: ['crypto'],
  // Leader weights read the PoC state (poc-state.ts): poc is pure, and its row-proof check is the engine's.
  consensus: ['codec', 'crypto', 'engine', 'poc', 'util'],
  chain: ['codec', 'consensus', 'crypto', 'engine', 'util'],
  driver: ['chain', 'codec', 'consensus', 'crypto', 'engine', 'poc', 'util'],
  sim: ['chain', 'codec', 'consensus', 'crypto', 'driver', 'engine', 'poc', 'util'],
  // The light verifier reads the JSON shapes the node serves (rpc/api.ts holds only types).
  light: ['chain', 'codec', 'consensus', 'crypto', 'engine', 'rpc', 'util'],
  store: ['codec', 'crypto', 'util'],
  net: ['codec', 'crypto', 'util'],
  metrics: [],
  // Proof of capacity / processing: pure checks below consensus, which keeps the PoC state per branch.
  poc: ['codec', 'crypto', 'engine'],
  // host/poc-store.ts keeps the PoC replica on disk and assembles answers with src/poc.
  host: ['codec', 'crypto', 'engine', 'poc', 'util'],
  rpc: ['chain', 'codec', 'crypto', 'engine', 'metrics', 'util'],
  node: ['chain', 'codec', 'consensus', 'crypto', 'driver', 'engine', 'host', 'metrics', 'net', 'poc', 'rpc', 'store', 'util'],
  cli: ['chain', 'codec', 'consensus', 'crypto', 'driver', 'engine', 'host', 'metrics', 'net', 'node', 'poc', 'rpc', 'sim', 'store', 'util'],
};

/** Folders whose code runs anywhere (browsers, the simulator): no node:* imports. */
const PURE = ['util', 'codec', 'crypto', 'engine', 'consensus', 'chain', 'driver', 'sim', 'light', 'poc'];
/** The documented exception: the optional fast path that can only ever say "valid" (docs/ARCHITECTURE.md). */
const NODE_IMPORT_EXCEPTIONS = new Set(['crypto/fast-verify-node.ts']);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

const files = sources(SRC).map((p) => ({ path: p, rel: relative(SRC, p).split(sep).join('/'), text: readFileSync(p, 'utf8') }));
/** Every source file outside the tests: src/ and the benches, scripts, CLI entry points and the dashboard. */
const ROOT = join(SRC, '..');
const allSources = ['src', 'bench', 'scripts', 'bin', join('ui', 'src')]
  .flatMap((d) => sources(join(ROOT, d)))
  .map((p) => ({ rel: relative(ROOT, p).split(sep).join('/'), text: readFileSync(p, 'utf8') }));

test('every folder imports only the folders the architecture allows', () => {
  const broken: string[] = [];
  for (const f of files) {
    const folder = f.rel.includes('/') ? f.rel.split('/')[0]! : null;
    if (folder === null) continue; // the package entry points (src/index.ts, ...) may import anything
    const allowed = ALLOWED[folder];
    if (allowed === undefined) {
      broken.push(`${f.rel}: folder src/${folder} has no rule in test/architecture.test.ts (and docs/ARCHITECTURE.md)`);
      continue;
    }
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(f.path), spec)).split(sep).join('/');
      const to = target.split('/')[0]!;
      if (to !== folder && !allowed.includes(to)) broken.push(`${f.rel} imports ${spec} (src/${to} is not allowed from src/${folder})`);
    }
  }
  assert.equal(broken, []);
});

test('the pure folders import no node:* module', () => {
  const broken = files
    .filter((f) => PURE.includes(f.rel.split('/')[0]!) && !NODE_IMPORT_EXCEPTIONS.has(f.rel))
    .flatMap((f) => importsOf(f.text).filter((s) => s.startsWith('node:')).map((s) => `${f.rel} imports ${s}`));
  assert.equal(broken, []);
});

test('no source file is over 500 lines unless its header says why', () => {
  const long = allSources.filter((f) => f.text.split('\n').length > 500 && !/^\/\/ Over 500 lines: /m.test(f.text.split('\n').slice(0, 12).join('\n')));
  assert.equal(long.map((f) => `${f.rel}: ${f.text.split('\n').length} lines`), []);
});

test('the rules see what they check (the checker is not vacuous)', () => {
  assert.ok(files.length > 80, `${files.length} source files`);
  assert.ok(allSources.some((f) => f.rel.startsWith('ui/src/')) && allSources.some((f) => f.rel.startsWith('bench/')));
  assert.ok(importsOf("import { a } from '../consensus/core.ts';\nexport { b } from './x.ts';").length === 2);
  assert.ok(files.some((f) => f.rel.startsWith('driver/')) && files.some((f) => f.rel.startsWith('sim/')));
});

test.run();
