// The node:http transport the flood gives NumchainClient: same answers as fetch for what the client
// reads (status, content-type, body text), request bodies sent as given, a response size cap, and
// aborts honoured.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NumchainClient, RpcError } from '../../src/rpc/client.ts';
import { nodeHttpFetch } from '../../src/rpc/node-http-fetch.ts';

let server: Server;
let base = '';

test.before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/echo') {
        res.writeHead(201, { 'content-type': 'application/json', 'x-seen': req.headers['content-type'] ?? '' });
        res.end(JSON.stringify({ method: req.method, bytes: [...body] }));
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(10_000));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'not_found', field: '', message: 'nothing here' }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('status, headers and body as fetch gives them; a byte body arrives unchanged', async () => {
  const f = nodeHttpFetch();
  try {
    const r = await f(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array([0, 1, 254, 255]), signal: new AbortController().signal });
    assert.is(r.status, 201);
    assert.is(r.headers.get('Content-Type'), 'application/json');
    assert.is(r.headers.get('x-seen'), 'application/msgpack');
    assert.is(r.headers.get('x-absent'), null);
    assert.equal(JSON.parse(await r.text()), { method: 'POST', bytes: [0, 1, 254, 255] });
    const g = await fetch(`${base}/echo`, { method: 'POST', body: new Uint8Array([0, 1, 254, 255]) });
    assert.equal(JSON.parse(await g.text()).bytes, [0, 1, 254, 255]);
  } finally {
    f.close();
  }
});

test('through NumchainClient: an error status becomes the same RpcError as with fetch', async () => {
  const f = nodeHttpFetch();
  try {
    for (const client of [new NumchainClient(base, { fetch: f }), new NumchainClient(base)]) {
      try {
        await client.health();
        assert.unreachable('404 must throw');
      } catch (e) {
        assert.instance(e, RpcError);
        assert.is((e as RpcError).status, 404);
        assert.is((e as RpcError).code, 'not_found');
      }
    }
  } finally {
    f.close();
  }
});

test('a response above the cap fails the request; an abort ends a request in flight', async () => {
  const f = nodeHttpFetch({ maxResponseBytes: 1000 });
  try {
    await f(`${base}/big`, { method: 'GET', headers: {}, signal: new AbortController().signal }).then(
      () => assert.unreachable('over the cap'),
      (e: Error) => assert.match(e.message, /larger than 1000 bytes/),
    );
    const ctrl = new AbortController();
    const p = f(`${base}/slow`, { method: 'GET', headers: {}, signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 50);
    await p.then(
      () => assert.unreachable('aborted'),
      (e: Error) => assert.is(e.name, 'AbortError'),
    );
  } finally {
    f.close();
  }
});

test('a kept-alive socket reset by the server is retried once on a new connection; a second reset fails', async () => {
  // Answers the first request on each connection and resets the connection on the second, as a
  // server that closed an idle keep-alive socket does to a client that reused it.
  let connections = 0;
  let resetEvery = false;
  const raw = createNetServer((sock) => {
    connections++;
    let served = 0;
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      buf = '';
      if (served++ > 0 || resetEvery) {
        sock.resetAndDestroy();
        return;
      }
      sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/`;
  const f = nodeHttpFetch({ maxSockets: 1 });
  const get = () => f(url, { method: 'GET', headers: {}, signal: new AbortController().signal });
  try {
    assert.is(await (await get()).text(), 'ok');
    assert.is(await (await get()).text(), 'ok', 'the reused socket was reset; the retry on a new one succeeded');
    assert.is(connections, 2);
    resetEvery = true;
    await get().then(
      () => assert.unreachable('a reset on the retry is not retried again'),
      (e: NodeJS.ErrnoException) => assert.is(e.code, 'ECONNRESET'),
    );
  } finally {
    f.close();
    await new Promise((r) => raw.close(r));
  }
});

test.run();
