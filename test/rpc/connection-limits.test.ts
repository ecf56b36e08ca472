// Connections that hold the API's sockets without asking anything: too many at once, too many from
// one address, idle ones and ones that trickle their headers a byte at a time. Each is refused or cut
// and counted, and a normal client is still answered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { startRpcServer } from '../../src/rpc/server.ts';
import { FakeNode } from './fake-node.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', () => undefined);
    socket.once('close', () => reject(new Error('closed before connect')));
  });
}

test('idle, trickling and surplus connections are cut and counted; a normal client is still answered', async () => {
  const rpc = await startRpcServer(new FakeNode(), { maxConnectionsPerClient: 20, headersTimeoutMs: 800 });
  const conns: { socket: Socket; closed: Promise<void> }[] = [];
  try {
    for (let i = 0; i < 30; i++) conns.push(await open(rpc.port).catch(() => ({ socket: null as unknown as Socket, closed: Promise.resolve() })));
    // One client trickles a request line, a byte at a time, never finishing its headers.
    const slow = await open(rpc.port).catch(() => null);
    const trickle = setInterval(() => slow?.socket.write('G'), 100);
    await sleep(300);
    assert.ok(rpc.stats.rejected.too_many_connections >= 10, `surplus connections from one address refused: ${rpc.stats.rejected.too_many_connections}`);
    // The idle and trickling ones are cut after the header timeout (plus the server's check interval).
    await Promise.race([Promise.all(conns.map((c) => c.closed)), sleep(5000)]);
    clearInterval(trickle);
    const stillOpen = conns.filter((c) => c.socket !== null && !c.socket.destroyed && c.socket.readyState === 'open').length;
    assert.is(stillOpen, 0, 'no idle connection is held');
    assert.ok(rpc.stats.rejected.slow_client > 0, `slow or idle clients counted: ${rpc.stats.rejected.slow_client}`);
    // Room again: a normal request is answered.
    const res = await fetch(`${rpc.url}/health`);
    assert.is(res.status, 200);
  } finally {
    for (const c of conns) c.socket?.destroy();
    await rpc.close();
  }
});

test.run();
