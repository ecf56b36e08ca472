// Transports on 127.0.0.1: connection, authentication, delivery, dedup and gossip.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MsgType } from '../../src/net/messages.ts';
import { NetError } from '../../src/net/errors.ts';
import { makeNode, startAll, validatorSet, waitFor, RawPeer, seedFor, type Node } from './helpers.ts';

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

const bytes = (...xs: number[]) => Uint8Array.from(xs);

test('four validators connect to each other and exchange direct and broadcast messages', async () => {
  const vs = validatorSet(4);
  const nodes = track(...vs.map((v) => makeNode(v.index, vs)));
  const events: string[] = [];
  nodes[2].t.onPeer((i, up) => events.push(`${i}:${up}`));
  await startAll(nodes);
  await waitFor(() => nodes.every((n) => n.t.connectedPeers().length === 3), 'full mesh');
  assert.equal(nodes[0].t.connectedPeers(), [1, 2, 3]);
  assert.equal(nodes[3].t.connectedPeers(), [0, 1, 2]);
  assert.equal(events.sort(), ['0:true', '1:true', '3:true']);
  // Exactly one connection per pair: the lower index dialed.
  assert.is(nodes[0].t.stats.connectsOut, 3);
  assert.is(nodes[3].t.stats.connectsIn, 3);

  nodes[0].t.send(3, MsgType.PROPOSAL, bytes(1, 2, 3));
  nodes[3].t.send(0, MsgType.VOTE, bytes(4));
  nodes[1].t.broadcast(MsgType.TIMEOUT, bytes(5, 5));
  await waitFor(() => nodes[3].inbox.length === 2 && nodes[0].inbox.length === 2 && nodes[2].inbox.length === 1, 'deliveries');
  assert.equal(
    nodes[3].inbox.find((m) => m.from === 0),
    { from: 0, type: MsgType.PROPOSAL, payload: bytes(1, 2, 3) },
  );
  assert.equal(nodes[0].inbox.find((m) => m.from === 3), { from: 3, type: MsgType.VOTE, payload: bytes(4) });
  assert.equal(nodes[2].inbox, [{ from: 1, type: MsgType.TIMEOUT, payload: bytes(5, 5) }]);
  assert.is(nodes[1].inbox.length, 0, 'a broadcast is not delivered to its sender');

  // Every critical message gets acknowledged.
  await waitFor(() => nodes[1].t.stats.byType.TIMEOUT.acked === 3, 'acks for broadcast');
  assert.is(nodes[1].t.stats.byType.TIMEOUT.sent, 3);
  assert.ok(nodes.every((n) => n.t.peerStatus().every((p) => p.unacked === 0)));
});

test('every application type is carried, in order, with large payloads intact', async () => {
  const vs = validatorSet(2);
  const [a, b] = track(makeNode(0, vs), makeNode(1, vs));
  await startAll([a, b]);
  const types = [
    MsgType.PROPOSAL, MsgType.VOTE, MsgType.TIMEOUT, MsgType.CERT, MsgType.EVIDENCE,
    MsgType.SYNC_REQUEST, MsgType.SYNC_RESPONSE,
  ] as const;
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 7);
  for (const t of types) a.t.send(1, t, t === MsgType.SYNC_RESPONSE ? big : bytes(t));
  await waitFor(() => b.inbox.length === types.length, 'all types');
  assert.equal(b.inbox.map((m) => m.type), [...types]);
  assert.equal(b.inbox[types.length - 1].payload, big);
});

test('API errors are typed and name the field', () => {
  const vs = validatorSet(2);
  const [a] = track(makeNode(0, vs));
  const code = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return e instanceof NetError ? `${e.code}:${e.field}` : 'other';
    }
    return 'none';
  };
  assert.is(code(() => a.t.send(5, MsgType.VOTE, bytes(1))), 'unknown_peer:to');
  assert.is(code(() => a.t.send(0, MsgType.VOTE, bytes(1))), 'unknown_peer:to');
  assert.is(code(() => a.t.send(1, MsgType.PING as never, bytes(1))), 'bad_argument:type');
  assert.is(code(() => a.t.send(1, MsgType.VOTE, new Uint8Array(9 * 1024 * 1024))), 'payload_too_large:payload');
});

