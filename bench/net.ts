// Loopback throughput between two transports: frames/s and MB/s delivered to the receiving app,
// for critical (ACKed) and best-effort (TXGOSSIP) messages at a few payload sizes.
// Bounded: each case runs for ~1.5 s. Run: node --import tsx bench/net.ts
import { Transport } from '../src/net/transport.ts';
import { publicKeyFromSeed } from '../src/net/auth.ts';
import { MsgType, type AppMsgType } from '../src/net/messages.ts';

const RUN_MS = Number(process.env.BENCH_NET_MS ?? 1500);
const seeds = [0, 1].map((i) => new Uint8Array(32).fill(i + 1));
const validators = seeds.map((s, i) => ({ index: i, publicKey: publicKeyFromSeed(s), address: '127.0.0.1:0' }));

async function pair(): Promise<[Transport, Transport]> {
  const mk = (i: number) =>
    new Transport({ chainId: 'bench', index: i, secretKey: seeds[i], validators, listen: '127.0.0.1:0', queueMaxCount: 16_384 });
  const a = mk(0);
  const b = mk(1);
  await a.start();
  const bAddr = await b.start();
  a.setPeerAddress(1, `127.0.0.1:${bAddr.port}`);
  while (a.connectedPeers().length === 0 || b.connectedPeers().length === 0) await new Promise((r) => setTimeout(r, 5));
  return [a, b];
}

async function run(label: string, type: AppMsgType, size: number): Promise<void> {
  const [a, b] = await pair();
  let frames = 0;
  let bytes = 0;
  b.onMessage((_from, _type, payload) => {
    frames++;
    bytes += payload.byteLength;
  });
  const payload = new Uint8Array(size).fill(7);
  const t0 = performance.now();
  const end = t0 + RUN_MS;
  let n = 0;
  // Keep the sender's queue topped up without overflowing it (gossip payloads must differ to
  // get past the receiver's dedup, hence the counter in the first bytes).
  while (performance.now() < end) {
    const st = a.peerStatus()[0];
    let queuedBytes = st.queuedBytes;
    for (let k = st.queued; k < 8192 && queuedBytes < 32 * 1024 * 1024; k++) {
      queuedBytes += size;
      n++;
      payload[0] = n & 255;
      payload[1] = (n >> 8) & 255;
      payload[2] = (n >> 16) & 255;
      payload[3] = n >>> 24;
      a.send(1, type, payload);
    }
    await new Promise((r) => setImmediate(r));
  }
  const secs = (performance.now() - t0) / 1000;
  const s = a.stats;
  console.log(
    `${label.padEnd(22)} ${String(size).padStart(6)} B  ${(frames / secs).toFixed(0).padStart(8)} frames/s  ${(bytes / secs / 1e6).toFixed(1).padStart(7)} MB/s` +
      `  (dropped ${s.overflowDrops + s.retryExhaustedDrops}, retried ${s.byType.VOTE.retried})`,
  );
  await Promise.all([a.stop(), b.stop()]);
}

console.log(`net loopback bench, node ${process.version}, ${RUN_MS} ms per case`);
for (const size of [64, 1024, 16_384]) await run('VOTE (acked)', MsgType.VOTE, size);
for (const size of [256]) await run('TXGOSSIP (best-effort)', MsgType.TXGOSSIP, size);
await run('SYNC_RESPONSE (acked)', MsgType.SYNC_RESPONSE, 1 << 20);
