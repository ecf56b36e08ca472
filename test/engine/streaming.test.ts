// MaEngine.instantiateStreaming / compileStreaming: compile while the bytes arrive when the server says
// application/wasm, read the whole body otherwise, and name the URL when the fetch fails. Served by a
// node:http server on 127.0.0.1, fetched with the runtime's own fetch (as a browser page would).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MaEngine } from '../../src/engine/index.ts';
import { WASM_PATH } from '../../src/host/node-loader.ts';
import { MaError, type MaParams } from '../../src/engine/types.ts';
import { readVectors } from './helpers.ts';

const wasm = readFileSync(WASM_PATH);
const vectors = readVectors('odd-shapes');
let server: Server;
let base = '';

test.before(async () => {
  server = createServer((req, res) => {
    const types: Record<string, string> = { '/ma.wasm': 'application/wasm', '/ma.wasm-charset': 'Application/Wasm; charset=binary', '/ma.bin': 'application/octet-stream' };
    const type = types[req.url ?? ''];
    if (!type) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': type });
    res.end(wasm);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Count calls of WebAssembly.compileStreaming while `run` runs. */
async function countingStreaming<T>(run: () => Promise<T>): Promise<{ value: T; calls: number }> {
  const original = WebAssembly.compileStreaming;
  let calls = 0;
  WebAssembly.compileStreaming = (source) => {
    calls++;
    return original(source);
  };
  try {
    return { value: await run(), calls };
  } finally {
    WebAssembly.compileStreaming = original;
  }
}

function replay(engine: MaEngine): string {
  for (const op of vectors.ops) engine.apply(op);
  return engine.rootHex();
}

const finalRoot = vectors.roots[vectors.roots.length - 1];
const params: MaParams = vectors.params;

test('application/wasm: compiled by compileStreaming, from a URL string, a URL, a Response or fetch()', async () => {
  for (const source of [`${base}/ma.wasm`, new URL('/ma.wasm', base), () => fetch(`${base}/ma.wasm`)]) {
    const { value, calls } = await countingStreaming(() => MaEngine.instantiateStreaming(typeof source === 'function' ? source() : source, params));
    assert.is(calls, 1, `compileStreaming for ${String(source)}`);
    assert.is(replay(value), finalRoot);
  }
  const response = await fetch(`${base}/ma.wasm`);
  const { value, calls } = await countingStreaming(() => MaEngine.instantiateStreaming(response, params));
  assert.is(calls, 1);
  assert.is(replay(value), finalRoot);
});

test('another content type, or application/wasm with parameters: the body is read and compiled, same result', async () => {
  for (const path of ['/ma.bin', '/ma.wasm-charset']) {
    const { value, calls } = await countingStreaming(() => MaEngine.instantiateStreaming(fetch(base + path), params));
    assert.is(calls, 0, path);
    assert.is(replay(value), finalRoot);
  }
  const built = await MaEngine.instantiateStreaming(new Response(wasm), params); // no content type at all
  assert.is(replay(built), finalRoot);
});

test('one compiled module serves many engines', async () => {
  const module = await MaEngine.compileStreaming(`${base}/ma.wasm`);
  assert.ok(module instanceof WebAssembly.Module);
  assert.is(replay(MaEngine.instantiateSync(module, params)), finalRoot);
  assert.is(replay(await MaEngine.instantiate(module, params)), finalRoot);
});

test('a failed fetch is a bad_wasm MaError naming the URL and status', async () => {
  try {
    await MaEngine.instantiateStreaming(`${base}/missing.wasm`, params);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, MaError);
    assert.is((e as MaError).code, 'bad_wasm');
    assert.match((e as MaError).message, `${base}/missing.wasm`);
    assert.match((e as MaError).message, 'HTTP 404');
  }
});

test.run();
