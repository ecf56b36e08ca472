#!/usr/bin/env node
// The numchain CLI runs its TypeScript sources directly through tsx (no build step besides the wasm).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
