#!/usr/bin/env node
// Builds the dashboard every node serves at GET / (see src/rpc/ui-assets.ts): esbuild bundles
// ui/src/main.ts, which imports the project's own light client (src/light/) and through it the
// consensus encodings, the chain executor and the engine wrapper, plus uPlot, into build/ui/app.js
// and app.css; ui/index.html is copied beside them. `prepare` runs it (so `npm install`, `npm ci` and
// `npm pack` build it) and the package ships build/ui/. Also importable: buildUi() returns what it wrote.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildUi(outDir = join(root, 'build', 'ui')) {
  const { build } = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { app: 'ui/src/main.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115'],
    outdir: outDir,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'ui', 'index.html'), join(outDir, 'index.html'));
  const files = ['index.html', 'app.js', 'app.css'].map((f) => ({ file: f, bytes: statSync(join(outDir, f)).size }));
  return { outDir, files };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outDir, files } = await buildUi(process.argv[2]);
  console.log(`build-ui: ${files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')} in ${outDir}`);
}
