#!/usr/bin/env node
// Builds every engine target with the pinned asc, then reports the release module's SHA-256 against
// the hash recorded in assembly/ma.wasm.sha256 (the value genesis files commit to).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const targets = [['assembly/index.ts', 'release'], ['assembly/index.ts', 'debug']];
if (existsSync(join(root, 'assembly', 'selftest.ts'))) targets.push(['assembly/selftest.ts', 'selftest']);

for (const [entry, target] of targets) {
  const r = spawnSync(process.execPath, [asc, entry, '--target', target], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build-wasm: asc failed for target ${target}`);
    process.exit(r.status ?? 1);
  }
}
const wasm = readFileSync(join(root, 'build', 'ma.wasm'));
const hash = createHash('sha256').update(wasm).digest('hex');
const recordedPath = join(root, 'assembly', 'ma.wasm.sha256');
const recorded = existsSync(recordedPath) ? readFileSync(recordedPath, 'utf8').trim() : '';
if (recorded === hash) console.log(`build-wasm: build/ma.wasm sha256 ${hash} (matches assembly/ma.wasm.sha256)`);
else console.warn(`build-wasm: build/ma.wasm sha256 ${hash} differs from recorded ${recorded || '(none)'}; if the engine changed on purpose, record it: npm run record-wasm-hash`);
