// The dashboard's light verifier in Chromium and Firefox against Node, in one run: replay speed
// (certified blocks checked against their QC and re-executed in the runtime's own ma.wasm; blocks/s
// and transactions/s) with the Web Crypto fast path the page uses and with ZIP-215 in JS alone, and
// QC verifications per second both ways. The chain is certified in-process (test/helpers/
// synthetic-chain.ts: 4 validators, a QC of 3 votes per block), the browsers are Debian's, driven by
// puppeteer-core. Prints a table and one JSON line; ratios are against Node measured in the same run.
// Run: node --import tsx bench/browser.ts   (BENCH_BLOCKS, BENCH_TXS, BENCH_ZIP215_BLOCKS, BENCH_QC_MS)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { webCryptoFastPath } from '../src/light/webcrypto-ed25519.ts';
import { PROJECT_ROOT } from '../src/host/node-loader.ts';
import { browserInstalled, launch, type BrowserName } from '../test/helpers/browsers.ts';
import { syntheticChain } from '../test/helpers/synthetic-chain.ts';
import { runLightBench, type LightBenchInput, type LightBenchResult, type Rate } from './lib/light-bench.ts';
import { jsonLine, sig, table } from './lib/report.ts';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 120);
const TXS = Number(process.env.BENCH_TXS ?? 100);
const ZIP215_BLOCKS = Number(process.env.BENCH_ZIP215_BLOCKS ?? 10);
const QC_MS = Number(process.env.BENCH_QC_MS ?? 2000);

const t0 = performance.now();
const chain = await syntheticChain({ blocks: BLOCKS, txsPerBlock: TXS, seed: 7 });
const input: LightBenchInput = { genesis: chain.genesis, records: chain.records, finalRoot: chain.roots[BLOCKS]!, zip215Blocks: ZIP215_BLOCKS, qcMs: QC_MS };
console.log(`certified chain: ${BLOCKS} blocks × ${TXS} transactions, 4 validators, made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const { build } = await import('esbuild');
const page = (await build({ entryPoints: [join(PROJECT_ROOT, 'bench', 'browser-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })).outputFiles[0]!.text;
const inputJson = JSON.stringify(input);
const server = createServer((req, res) => {
  const send = (type: string, body: string | Uint8Array): void => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (req.url === '/') return send('text/html; charset=utf-8', '<!doctype html><meta charset="utf-8"><title>numchain light bench</title><script type="module" src="/page.js"></script>');
  if (req.url === '/page.js') return send('text/javascript; charset=utf-8', page);
  if (req.url === '/input') return send('application/json', inputJson);
  if (req.url === '/ma.wasm') return send('application/wasm', chain.wasm);
  res.writeHead(404);
  res.end();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const results: { runtime: string; version: string; r: LightBenchResult }[] = [];
results.push({ runtime: 'node', version: process.version, r: await runLightBench(input, chain.wasm, await webCryptoFastPath()) });
for (const name of ['chromium', 'firefox'] as BrowserName[]) {
  if (!browserInstalled(name)) {
    console.log(`${name}: not installed, skipped`);
    continue;
  }
  const b = await launch(name);
  try {
    const p = await b.newPage(800, 600);
    await p.goto(url);
    await p.waitForFunction('window.benchResult !== undefined', { timeout: 600_000, polling: 500 });
    const out = (await p.evaluate('window.benchResult')) as { ok: boolean; error?: string } & LightBenchResult;
    if (!out.ok) throw new Error(`${name}: ${out.error}`);
    results.push({ runtime: name, version: b.version, r: out });
  } finally {
    await b.close();
  }
}
server.close();

const perS = (x: Rate | null, what: 'blocks' | 'txs' | 'count'): number => (x === null || x[what] === undefined ? NaN : (x[what]! * 1000) / x.ms);
const node = results[0]!.r;
const cols = [
  ['replay blocks/s (Web Crypto)', (r: LightBenchResult) => perS(r.replayFast, 'blocks')],
  ['replay tx/s (Web Crypto)', (r: LightBenchResult) => perS(r.replayFast, 'txs')],
  ['replay tx/s (ZIP-215 in JS)', (r: LightBenchResult) => perS(r.replayZip215, 'txs')],
  ['QC/s (Web Crypto)', (r: LightBenchResult) => perS(r.qcFast, 'count')],
  ['QC/s (ZIP-215 in JS)', (r: LightBenchResult) => perS(r.qcZip215, 'count')],
] as const;
const fmt = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '–');
console.log('');
console.log(table(['runtime', ...cols.map((c) => c[0])], results.map(({ runtime, r }) => [runtime, ...cols.map(([, f]) => `${fmt(f(r))}${runtime === 'node' ? '' : ` (${fmt(f(r) / f(node))}× node)`}`)])));
console.log(`\n${results.map((x) => `${x.runtime}: ${x.version}`).join('; ')}. A QC here is 3 votes of 4 validators; replay = decode, QC, hash chain, execute (signatures, engine, roots), receipts.`);
console.log(jsonLine('browser', {
  blocks: BLOCKS,
  txsPerBlock: TXS,
  zip215Blocks: ZIP215_BLOCKS,
  runtimes: Object.fromEntries(results.map(({ runtime, version, r }) => [runtime, {
    version,
    fastPath: r.fastPath,
    ...Object.fromEntries(cols.map(([k, f]) => [k.replace(/[^a-zA-Z0-9]+/g, '_').replace(/_$/, ''), sig(f(r), 4)])),
    ...(runtime === 'node' ? {} : { vsNode: Object.fromEntries(cols.map(([k, f]) => [k.replace(/[^a-zA-Z0-9]+/g, '_').replace(/_$/, ''), sig(f(r) / f(node), 3)])) }),
  }])),
}));
process.exit(0);
