// Browser side of bench/browser.ts: fetches the certified chain and the engine from the bench server,
// runs the same measurements as Node (bench/lib/light-bench.ts) and leaves the result on window.
import { webCryptoFastPath } from '../src/light/webcrypto-ed25519.ts';
import { runLightBench, type LightBenchInput } from './lib/light-bench.ts';

const w = globalThis as { benchResult?: unknown };
(async () => {
  try {
    const input = (await (await fetch('/input')).json()) as LightBenchInput;
    const wasm = new Uint8Array(await (await fetch('/ma.wasm')).arrayBuffer());
    w.benchResult = { ok: true, ua: navigator.userAgent, ...(await runLightBench(input, wasm, await webCryptoFastPath())) };
  } catch (e) {
    w.benchResult = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
})();
