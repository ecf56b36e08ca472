// Browser side of the determinism check, bundled by esbuild with the portable engine wrapper. The page
// at /run/<token>/ loads this script, fetches its spec and ma.wasm from the same server, runs the op
// stream and POSTs the result back; the runner then kills the browser.
import { MaEngine } from '../../engine/index.ts';
import { runStream } from '../../engine/opstream.ts';
import type { MaParams } from '../../engine/types.ts';

async function post(body: unknown): Promise<void> {
  await fetch('result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function main(): Promise<void> {
  const spec = (await (await fetch('spec')).json()) as { params: MaParams; seed: number; ops: number };
  const wasm = await (await fetch('/ma.wasm')).arrayBuffer();
  const engine = await MaEngine.instantiate(wasm, spec.params);
  const t0 = performance.now();
  const r = runStream(engine, spec.seed, spec.ops);
  const computeMs = performance.now() - t0;
  await post({ ok: true, roots: r.roots, at: r.at, computeMs, version: navigator.userAgent });
}

window.addEventListener('error', (e) => void post({ ok: false, error: `uncaught: ${e.message}` }).catch(() => {}));
main().catch((e: unknown) => post({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), version: navigator.userAgent }));
