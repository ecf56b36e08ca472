// The routes for light clients and the dashboard, against a node API serving a chain certified
// in-process: GET /genesis, /blocks (bounded in count and bytes), /snapshot/latest (rate-limited),
// the static dashboard (GET /, /ui/*) and its absence with --no-ui, --cors ORIGIN. A light client
// fed only through HTTP replays the chain to its final root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightClient } from '../../src/light/light-client.ts';
import type { GenesisJson, NodeApi, RawBlocksJson, SnapshotJson } from '../../src/rpc/api.ts';
import { startRpcServer, type RpcServer, type RpcServerOptions } from '../../src/rpc/server.ts';
import { loadUiAssets } from '../../src/rpc/ui-assets.ts';
import { toHex } from '../../src/crypto/sha256.ts';
import { syntheticChain, type SyntheticChain } from '../helpers/synthetic-chain.ts';
import { FakeNode } from './fake-node.ts';

let chain: SyntheticChain;
let uiDir = '';
let node: FakeNode;
let srv: RpcServer | null = null;

test.before(async () => {
  chain = await syntheticChain({ blocks: 6, txsPerBlock: 5, snapshotsAt: [3] });
  uiDir = mkdtempSync(join(tmpdir(), 'numchain-ui-'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>numchain</title>');
  writeFileSync(join(uiDir, 'app.js'), 'console.log(1)');
  writeFileSync(join(uiDir, 'app.css'), 'body{}');
});

test.after(() => rmSync(uiDir, { recursive: true, force: true }));

test.after.each(async () => {
  node?.stop();
  await srv?.close();
  srv = null;
});

/** A node API that serves the synthetic chain to light clients (the rest from a FakeNode). */
function lightNode(): NodeApi {
  node = new FakeNode();
  const api = Object.create(node) as NodeApi;
  return Object.assign(api, {
    genesis: (): GenesisJson => chain.genesis,
    rawBlocks: async (from: number, count: number, maxBytes: number) => {
      const out = [];
      let bytes = 0;
      for (const r of chain.records.slice(from - 1, from - 1 + count)) {
        if (bytes >= maxBytes) break;
        out.push(r);
        bytes += r.block.length + r.qc.length;
      }
      return out;
    },
    latestSnapshot: async (): Promise<SnapshotJson | null> => chain.snapshots.get(3) ?? null,
  });
}

async function serve(opts: RpcServerOptions = {}, api: NodeApi = lightNode()): Promise<RpcServer> {
  srv = await startRpcServer(api, opts);
  return srv;
}

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string; json: any; bytes: Uint8Array }> {
  const res = await fetch(srv!.url + path, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, json, bytes };
}

test('a light client fed only through the HTTP API replays the chain from the snapshot to its final root', async () => {
  await serve();
  const genesis = (await get('/genesis')).json as GenesisJson;
  assert.is((await get('/ui/ma.wasm')).status, 404, 'no dashboard configured: no engine served either');
  const c = await LightClient.create(genesis, chain.wasm);
  await c.loadSnapshot((await get('/snapshot/latest')).json as SnapshotJson);
  const r = (await get(`/blocks?from=${c.tip.height + 1}&count=64`)).json as RawBlocksJson;
  assert.is(r.blocks.length, 3);
  for (const b of r.blocks) await c.applyBlock(b);
  assert.is(toHex(c.tip.stateRoot), chain.roots[6]);
});

test('GET /blocks: bounded in count and bytes, parameters checked', async () => {
  await serve({ maxRawBlocks: 4 });
  const all = await get('/blocks?from=1&count=100');
  assert.is(all.status, 200);
  assert.equal(all.json.blocks.map((b: { height: number }) => b.height), [1, 2, 3, 4]);
  assert.is(typeof all.json.height, 'number');
  assert.equal((await get('/blocks?from=2')).json.blocks.map((b: { height: number }) => b.height), [2, 3, 4, 5]);
  assert.equal((await get('/blocks?from=7&count=2')).json.blocks, []);
  for (const [q, field] of [['from=0', 'from'], ['count=3', 'from'], ['from=1&count=0', 'count'], ['from=1&count=x', 'count'], ['from=1&wait=-1', 'wait']] as const) {
    const r = await get(`/blocks?${q}`);
    assert.is(r.status, 400, q);
    assert.is(r.json.field, field, q);
  }
  await srv!.close();
  await serve({ maxRawBytes: 10 });
  assert.is((await get('/blocks?from=1&count=5')).json.blocks.length, 1, 'at least one block, then the byte budget');
});

test('GET /blocks: rate-limited per client', async () => {
  await serve({ blocksRate: { perSecond: 0, burst: 3 } });
  for (let i = 0; i < 3; i++) assert.is((await get('/blocks?from=1&count=1')).status, 200);
  const r = await get('/blocks?from=1&count=1');
  assert.is(r.status, 429);
  assert.is(r.json.code, 'rate_limited');
});

test('GET /snapshot/latest: rate-limited per client', async () => {
  await serve({ snapshotRate: { perSecond: 0, burst: 2 } });
  assert.is((await get('/snapshot/latest')).status, 200);
  assert.is((await get('/snapshot/latest')).status, 200);
  const r = await get('/snapshot/latest');
  assert.is(r.status, 429);
  assert.is(r.headers.get('retry-after'), '1');
  await srv!.close();
  await serve({ maxSnapshotBytes: 1000 });
  assert.is((await get('/snapshot/latest')).status, 413);
});

test('a node API without these routes answers 404 naming what it does not serve', async () => {
  node = new FakeNode();
  await serve({}, node);
  for (const p of ['/genesis', '/blocks?from=1', '/snapshot/latest']) {
    const r = await get(p);
    assert.is(r.status, 404, p);
    assert.match(r.json.message, /does not serve/);
  }
});

test('the dashboard: GET / and /ui/* with their types; the engine beside them; nothing with --no-ui', async () => {
  await serve({ ui: loadUiAssets(uiDir, chain.wasm) });
  const page = await get('/');
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', 'text/html');
  assert.match(page.text, '<title>numchain</title>');
  assert.match((await get('/ui/app.js')).headers.get('content-type') ?? '', 'text/javascript');
  assert.match((await get('/ui/app.css')).headers.get('content-type') ?? '', 'text/css');
  const wasm = await get('/ui/ma.wasm');
  assert.is(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal(wasm.bytes, chain.wasm);
  assert.is((await get('/ui/other.js')).status, 404);
  assert.is((await get('/', { method: 'POST' })).status, 405);
  await srv!.close();
  await serve({ ui: null });
  assert.is((await get('/')).status, 404);
  await srv!.close();
  await serve({ ui: loadUiAssets(join(uiDir, 'absent'), chain.wasm) });
  const missing = await get('/');
  assert.is(missing.status, 503);
  assert.match(missing.text, 'npm run build:ui');
});

test('--cors ORIGIN: that origin on every answer, preflights answered', async () => {
  await serve({ cors: 'http://localhost:8080' });
  const r = await get('/genesis');
  assert.is(r.headers.get('access-control-allow-origin'), 'http://localhost:8080');
  assert.is(r.headers.get('vary'), 'origin');
  const pre = await get('/blocks', { method: 'OPTIONS' });
  assert.is(pre.status, 204);
  assert.is(pre.headers.get('access-control-allow-origin'), 'http://localhost:8080');
  await srv!.close();
  await serve();
  assert.is((await get('/genesis')).headers.get('access-control-allow-origin'), null);
});

test.run();
