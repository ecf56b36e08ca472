// Hostile and failing peers: garbage, oversize frames, unknown keys, handshake abuse, peer death,
// retries and floods. Every case must be refused, counted, and leave the transport working.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MsgType } from '../../src/net/messages.ts';
import { publicKeyFromSeed } from '../../src/net/auth.ts';
import { makeNode, startAll, validatorSet, waitFor, sleep, RawPeer, seedFor, type Node } from './helpers.ts';

const live: Node[] = [];
const raws: RawPeer[] = [];
function track(...ns: Node[]): Node[] {
  live.push(...ns);
  return ns;
}
test.after.each(async () => {
  for (const r of raws.splice(0)) r.close();
  await Promise.all(live.splice(0).map((n) => n.t.stop()));
});

async function raw(port: number): Promise<RawPeer> {
  const r = await RawPeer.connect(port);
  raws.push(r);
  return r;
}

const bytes = (...xs: number[]) => Uint8Array.from(xs);

test('garbage and oversize frames close the connection, are counted, and do not disturb others', async () => {
  const vs = validatorSet(3); // validator 0 is played by hand: only a lower index's handshake opens a connection
  const [a, b] = track(makeNode(1, vs), makeNode(2, vs));
  await startAll([a, b]);
  await waitFor(() => b.t.connectedPeers().length === 1, 'connected');
  const port = b.t.address()!.port;

  const g = await raw(port);
  g.write(Uint8Array.of(0, 0, 0, 5, 0xc1, 0xc1, 0xff, 0x00, 0x13)); // a frame that is not an envelope
  await waitFor(() => g.closed, 'garbage connection closed');
  assert.is(b.t.stats.malformedFrames, 1);

  // 1 GiB claimed before authentication: refused on the header (the pre-auth cap is 1 KiB).
  const o = await raw(port);
  o.write(Uint8Array.of(0x40, 0, 0, 0, 1, 2, 3));
  await waitFor(() => o.closed, 'oversize connection closed');
  assert.is(b.t.stats.oversizeFrames, 1);

  // 1 GiB claimed by an authenticated peer: refused against the 8 MiB cap, still on the header.
  const before = process.memoryUsage().arrayBuffers;
  const o2 = await raw(port);
  await o2.handshake({ from: 0, to: 2, seed: seedFor(0), epoch: 1 });
  await waitFor(() => b.t.connectedPeers().includes(0), 'raw peer authenticated');
  o2.write(Uint8Array.of(0x40, 0, 0, 0, 9, 9, 9, 9));
  await waitFor(() => o2.closed, 'authenticated oversize connection closed');
  assert.is(b.t.stats.oversizeFrames, 2);
  assert.ok(process.memoryUsage().arrayBuffers - before < 256 * 1024 * 1024, 'no 1 GiB buffer');

  // The honest connection was never disturbed.
  assert.equal(b.t.connectedPeers(), [1]);
  assert.is(b.t.stats.disconnects, 1, 'only the raw peer left');
  a.t.send(2, MsgType.VOTE, bytes(1));
  await waitFor(() => b.inbox.some((m) => m.payload[0] === 1), 'delivery after abuse');
});

test('a peer whose key is not in genesis is refused and counted', async () => {
  const vs = validatorSet(2);
  const [b] = track(makeNode(1, vs));
  const bPeers: string[] = [];
  b.t.onPeer((i, up) => bPeers.push(`${i}:${up}`));
  await b.t.start();
  // The impostor claims index 0 with its own key; only it believes that key is validator 0's.
  const impostorSeed = seedFor(0, 99);
  const theirView = [{ ...vs[0], publicKey: publicKeyFromSeed(impostorSeed) }, { ...vs[1], address: `127.0.0.1:${b.t.address()!.port}` }];
  const [x] = track(makeNode(0, theirView, {}, impostorSeed));
  await x.t.start();
  x.t.send(1, MsgType.VOTE, bytes(66));
  await waitFor(() => b.t.stats.authFailures >= 2, 'repeated refusals');
  assert.equal(b.t.connectedPeers(), []);
  assert.equal(bPeers, [], 'no connect event for a refused peer');
  assert.equal(b.inbox, [], 'nothing from the impostor is delivered');
});

test('handshakes with unknown index, wrong chain, wrong target or wrong order are refused', async () => {
  const vs = validatorSet(3);
  const [b] = track(makeNode(1, vs));
  await b.t.start();
  const port = b.t.address()!.port;
  const cases: { from: number; to: number; chainId?: string }[] = [
    { from: 7, to: 1 }, // index not in the validator set
    { from: 0, to: 1, chainId: 'other-chain' },
    { from: 0, to: 2 }, // addressed to someone else
  ];
  for (const c of cases) {
    const r = await raw(port);
    await r.handshake({ ...c, seed: seedFor(c.from), epoch: 1 }).catch(() => {});
    await waitFor(() => r.closed, `refusal of ${JSON.stringify(c)}`);
  }
  const early = await raw(port);
  early.send({ type: MsgType.VOTE, id: 1, payload: bytes(1) }); // application frame before HELLO
  await waitFor(() => early.closed, 'early frame refused');
  // Signed by validator 2's key while claiming to be validator 0.
  const forged = await raw(port);
  await forged.handshake({ from: 0, to: 1, seed: seedFor(2), epoch: 1 });
  await waitFor(() => forged.closed, 'forged signature refused');
  assert.is(b.t.stats.authFailures, 5);
  assert.equal(b.t.connectedPeers(), []);
});

