// A client that POSTs a body far over the limit must read the 413 the server sends (or any other
// answer given before the body is read), not a connection reset. Most clients write their whole
// body before they read anything; if the server closed the connection with unread bytes in it, the
// kernel would reset it (RST) and the client would fail with EPIPE or ECONNRESET while still
// writing. So the server answers, then reads and drops the rest of the body within a bound
// (src/rpc/body.ts, dropUnreadBody). The clients run in another process, as real ones do: in this
// process the test's own reads would pick up the answer before the reset arrives. Repeated,
// because the reset is a race.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startRpcServer, type RpcServer } from '../../src/rpc/server.ts';
import { FakeNode } from './fake-node.ts';

const MiB = 1024 * 1024;
let node: FakeNode;
let srv: RpcServer;

test.before(async () => {
  node = new FakeNode();
  srv = await startRpcServer(node, { rate: null }); // the default limits: 64 KiB per tx, 8 MiB per batch
});

test.after(async () => {
  node.stop();
  await srv.close();
});

// One request at a time, each on a new connection; body written in one piece, then the answer read.
const CLIENT = `
import { request } from 'node:http';
const [url, sizes, keepAlive] = JSON.parse(process.argv[1]);
const out = [];
for (const mib of sizes) {
  const size = mib * 1024 * 1024;
  out.push(await new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': size, connection: keepAlive ? 'keep-alive' : 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode + ' ' + (JSON.parse(body).code ?? '')));
      res.on('error', (e) => resolve('response error ' + (e.code ?? e.message)));
    });
    req.on('error', (e) => resolve('request error ' + (e.code ?? e.message)));
    req.end(Buffer.alloc(size, 7));
  }));
}
console.log(JSON.stringify(out));
`;

function clientRun(path: string, sizesMiB: readonly number[], keepAlive: boolean, base = srv.url): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT, JSON.stringify([base + path, sizesMiB, keepAlive])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`client exited ${code}: ${out}`))));
  });
}

test('16–64 MiB POSTs to /txs and /tx each get their 413 (client asks to close the connection)', async () => {
  const sizes = [16, 32, 64, 9, 16, 32, 16, 24, 48, 16];
  const got = await clientRun('/txs', sizes, false);
  assert.equal(got, sizes.map(() => '413 body_too_large'));
  assert.equal(await clientRun('/tx', [16, 16, 16, 16], false), new Array(4).fill('413 body_too_large'));
});

test('the same with keep-alive connections', async () => {
  const sizes = [16, 32, 16, 32, 16, 32];
  assert.equal(await clientRun('/txs', sizes, true), sizes.map(() => '413 body_too_large'));
});

test('a refusal given before the body is read (429 here) also reaches the client', async () => {
  const limited = await startRpcServer(node, { rate: { perSecond: 0, burst: 1 } });
  try {
    assert.is((await fetch(limited.url + '/health')).status, 200); // the only token
    const sizes = [16, 16, 32, 16, 16, 32];
    assert.equal(await clientRun('/txs', sizes, false, limited.url), sizes.map(() => '429 rate_limited'));
  } finally {
    await limited.close();
  }
});

test('a body past the drain bound is cut off: the connection is closed, the server goes on', async () => {
  const small = await startRpcServer(node, { rate: null, maxBatchBodyBytes: 1024, drain: { maxBytes: 4 * MiB, maxMs: 10_000 } });
  try {
    // Chunked and endless: only the bound can end it.
    const ended = await new Promise<string>((resolve) => {
      const req = httpRequest(small.url + '/txs', { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
      });
      req.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
      req.on('close', () => resolve('closed'));
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!req.destroyed && req.write(chunk));
        if (!req.destroyed) req.once('drain', pump);
      };
      pump();
    });
    assert.ok(['ECONNRESET', 'EPIPE', 'closed'].includes(ended), ended);
    assert.is((await fetch(small.url + '/health')).status, 200);
    assert.is(small.stats.rejected.body_too_large, 1);
  } finally {
    await small.close();
  }
});

test('the server serves the next request after the oversize ones, and took none of them', async () => {
  assert.is((await fetch(srv.url + '/health')).status, 200);
  assert.is(srv.stats.rejected.body_too_large, 20);
  assert.is(node.submitted.length, 0);
});

test.run();
