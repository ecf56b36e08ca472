// Files of the scratch project that test/package/pack.test.ts installs the packed tarball into. They
// are strings, not files under test/, because the test runner imports every file its pattern matches
// and these only make sense inside that project (they import `numchain/...` and the vector files).

/** file name → contents */
export const CONSUMER_FILES: Readonly<Record<string, string>> = {
  'replay.mjs': `// Replays a vector file (line 1 {"ma": params}, then one op a line) on an engine from the installed
// package, checking the root after every op against the .roots file, then a row proof against the
// final root with the packaged verifier. Shared by the Node/Bun/Deno runner and the browser page.
import { verifyRowProof } from 'numchain/engine';

/** makeEngine(params) → a MaEngine; returns { ops, root } or throws naming the first differing op. */
export async function replay(name, jsonl, rootsText, makeEngine) {
  const lines = jsonl.split('\\n').filter((l) => l.trim() !== '');
  const want = rootsText.split('\\n').filter((l) => l.trim() !== '');
  if (want.length !== lines.length - 1) throw new Error(name + ': ' + (lines.length - 1) + ' ops but ' + want.length + ' roots');
  const engine = await makeEngine(JSON.parse(lines[0]).ma);
  for (let i = 1; i < lines.length; i++) {
    engine.apply(JSON.parse(lines[i]));
    const got = engine.rootHex();
    if (got !== want[i - 1]) throw new Error(name + ' op ' + i + ': root ' + got + ', expected ' + want[i - 1]);
  }
  const last = JSON.parse(lines[lines.length - 1]);
  const proof = engine.proof({ shard: last.shard, layer: last.layer, slot: last.slot });
  if (!verifyRowProof(proof, engine.root())) throw new Error(name + ': the row proof does not verify against the final root');
  return { ops: lines.length - 1, root: engine.rootHex() };
}
`,
  'runtime.mjs': `// Node, Bun or Deno, in a project that installed the numchain tarball: <runtime> runtime.mjs NAME...
// replays NAME.jsonl against NAME.roots twice, with the engine loaded by the Node helper
// (numchain/engine/node) and from the bytes of numchain/ma.wasm through the portable wrapper.
// Prints one JSON line: {runtime, results: [{name, via, ops, root}]} or {error}.
import { readFileSync } from 'node:fs';
import { MaEngine } from 'numchain/engine';
import { loadEngine } from 'numchain/engine/node';
import { replay } from './replay.mjs';

const runtime = typeof Bun !== 'undefined' ? 'bun ' + Bun.version : typeof Deno !== 'undefined' ? 'deno ' + Deno.version.deno : 'node ' + process.version;

async function main() {
  const wasm = readFileSync(new URL(import.meta.resolve('numchain/ma.wasm')));
  const results = [];
  for (const name of process.argv.slice(2)) {
    const jsonl = readFileSync(name + '.jsonl', 'utf8');
    const roots = readFileSync(name + '.roots', 'utf8');
    results.push({ name, via: 'numchain/engine/node', ...(await replay(name, jsonl, roots, (p) => loadEngine(p))) });
    results.push({ name, via: 'numchain/ma.wasm', ...(await replay(name, jsonl, roots, (p) => MaEngine.instantiate(wasm, p))) });
  }
  process.stdout.write(JSON.stringify({ runtime, results }) + '\\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ runtime, error: e instanceof Error ? e.name + ': ' + e.message : String(e) }) + '\\n');
  process.exitCode = 1;
});
`,
  'page.mjs': `// Browser page script, bundled by esbuild from a project that installed the numchain tarball (the
// vector files come in as text). It compiles /ma.wasm (served as application/wasm) with
// MaEngine.instantiateStreaming, replays every vector and POSTs {ok, roots, at} back to the test's
// server (the protocol of src/cli/determinism/browser.ts); any mismatch is posted as an error.
import { MaEngine } from 'numchain/engine';
import { NumchainClient } from 'numchain/client';
import { replay } from './replay.mjs';
import oddShapes from './odd-shapes.jsonl';
import oddShapesRoots from './odd-shapes.roots';
import default2 from './default-2shards.jsonl';
import default2Roots from './default-2shards.roots';

const VECTORS = [['odd-shapes', oddShapes, oddShapesRoots], ['default-2shards', default2, default2Roots]];

async function post(body) {
  await fetch('result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function main() {
  // Count the streaming compiles: the server sends application/wasm, so every engine must use it.
  const compileStreaming = WebAssembly.compileStreaming;
  let streamed = 0;
  WebAssembly.compileStreaming = (source) => {
    streamed++;
    return compileStreaming(source);
  };
  const t0 = performance.now();
  const roots = [];
  const at = [];
  for (const [name, jsonl, want] of VECTORS) {
    const r = await replay(name, jsonl, want, (params) => MaEngine.instantiateStreaming(fetch('/ma.wasm'), params));
    roots.push(r.root);
    at.push(r.ops);
  }
  const computeMs = performance.now() - t0;
  if (streamed !== VECTORS.length) throw new Error('WebAssembly.compileStreaming ran ' + streamed + ' times for ' + VECTORS.length + ' engines');
  if (typeof NumchainClient !== 'function') throw new Error('numchain/client did not bundle');
  await post({ ok: true, roots, at, computeMs, version: navigator.userAgent });
}

main().catch((e) => post({ ok: false, error: e instanceof Error ? e.name + ': ' + e.message : String(e), version: navigator.userAgent }));
`,
  'consumer.mts': `// Type-checked (never run) in the scratch project: every entry's declarations resolve from the
// installed package and describe the API the README shows.
import { DEFAULT_MA_PARAMS, MaEngine, MaError, verifyRowProof, type MaOp, type RowProof } from 'numchain/engine';
import { engineSha256Hex, loadEngine } from 'numchain/engine/node';
import { NumchainClient, RpcError, type HealthJson, type SignedTx } from 'numchain/client';
import * as numchain from 'numchain';

export async function inBrowser(url: string): Promise<boolean> {
  const engine: MaEngine = await MaEngine.instantiateStreaming(fetch(url), DEFAULT_MA_PARAMS);
  const op: MaOp = { op: 'add', shard: 0, layer: 1, slot: 2, vec: new Array<number>(128).fill(5) };
  engine.apply(op);
  const proof: RowProof = engine.proof({ shard: 0, layer: 1, slot: 2 });
  return verifyRowProof(proof, engine.root());
}

export async function inNode(): Promise<string> {
  const engine = await loadEngine(DEFAULT_MA_PARAMS);
  const module: WebAssembly.Module = await MaEngine.compileStreaming(new Response(new Uint8Array(0)));
  void module;
  return engineSha256Hex() + ' ' + engine.rootHex();
}

export function names(): unknown[] {
  const health: HealthJson | null = null;
  const tx: SignedTx | null = null;
  return [NumchainClient, RpcError, MaError, numchain.MaEngine, numchain.NumchainClient, health, tx];
}
`,
  'tsconfig.json': `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022", "DOM"],
    "types": [],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false
  },
  "files": ["consumer.mts"]
}
`,
};
