// TLS 1.3 peer links (tls.ts): frames flow encrypted between genesis keys; a key not in genesis, a
// relay terminating TLS with another key, and a plaintext dialer are refused and counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { MsgType, PROTOCOL_VERSION, encodeMessage } from '../../src/net/messages.ts';
import { encodeFrame } from '../../src/net/frame.ts';
import { privateKeyFromSeed } from '../../src/net/auth.ts';
import { tlsOptions, peerKeyHex, rateLimitedRefusalLog } from '../../src/net/tls.ts';
import { makeNode, startAll, validatorSet, waitFor, sleep, seedFor, RawPeer, CHAIN_ID, type Node } from './helpers.ts';

const live: Node[] = [];
const servers: Server[] = [];
test.after.each(async () => {
  for (const s of servers.splice(0)) s.close();
  await Promise.all(live.splice(0).map((n) => n.t.stop()));
});
const tls = { tls: true };
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

test('four validators over TLS connect and exchange frames; nothing is refused', async () => {
  const vs = validatorSet(4);
  const nodes = vs.map((v) => makeNode(v.index, vs, tls));
  live.push(...nodes);
  await startAll(nodes);
  await waitFor(() => nodes.every((n) => n.t.connectedPeers().length === 3), 'full mesh');
  nodes[0].t.send(3, MsgType.PROPOSAL, Uint8Array.of(1, 2, 3));
  nodes[2].t.broadcast(MsgType.VOTE, new Uint8Array(200_000).fill(7));
  await waitFor(() => nodes[3].inbox.length === 2 && nodes[0].inbox.length === 1 && nodes[1].inbox.length === 1, 'deliveries');
  assert.equal(nodes[3].inbox.find((m) => m.from === 0)?.payload, Uint8Array.of(1, 2, 3));
  assert.is(nodes[1].inbox[0].payload.length, 200_000);
  for (const n of nodes) assert.is(sum(n.t.stats.tlsRefused), 0);
  assert.is(nodes[0].t.stats.authFailures, 0);
});

test('the certificate is over the validator key, and a plaintext peer sees no frame', async () => {
  const vs = validatorSet(2);
  const a = makeNode(0, vs, tls);
  live.push(a);
  const addr = await a.t.start();
  const s = tlsConnect({ ...tlsOptions(privateKeyFromSeed(seedFor(1)), 1), host: '127.0.0.1', port: addr.port });
  await new Promise<void>((resolve, reject) => (s.once('secureConnect', resolve), s.once('error', reject)));
  assert.is(s.getProtocol(), 'TLSv1.3');
  assert.is(peerKeyHex(s), Buffer.from(vs[0].publicKey).toString('hex'));
  s.destroy();
});

test('a validator whose key is not in genesis is refused and counted', async () => {
  const vs = validatorSet(2);
  const a = makeNode(0, vs, tls);
  const impostor = makeNode(1, vs, tls, seedFor(1, 9)); // claims index 1 with another key
  live.push(a, impostor);
  await startAll([a, impostor]);
  // a refuses both its dial to "1" and 1's knock; the impostor sees a genuine key and is refused by a.
  await waitFor(() => a.t.stats.tlsRefused.unknown_key >= 2, 'unknown_key counted');
  await sleep(100);
  assert.equal(a.t.connectedPeers(), []);
  assert.equal(impostor.t.connectedPeers(), []);
  assert.is(a.t.stats.connectsIn + a.t.stats.connectsOut, 0);
});

test('a plaintext dialer to a TLS node is refused and counted', async () => {
  const vs = validatorSet(2);
  const a = makeNode(0, vs, tls);
  live.push(a);
  const addr = await a.t.start();
  const raw = await RawPeer.connect(addr.port);
  raw.send({ type: MsgType.HELLO, version: PROTOCOL_VERSION, chainId: CHAIN_ID, from: 1, to: 0, epoch: 1, challenge: new Uint8Array(32) });
  await waitFor(() => raw.closed, 'plaintext socket closed');
  assert.is(raw.received.length, 0);
  await waitFor(() => a.t.stats.tlsRefused.plaintext === 1, 'plaintext counted');
});

/**
 * A relay that terminates TLS on both sides with `seed`'s key: it answers the dialer, and dials the
 * target itself, sending the HELLO of validator 0 (the plaintext a transparent MITM would forward).
 */