test('silent sockets time out and too many pending handshakes are refused', async () => {
  const vs = validatorSet(2);
  const [b] = track(makeNode(1, vs, { handshakeTimeoutMs: 100, maxPendingHandshakes: 2 }));
  await b.t.start();
  const port = b.t.address()!.port;
  const s1 = await raw(port);
  const s2 = await raw(port);
  const s3 = await raw(port);
  await waitFor(() => s3.closed, 'third pending handshake refused');
  assert.is(b.t.stats.pendingHandshakesRefused, 1);
  await waitFor(() => s1.closed && s2.closed, 'silent sockets timed out');
  assert.is(b.t.stats.handshakeTimeouts, 2);
});

test('an authenticated peer that goes silent is disconnected', async () => {
  const vs = validatorSet(2);
  const [b] = track(makeNode(1, vs, { pingIntervalMs: 30, idleTimeoutMs: 150 }));
  await b.t.start();
  const r = await raw(b.t.address()!.port);
  await r.handshake({ from: 0, to: 1, seed: seedFor(0), epoch: 1 });
  await waitFor(() => b.t.connectedPeers().length === 1, 'authenticated');
  await waitFor(() => r.closed, 'idle connection closed');
  assert.is(b.t.stats.idleDisconnects, 1);
  assert.ok(r.received.some((m) => m.type === MsgType.PING), 'it was pinged first');
});

test('a peer that stops reading costs a bounded queue, not unbounded memory', async () => {
  const vs = validatorSet(2);
  const cap = 4 * 1024 * 1024;
  const [b] = track(makeNode(1, vs, { queueMaxBytes: cap, maxFrameBytes: 1024 * 1024, socketHighWaterBytes: 256 * 1024 }));
  await b.t.start();
  const r = await raw(b.t.address()!.port);
  await r.handshake({ from: 0, to: 1, seed: seedFor(0), epoch: 1 });
  await waitFor(() => b.t.connectedPeers().length === 1, 'authenticated');
  r.socket.pause(); // never read again
  const payload = new Uint8Array(256 * 1024);
  for (let i = 0; i < 200; i++) {
    b.t.send(0, MsgType.SYNC_RESPONSE, payload); // 50 MiB in total
    assert.ok(b.t.peerStatus()[0].queuedBytes <= cap);
    if (i % 10 === 0) await sleep(1); // let flushes run
  }
  assert.ok(b.t.stats.overflowDrops > 0, 'overflow was dropped and counted');
  assert.ok(b.t.stats.byType.SYNC_RESPONSE.sentBytes < 40 * 1024 * 1024, 'the transport stopped writing');
});

test('a peer that dies and comes back gets the messages queued meanwhile, in order', async () => {
  const vs = validatorSet(2);
  let [a, b] = track(makeNode(0, vs), makeNode(1, vs));
  await startAll([a, b]);
  await waitFor(() => a.t.connectedPeers().length === 1, 'connected');
  const bPort = b.t.address()!.port;

  // The accepting side dies; the dialer keeps its messages and redials with backoff.
  await b.t.stop();
  await waitFor(() => a.t.connectedPeers().length === 0, 'a notices');
  for (let i = 0; i < 5; i++) a.t.send(1, MsgType.VOTE, bytes(i));
  await sleep(100); // a few refused dials
  assert.ok(a.t.stats.dialFailures >= 1);
  [b] = track(makeNode(1, vs, { listen: `127.0.0.1:${bPort}` }));
  await b.t.start();
  b.t.setPeerAddress(0, `127.0.0.1:${a.t.address()!.port}`);
  await waitFor(() => b.inbox.length === 5, 'redelivery to the restarted acceptor');
  assert.equal(b.inbox.map((m) => m.payload[0]), [0, 1, 2, 3, 4]);
  await waitFor(() => a.t.stats.byType.VOTE.acked === 5, 'acked');
  assert.ok(a.t.stats.reconnectAttempts >= 1);

  // The dialing side dies; the acceptor keeps its messages until the dialer comes back.
  const aPort = a.t.address()!.port;
  await a.t.stop();
  await waitFor(() => b.t.connectedPeers().length === 0, 'b notices');
  b.t.broadcast(MsgType.EVIDENCE, bytes(42));
  [a] = track(makeNode(0, vs, { listen: `127.0.0.1:${aPort}` }));
  await a.t.start();
  a.t.setPeerAddress(1, `127.0.0.1:${bPort}`);
  await waitFor(() => a.inbox.length === 1, 'redelivery to the restarted dialer');
  assert.equal(a.inbox[0], { from: 1, type: MsgType.EVIDENCE, payload: bytes(42) });
  assert.is(b.inbox.length, 5, 'no duplicates at b');
});

