#!/usr/bin/env node
// Compiles src/ to dist/ for the published package: ESM JavaScript and .d.ts files from tsc
// (tsconfig.build.json rewrites the relative `.ts` imports of the JavaScript to `.js`; tsc leaves them
// as written in the .d.ts files, which only TypeScript ≥ 5 resolves, so they are rewritten here), plus
// the plain-JavaScript files src/ loads at run time by path (the verify worker). A checkout runs src/ through tsx instead;
// `npm pack` runs this (prepack), so a tarball always holds a fresh build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build-dist: tsc failed');
  process.exit(r.status ?? 1);
}

// `from './x.ts'` and `import('./x.ts')` in declarations → './x.js' (relative specifiers only).
const TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;
let declarations = 0;
function rewriteDeclarations(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) rewriteDeclarations(p);
    else if (e.name.endsWith('.d.ts')) {
      const text = readFileSync(p, 'utf8');
      const out = text.replace(TS_SPECIFIER, '$1$2$3.js$2');
      if (out !== text) {
        writeFileSync(p, out);
        declarations++;
      }
    }
  }
}
rewriteDeclarations(dist);

let copied = 0;
function copyPlainJs(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) copyPlainJs(p);
    else if (/\.(mjs|js)$/.test(e.name)) {
      const to = join(dist, relative(src, p));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
      copied++;
    }
  }
}
copyPlainJs(src);
console.log(`build-dist: compiled src/ to dist/ (import paths rewritten in ${declarations} .d.ts files, ${copied} plain JavaScript file${copied === 1 ? '' : 's'} copied)`);