async function mitm(seed: Uint8Array, index: number, target: number): Promise<number> {
  const opts = tlsOptions(privateKeyFromSeed(seed), index);
  const srv = createServer((raw: Socket) => {
    const inner = new TLSSocket(raw, { ...opts, isServer: true });
    inner.on('error', () => inner.destroy());
    const out = tlsConnect({ ...opts, host: '127.0.0.1', port: target });
    out.on('error', () => out.destroy());
    out.once('secureConnect', () => {
      const hello = { type: MsgType.HELLO, version: PROTOCOL_VERSION, chainId: CHAIN_ID, from: 0, to: 1, epoch: 1, challenge: new Uint8Array(32) } as const;
      out.write(encodeFrame(encodeMessage(hello)));
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as AddressInfo).port;
}

for (const [label, seed, reason] of [
  ['a non-genesis key', seedFor(9, 9), 'unknown_key'],
  ["another validator's key", seedFor(2), 'wrong_key'],
] as const) {
  test(`a relay terminating TLS with ${label} fails the handshake on both sides`, async () => {
    const vs = validatorSet(3);
    const a = makeNode(0, vs, tls);
    const b = makeNode(1, vs, tls);
    live.push(a, b);
    await a.t.start();
    const bAddr = await b.t.start();
    const relay = await mitm(seed, 2, bAddr.port);
    // Validator 0 dials validator 1 through the relay; 1 cannot reach 0 (port 0: unknown address).
    a.t.setPeerAddress(1, `127.0.0.1:${relay}`);
    await waitFor(() => a.t.stats.tlsRefused[reason] >= 1 && b.t.stats.tlsRefused[reason] >= 1, `${reason} on both sides`);
    await sleep(100);
    assert.equal(a.t.connectedPeers(), []);
    assert.equal(b.t.connectedPeers(), []);
    assert.is(a.t.stats.byType.PROPOSAL.received + b.t.stats.byType.PROPOSAL.received, 0);
  });
}

test('a plain TCP relay passes TLS through unchanged', async () => {
  const vs = validatorSet(2);
  const a = makeNode(0, vs, tls);
  const b = makeNode(1, vs, tls);
  live.push(a, b);
  await a.t.start();
  const bAddr = await b.t.start();
  const srv = createServer((s) => {
    const out = connect({ host: '127.0.0.1', port: bAddr.port });
    s.pipe(out).pipe(s);
    s.on('error', () => out.destroy());
    out.on('error', () => s.destroy());
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  a.t.setPeerAddress(1, `127.0.0.1:${(srv.address() as AddressInfo).port}`);
  await waitFor(() => a.t.connectedPeers().length === 1 && b.t.connectedPeers().length === 1, 'connected through relay');
  a.t.send(1, MsgType.PROPOSAL, Uint8Array.of(9));
  await waitFor(() => b.inbox.length === 1, 'delivered');
  assert.is(sum(a.t.stats.tlsRefused) + sum(b.t.stats.tlsRefused), 0);
});

/** Send a marker from validator 0 to 1 through a relay that keeps a copy of every byte; was it readable there? */
async function markerInClear(options: { tls: boolean }): Promise<boolean> {
  const marker = Buffer.from('numchain-secret-marker-0123456789abcdef');
  const vs = validatorSet(2);
  const a = makeNode(0, vs, options);
  const b = makeNode(1, vs, options);
  live.push(a, b);
  await a.t.start();
  const bAddr = await b.t.start();
  const seen: Buffer[] = [];
  const srv = createServer((s) => {
    const out = connect({ host: '127.0.0.1', port: bAddr.port });
    for (const [from, to] of [[s, out], [out, s]] as const) {
      from.on('data', (d: Buffer) => {
        seen.push(d);
        to.write(d);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  a.t.setPeerAddress(1, `127.0.0.1:${(srv.address() as AddressInfo).port}`);
  await waitFor(() => a.t.connectedPeers().length === 1, 'connected through the tap');
  a.t.send(1, MsgType.PROPOSAL, marker);
  await waitFor(() => b.inbox.some((m) => Buffer.from(m.payload).equals(marker)), 'the marker delivered');
  return Buffer.concat(seen).includes(marker);
}

test('a tap on the link reads the payload without TLS, and not with it', async () => {
  assert.ok(await markerInClear({ tls: false }), 'control: a plaintext link shows the payload to a tap');
  assert.not.ok(await markerInClear({ tls: true }), 'the tap read the payload over TLS');
});

test('refusals reach the listener; the log keeps one line per host and reason per interval', async () => {
  const vs = validatorSet(2);
  const heard: string[] = [];
  const a = makeNode(0, vs, { tls: true, onTlsRefused: (r, host) => heard.push(`${r}@${host}`) });
  live.push(a);
  const addr = await a.t.start();
  const raw = await RawPeer.connect(addr.port);
  raw.write(Uint8Array.of(0, 0, 0, 1, 0));
  await waitFor(() => heard.length === 1, 'listener called');
  assert.is(heard[0], 'plaintext@127.0.0.1');

  const lines: Record<string, unknown>[] = [];
  let t = 0;
  const log = rateLimitedRefusalLog((_m, f) => lines.push(f), () => t, 1000);
  log('unknown_key', 'h1');
  log('unknown_key', 'h1');
  log('plaintext', 'h1');
  log('unknown_key', 'h2');
  t = 1500;
  log('unknown_key', 'h1');
  assert.equal(lines, [
    { reason: 'unknown_key', remote: 'h1' },
    { reason: 'plaintext', remote: 'h1' },
    { reason: 'unknown_key', remote: 'h2' },
    { reason: 'unknown_key', remote: 'h1', since_last_line: 2 },
  ]);
});

test.run();