test('a restarted higher index knocks, and the lower index dials it at once instead of after its backoff', async () => {
  const vs = validatorSet(2);
  // a waits at least 30 s before redialing: within this test only a knock can bring the link back.
  let [a, b] = track(makeNode(0, vs, { reconnectBaseMs: 60_000, reconnectMaxMs: 60_000 }), makeNode(1, vs));
  await startAll([a, b]);
  await waitFor(() => a.t.connectedPeers().length === 1, 'connected');
  const bPort = b.t.address()!.port;
  await b.t.stop();
  await waitFor(() => a.t.connectedPeers().length === 0, 'a notices');
  a.t.send(1, MsgType.VOTE, bytes(7));

  [b] = track(makeNode(1, vs, { listen: `127.0.0.1:${bPort}` }));
  await b.t.start();
  b.t.setPeerAddress(0, `127.0.0.1:${a.t.address()!.port}`);
  await waitFor(() => a.t.connectedPeers().length === 1 && b.t.connectedPeers().length === 1, 'link back through the knock');
  await waitFor(() => b.inbox.length === 1, 'the queued vote delivered');
  assert.equal(b.inbox[0], { from: 0, type: MsgType.VOTE, payload: bytes(7) });
  assert.ok(a.t.stats.knocksReceived >= 1 && b.t.stats.knocksSent >= 1);
  // The knock only woke a: the connection is still the one the lower index dialed.
  assert.is(b.t.stats.connectsOut, 0);
  assert.is(b.t.stats.connectsIn, 1);
  assert.is(a.t.stats.connectsOut, 2);
  assert.is(b.t.stats.dialFailures, 0, 'a completed knock is not a failed dial');
});

test('unacknowledged messages are rewritten after a reconnect; the receiver drops the copies', async () => {
  const vs = validatorSet(2);
  // b withholds its ACKs, so everything a wrote stays unacknowledged.
  const [a, b] = track(makeNode(0, vs, { ackTimeoutMs: 60_000 }), makeNode(1, vs, { ackDelayMs: 60_000 }));
  await startAll([a, b]);
  await waitFor(() => a.t.connectedPeers().length === 1, 'connected');
  for (let i = 0; i < 10; i++) a.t.send(1, MsgType.VOTE, bytes(i));
  await waitFor(() => b.inbox.length === 10, 'first delivery');
  b.t.disconnect(0);
  await waitFor(() => b.t.stats.byType.VOTE.duplicates === 10, 'rewritten on the new connection');
  assert.is(a.t.stats.connectsOut, 2);
  assert.is(a.t.stats.byType.VOTE.retried, 10);
  assert.equal(b.inbox.map((m) => m.payload[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(a.t.peerStatus()[0].unacked, 10);
});

test('retries on a live connection are bounded and deduplicated', async () => {
  const vs = validatorSet(2);
  const [a, b] = track(makeNode(0, vs, { ackTimeoutMs: 30, maxRetries: 3 }), makeNode(1, vs, { ackDelayMs: 60_000 }));
  await startAll([a, b]);
  await waitFor(() => a.t.connectedPeers().length === 1, 'connected');
  for (let i = 0; i < 10; i++) a.t.send(1, MsgType.VOTE, bytes(i));
  await waitFor(() => a.t.stats.retryExhaustedDrops === 10, 'sender gives up after 1 + maxRetries writes');
  assert.is(a.t.stats.byType.VOTE.sent, 40);
  assert.is(a.t.stats.byType.VOTE.dropped, 10);
  assert.is(a.t.peerStatus()[0].queued, 0);
  await waitFor(() => b.t.stats.byType.VOTE.duplicates === 30, 'all copies seen');
  assert.equal(b.inbox.map((m) => m.payload[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a TXGOSSIP flood beyond the queue bound is dropped oldest-first and counted', async () => {
  const vs = validatorSet(3);
  const [a, b, c] = track(makeNode(0, vs, { queueMaxCount: 100 }), makeNode(1, vs), makeNode(2, vs));
  await startAll([a, b]); // c never starts: its queue at a can only fill up
  await waitFor(() => a.t.connectedPeers().length === 1, 'a–b connected');
  void c;
  const N = 20_000;
  for (let i = 0; i < N; i++) a.t.broadcast(MsgType.TXGOSSIP, Uint8Array.of(i >> 8, i & 255, 1));
  const status = a.t.peerStatus();
  assert.ok(status.every((p) => p.queued <= 100), 'queues never exceed their bound');
  // Everything was enqueued in one turn, before any write: each queue kept only the newest 100.
  assert.is(a.t.stats.overflowDrops, 2 * (N - 100));
  assert.is(a.t.stats.byType.TXGOSSIP.dropped, 2 * (N - 100));
  await waitFor(() => b.inbox.length === 100, 'b gets the survivors');
  const firstKept = N - 100;
  assert.equal(b.inbox[0].payload, Uint8Array.of(firstKept >> 8, firstKept & 255, 1));
  await sleep(50);
  assert.is(b.inbox.length, 100);
  assert.is(a.t.peerStatus().find((p) => p.index === 2)!.queued, 100, 'the absent peer still holds only 100');
});

test.run();