test('critical messages are delivered once even when sent twice with the same id', async () => {
  const vs = validatorSet(2);
  const [b] = track(makeNode(1, vs));
  await b.t.start();
  const raw = await RawPeer.connect(b.t.address()!.port);
  raws.push(raw);
  await raw.handshake({ from: 0, to: 1, seed: seedFor(0), epoch: 42 });
  raw.send({ type: MsgType.VOTE, id: 5, payload: bytes(9) });
  raw.send({ type: MsgType.VOTE, id: 5, payload: bytes(9) });
  raw.send({ type: MsgType.VOTE, id: 6, payload: bytes(10) });
  await waitFor(() => raw.received.filter((m) => m.type === MsgType.ACK).flatMap((m) => (m as { ids: readonly number[] }).ids).length === 3, 'three acks');
  assert.equal(b.inbox.map((m) => m.payload), [bytes(9), bytes(10)]);
  assert.is(b.t.stats.byType.VOTE.duplicates, 1);

  // Same sender epoch on a new connection: still a duplicate. A new epoch (restarted sender): new.
  raw.close();
  const raw2 = await RawPeer.connect(b.t.address()!.port);
  raws.push(raw2);
  await raw2.handshake({ from: 0, to: 1, seed: seedFor(0), epoch: 42 });
  raw2.send({ type: MsgType.VOTE, id: 5, payload: bytes(9) });
  const raw3 = await RawPeer.connect(b.t.address()!.port);
  raws.push(raw3);
  await waitFor(() => b.t.stats.byType.VOTE.duplicates === 2, 'duplicate over reconnect');
  await raw3.handshake({ from: 0, to: 1, seed: seedFor(0), epoch: 43 });
  raw3.send({ type: MsgType.VOTE, id: 5, payload: bytes(11) });
  await waitFor(() => b.inbox.length === 3, 'new epoch delivers');
  assert.equal(b.inbox[2].payload, bytes(11));
  assert.is(b.t.stats.replacedConnections, 1, 'the newest connection replaced the open older one');
  await waitFor(() => raw2.closed, 'older connection closed');
});

test('TXGOSSIP is delivered once per node and relayed around a missing link', async () => {
  const vs = validatorSet(3);
  const nodes = track(...vs.map((v) => makeNode(v.index, vs)));
  const addrs = await Promise.all(nodes.map((n) => n.t.start()));
  // Node 0 never learns node 2's address, and node 2 never dials a lower index: no 0–2 link.
  nodes[0].t.setPeerAddress(1, `127.0.0.1:${addrs[1].port}`);
  nodes[1].t.setPeerAddress(2, `127.0.0.1:${addrs[2].port}`);
  await waitFor(() => nodes[1].t.connectedPeers().length === 2, '0–1 and 1–2 links');
  assert.equal(nodes[0].t.connectedPeers(), [1]);

  nodes[0].t.broadcast(MsgType.TXGOSSIP, bytes(7, 7, 7));
  await waitFor(() => nodes[2].inbox.length === 1, 'relay reaches node 2');
  assert.equal(nodes[2].inbox[0], { from: 1, type: MsgType.TXGOSSIP, payload: bytes(7, 7, 7) });
  assert.equal(nodes[1].inbox.length, 1);
  assert.is(nodes[1].t.stats.gossipRelayed, 1);
  assert.is(nodes[2].t.stats.gossipTtlExpired, 1, 'relayed copy arrives with ttl 0 and stops');

  // Node 2 gossips the same transaction again: everybody has seen it, nobody delivers it twice.
  nodes[2].t.broadcast(MsgType.TXGOSSIP, bytes(7, 7, 7));
  await waitFor(() => nodes[1].t.stats.byType.TXGOSSIP.duplicates === 1, 'dup at node 1');
  assert.is(nodes[1].inbox.length, 1);
  assert.is(nodes[0].inbox.length, 0);
});

test('stop() closes everything and later calls fail with a typed error', async () => {
  const vs = validatorSet(2);
  const [a, b] = track(makeNode(0, vs), makeNode(1, vs));
  const downs: number[] = [];
  b.t.onPeer((i, up) => !up && downs.push(i));
  await startAll([a, b]);
  await waitFor(() => b.t.connectedPeers().length === 1, 'connected');
  await a.t.stop();
  await waitFor(() => downs.length === 1, 'b sees a leave');
  assert.is(b.t.stats.disconnects, 1);
  assert.throws(() => a.t.send(1, MsgType.VOTE, bytes(1)), (e: unknown) => e instanceof NetError && e.code === 'stopped');

  // stop() racing start() still leaves nothing listening.
  const [c] = track(makeNode(1, vs));
  const starting = c.t.start();
  await c.t.stop();
  const err = await starting.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NetError && err.code === 'stopped');
});

test.run();
