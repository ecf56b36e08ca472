// The delaying relay (no namespaces needed): bytes arrive in order, each direction `delayMs` late;
// a half-close and a reset reach the other side; a "lost" chunk costs the RTO; Unix-socket routes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DelayRelay, parseRoute } from '../../src/cli/hosts/relay.ts';

const servers: Server[] = [];
const relays: DelayRelay[] = [];
const dir = mkdtempSync(join(tmpdir(), 'numchain-relay-'));

test.after(async () => {
  for (const r of relays) await r.close();
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An echo server on 127.0.0.1 that answers FIN with FIN once its echo is out. */
async function echo(): Promise<number> {
  const s = createServer({ allowHalfOpen: true }, (c) => {
    c.on('data', (d) => c.write(d));
    c.on('end', () => c.end());
    c.on('error', () => undefined);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function relayTo(port: number, opts: { delayMs?: number; lossRate?: number; rtoMs?: number }): Promise<{ relay: DelayRelay; port: number }> {
  const listen = await freePort();
  const relay = new DelayRelay([parseRoute(`127.0.0.1:${listen}=127.0.0.1:${port}`)], opts);
  await relay.start();
  relays.push(relay);
  return { relay, port: listen };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Bytes received until the peer's FIN. */
function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

test('routes parse: host:port, [v6]:port, unix:/path; nonsense refused', () => {
  assert.equal(parseRoute('10.77.0.253:20001=10.77.0.11:26656'), { listen: { host: '10.77.0.253', port: 20001 }, target: { host: '10.77.0.11', port: 26656 } });
  assert.equal(parseRoute('unix:/tmp/a.sock=[::1]:80'), { listen: { path: '/tmp/a.sock' }, target: { host: '::1', port: 80 } });
  assert.throws(() => parseRoute('10.0.0.1:1'), /LISTEN=TARGET/);
  assert.throws(() => parseRoute('10.0.0.1:99999=10.0.0.2:1'), /host:port/);
});

test('each direction arrives delayMs late, in order, and the FIN follows the last byte', async () => {
  const { relay, port } = await relayTo(await echo(), { delayMs: 40 });
  const s = await dial(port);
  const got = readAll(s);
  const t0 = performance.now();
  const first = new Promise<number>((r) => s.once('data', () => r(performance.now() - t0)));
  // 2,000 numbered chunks written as fast as possible: order must survive the timers.
  const parts: Buffer[] = [];
  for (let k = 0; k < 2000; k++) parts.push(Buffer.from(`${k},`));
  for (const p of parts) s.write(p);
  s.end();
  const rtt = await first;
  const all = (await got).toString();
  assert.is(all, parts.map((p) => p.toString()).join(''));
  assert.ok(rtt >= 78, `round trip through a 40 ms relay took ${rtt.toFixed(1)} ms (want ≥ 80 less timer rounding)`);
  assert.ok(rtt < 400, `round trip ${rtt.toFixed(1)} ms`);
  const st = relay.stats();
  assert.is(st.connections, 1);
  assert.ok(st.bytes >= 2 * all.length);
});

test('a reset on one side reaches the other; a dead target resets the dialer', async () => {
  const accepted: Socket[] = [];
  const srv = createServer((c) => {
    accepted.push(c);
    c.on('error', () => undefined);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = await relayTo((srv.address() as AddressInfo).port, { delayMs: 5 });
  const s = await dial(port);
  s.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(accepted.length, 1, 'the relay dialed the target');
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  accepted[0]!.resetAndDestroy();
  await closed;

  const dead = await freePort();
  const { relay, port: p2 } = await relayTo(dead, {});
  const s2 = connect({ host: '127.0.0.1', port: p2 });
  s2.on('error', () => undefined);
  await new Promise<void>((r) => s2.once('close', () => r()));
  assert.is(relay.stats().failedDials, 1);
});

test('loss: a lost chunk waits the RTO and holds up what follows', async () => {
  const { relay, port } = await relayTo(await echo(), { delayMs: 0, lossRate: 1, rtoMs: 60 });
  const s = await dial(port);
  const t0 = performance.now();
  const first = new Promise<number>((r) => s.once('data', () => r(performance.now() - t0)));
  s.write('x');
  const ms = await first;
  assert.ok(ms >= 115, `one lost chunk each way took ${ms.toFixed(1)} ms (want ≥ 2 × 60 less rounding)`);
  assert.ok(relay.stats().lostChunks >= 2);
  s.destroy();
});

test('a Unix-socket route reaches a TCP target (how the harness reads a namespaced API)', async () => {
  const target = await echo();
  const path = join(dir, 'r.sock');
  const relay = new DelayRelay([parseRoute(`unix:${path}=127.0.0.1:${target}`)]);
  await relay.start();
  relays.push(relay);
  const s = connect({ path, allowHalfOpen: true });
  const got = readAll(s);
  s.end('hello');
  assert.is((await got).toString(), 'hello');
});

test.run();
