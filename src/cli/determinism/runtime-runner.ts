// Runs inside another JS runtime: `bun runtime-runner.ts WASM_PATH SPEC_JSON` (JavaScriptCore) or
// `deno run --allow-read runtime-runner.ts WASM_PATH SPEC_JSON` (Deno's V8); SPEC_JSON = {params, seed, ops}.
// Prints one JSON line {ok, roots, at, computeMs, version} or {ok: false, error}. Uses the same portable
// wrapper and generator as every other JS engine.
import { readFileSync } from 'node:fs';
import { MaEngine } from '../../engine/index.ts';
import { runStream } from '../../engine/opstream.ts';
import type { MaParams } from '../../engine/types.ts';

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string; v8: string } } | undefined;

async function main(): Promise<void> {
  const [wasmPath, specJson] = process.argv.slice(2);
  const spec = JSON.parse(specJson) as { params: MaParams; seed: number; ops: number };
  const engine = await MaEngine.instantiate(readFileSync(wasmPath), spec.params);
  const t0 = performance.now();
  const r = runStream(engine, spec.seed, spec.ops);
  const computeMs = performance.now() - t0;
  const version = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno} (v8 ${Deno.version.v8})` : 'unknown runtime';
  process.stdout.write(JSON.stringify({ ok: true, roots: r.roots, at: r.at, computeMs, version }) + '\n');
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }) + '\n');
  process.exitCode = 1;
});
