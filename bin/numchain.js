#!/usr/bin/env node
// The numchain CLI. In a checkout (src/ present, tsx installed as a dev dependency) it runs the
// TypeScript sources through tsx, so an edit takes effect without a build; an installed package has
// no src/ and runs the compiled dist/ (built by `npm run build:dist`, which `npm pack` runs).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return null;
  }
}

let entry = null;
if (existsSync(source)) {
  const register = await tsxRegister();
  if (register) {
    register();
    entry = source;
  }
}
if (entry === null && existsSync(compiled)) entry = compiled;
if (entry === null) {
  console.error('numchain: no way to run the CLI here: install the dev dependencies (npm install) to run src/ through tsx, or build dist/ (npm run build:dist)');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
