// Resource exhaustion against one validator of a flooded 4-validator localnet (issue 22, §2): each
// attack runs ~20 s against validator 0 and the table shows its RSS before and after, committed TPS
// during against the TPS just before (measured on validator 1, i.e. the network's), how far the
// target itself advanced, the refusal counters its /metrics grew by, and whether it cut the
// offender off.
//   a  2,000 idle TCP connections to the gossip port
//   b  2,000 idle TCP connections to the RPC port
//   c  half-open: 500 + 500 connections that send part of a frame header / request line, then stop
//   d  slowloris: 50 + 50 connections sending one byte per second (gossip and RPC)
//   e  an authenticated rogue peer: validator 3 is stopped and its key used, through the node's own
//      Transport (handshake included), to send e1 votes with invalid signatures, e2 maximum-size
//      frames, e3 valid but useless messages (the proposals and votes it received, replayed).
// Bounded (~4 min); everything listens on 127.0.0.1; every socket and process is closed at the end.
// Env: BENCH_EXHAUST_S (seconds per attack, default 20), BENCH_EXHAUST_RATE (flood tx/s, default 300).
// Run: node --import tsx bench/exhaust.ts
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFlood, type FloodRun } from '../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../src/cli/cluster/localnet.ts';
import { decodeMessage, encodeMessage } from '../src/consensus/messages.ts';
import { fromHex } from '../src/crypto/sha256.ts';
import { readSecretKey } from '../src/node/genesis.ts';
import { KIND_TO_NET } from '../src/node/wire-kinds.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../src/net/frame.ts';
import { MsgType } from '../src/net/messages.ts';
import { Transport } from '../src/net/transport.ts';
import { table } from './lib/report.ts';

const ATTACK_S = Number(process.env.BENCH_EXHAUST_S ?? 20);
const RATE = Number(process.env.BENCH_EXHAUST_RATE ?? 300);
const TARGET = 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/** Prometheus text → series → value (labels kept in the key). */
async function metrics(url: string): Promise<Map<string, number> | null> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
    const out = new Map<string, number>();
    for (const line of (await r.text()).split('\n')) {
      if (line.startsWith('#') || line === '') continue;
      const sp = line.lastIndexOf(' ');
      out.set(line.slice(0, sp).replace(/,?chain_id="[^"]*"/, '').replace('{}', ''), Number(line.slice(sp + 1)));
    }
    return out;
  } catch {
    return null;
  }
}

const REFUSALS = /^numchain_(p2p_events_total|rpc_requests_rejected_total|consensus_events_total|tx_rejected_total|signature_verifications_total|consensus_peer_mutes_total|consensus_muted_messages_total)/;
const INTERESTING = /mute|auth|malformed|oversize|refused|timeout|disconnect|drop|rejected|invalid|bad|unknown|stale|duplicate|ignored|idle|slow|overflow|handler|connection|busy|limit/i;

function refusalDiff(before: Map<string, number> | null, after: Map<string, number> | null): string {
  if (before === null || after === null) return 'metrics unreachable';
  const parts: string[] = [];
  for (const [k, v] of after) {
    if (!REFUSALS.test(k) || !INTERESTING.test(k)) continue;
    const d = v - (before.get(k) ?? 0);
    if (d > 0) parts.push(`${k.replace(/^numchain_/, '').replace(/_total\{(event|reason|outcome|code)="([^"]*)"\}/, '.$2')}+${d}`);
  }
  return parts.join(' ') || '-';
}

async function health(url: string): Promise<{ height: number } | null> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return (await r.json()) as { height: number };
  } catch {
    return null;
  }
}

/** Committed transactions per second on validator 1 over `ms`. */
async function tps(net: Localnet, ms: number): Promise<number> {
  const key = 'numchain_consensus_txs_committed_total';
  const a = (await metrics(net.rpcUrls[1]!))?.get(key) ?? 0;
  const t = performance.now();
  await sleep(ms);
  const b = (await metrics(net.rpcUrls[1]!))?.get(key) ?? 0;
  return Math.round((b - a) / ((performance.now() - t) / 1000));
}

interface SocketAttack {
  readonly sockets: Socket[];
  /** sockets the server closed (we never close them ourselves during the attack) */
  closedByServer: number;
  errors: number;
  stop(): void;
}

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** Open `n` connections (a few at a time); `onOpen` writes what the attack writes. */
async function openMany(addr: string, n: number, onOpen: (s: Socket, k: number) => void): Promise<SocketAttack> {
  const { host, port } = hostPort(addr);
  const a: SocketAttack = {
    sockets: [],
    closedByServer: 0,
    errors: 0,
    stop() {
      stopping = true;
      for (const s of a.sockets) s.destroy();
    },
  };
  let stopping = false;
  for (let k = 0; k < n; k++) {
    const s = connect({ host, port });
    s.on('error', () => a.errors++);
    s.on('close', () => {
      if (!stopping) a.closedByServer++;
    });
    s.on('connect', () => onOpen(s, k));
    s.on('data', () => undefined);
    a.sockets.push(s);
    if (k % 100 === 99) await sleep(20);
  }
  return a;
}

interface Row {
  readonly attack: string;
  readonly rssBefore: number | null;
  readonly rssAfter: number | null;
  readonly tpsBefore: number;
  readonly tpsDuring: number;
  readonly targetAdvanced: string;
  readonly refused: string;
  readonly disconnected: string;
}

async function run(): Promise<void> {
  const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 500 });
  let flood: FloodRun | null = null;
  const rows: Row[] = [];
  try {
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 60_000 });
    const gossip = net.genesis.validators[TARGET]!.gossip;
    const rpc = net.rpcUrls[TARGET]!;
    const rpcAddr = rpc.replace('http://', '');
    // Generous: the flood is stopped at the end anyway; it must not run out before the last attack.
    const total = 4 * (ATTACK_S + 40) + 3 * (ATTACK_S / 2 + 60) + 60;
    // The flood goes to validators 1 and 2 (the target's RPC is under attack in b-d).
    flood = startFlood({ rpcUrls: [net.rpcUrls[1]!, net.rpcUrls[2]!], rate: RATE, durationS: total, senders: 16, drainS: 2, logPath: join(net.dir, 'flood.log') });
    await sleep(5000);
    console.log(`localnet up in ${net.dir}; flood ${RATE} tx/s to v1, v2; target v${TARGET} (gossip ${gossip}, rpc ${rpc}); ${ATTACK_S} s per attack`);

    const measure = async (name: string, attack: () => Promise<{ disconnected: string; stop: () => Promise<void> | void }>, seconds = ATTACK_S): Promise<void> => {
      const pid = net.pid(TARGET);
      const rssBefore = rssMiB(pid);
      const m0 = await metrics(rpc);
      const tpsBefore = await tps(net, 3000);
      const h0 = (await health(rpc))?.height ?? null;
      const hNet0 = (await health(net.rpcUrls[1]!))?.height ?? 0;
      const a = await attack();
      const during = await tps(net, seconds * 1000);
      const d = await a.disconnected; // read before stopping: what the server did on its own
      const disconnected = typeof d === 'string' ? d : String(d);
      const rssAfter = rssMiB(pid);
      await a.stop();
      // Wait for the target to answer again (and commit again) before reading what it counted.
      const tStop = performance.now();
      let recovered: number | null = null;
      const hStop = (await health(net.rpcUrls[1]!))?.height ?? 0;
      while (performance.now() - tStop < 30_000) {
        const h = await health(rpc);
        if (h !== null && h.height > hStop) {
          recovered = Math.round(performance.now() - tStop);
          break;
        }
        await sleep(250);
      }
      const h1 = (await health(rpc))?.height ?? null;
      const hNet1 = (await health(net.rpcUrls[1]!))?.height ?? 0;
      const m1 = await metrics(rpc);
      const alive = net.isRunning(TARGET) && net.pid(TARGET) === pid;
      rows.push({
        attack: name,
        rssBefore,
        rssAfter,
        tpsBefore,
        tpsDuring: during,
        targetAdvanced: `${h0 === null || h1 === null ? 'n/a' : `${h1 - h0} of ${hNet1 - hNet0}`}${alive ? '' : ' (DIED)'}; ${recovered === null ? 'no commit within 30 s after' : `commits ${recovered} ms after`}`,
        refused: refusalDiff(m0, m1),
        disconnected,
      });
      const r = rows[rows.length - 1]!;
      console.log(`${name}: rss ${r.rssBefore} -> ${r.rssAfter} MiB, tps ${r.tpsBefore} -> ${r.tpsDuring}, target +${r.targetAdvanced}, refused ${r.refused}, offender: ${r.disconnected}`);
      await sleep(3000);
    };

    const socketAttack = (addr: string, n: number, onOpen: (s: Socket, k: number) => void, every?: (s: Socket, k: number) => void) => async () => {
      const a = await openMany(addr, n, onOpen);
      const timer = every ? setInterval(() => a.sockets.forEach((s, k) => !s.destroyed && s.writable && every(s, k)), 1000) : null;
      return {
        get disconnected() {
          const open = a.sockets.filter((s) => !s.destroyed).length;
          return `${a.closedByServer} of ${n} closed by the node, ${open} still open, ${a.errors} errors`;
        },
        stop: () => {
          if (timer) clearInterval(timer);
          a.stop();
        },
      };
    };
    const both = (x: () => Promise<{ disconnected: string; stop: () => void }>, y: () => Promise<{ disconnected: string; stop: () => void }>) => async () => {
      const [p, q] = [await x(), await y()];
      return {
        get disconnected() {
          return `gossip: ${p.disconnected}; rpc: ${q.disconnected}`;
        },
        stop: () => {
          p.stop();
          q.stop();
        },
      };
    };

    await measure('a: 2000 idle TCP to gossip', socketAttack(gossip, 2000, () => undefined));
    await measure('b: 2000 idle TCP to RPC', socketAttack(rpcAddr, 2000, () => undefined));
    await measure(
      'c: half-open 500 gossip + 500 RPC',
      both(
        socketAttack(gossip, 500, (s) => s.write(Buffer.from([0x00, 0x00]))), // 2 of 4 header bytes
        socketAttack(rpcAddr, 500, (s) => s.write('POST /tx HTTP/1.1\r\nHost: x\r\nContent-Le')),
      ),
    );
    // Slowloris: a frame header announcing 600 bytes (under the 1 KiB handshake cap), then its body
    // a byte a second; an HTTP request whose last header line never ends, a byte a second.
    const hdr = Buffer.from([0, 0, 2, 0x58]);
    await measure(
      'd: slowloris 50 gossip + 50 RPC, 1 B/s',
      both(
        socketAttack(gossip, 50, (s) => s.write(hdr), (s) => s.write(Buffer.from([0x61]))),
        socketAttack(rpcAddr, 50, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: '), (s) => s.write('a')),
      ),
    );

    // e: the rogue validator 3.
    await net.kill(3, 'SIGKILL');
    const secretKey = readSecretKey(join(net.dir, 'key-3.json'));
    const rogue = new Transport({
      chainId: net.genesis.chainId,
      index: 3,
      secretKey,
      validators: net.genesis.validators.map((v) => ({ index: v.index, publicKey: fromHex(v.publicKey, 'publicKey', 32), address: v.gossip })),
      listen: net.genesis.validators[3]!.gossip,
      queueMaxCount: 4096,
      tls: true, // as the validators (peer TLS is on by default)
    });
    let rogueDisconnects = 0;
    const captured: { type: number; payload: Uint8Array }[] = [];
    rogue.onPeer((i, up) => {
      if (i === TARGET && !up) rogueDisconnects++;
    });
    rogue.onMessage((_from, type, payload) => {
      if ((type === MsgType.PROPOSAL || type === MsgType.VOTE) && captured.length < 400) captured.push({ type, payload });
    });
    await rogue.start();
    for (let t = 0; t < 100 && !rogue.connectedPeers().includes(TARGET); t++) await sleep(100);
    await sleep(2000);
    const votes = captured.filter((c) => c.type === MsgType.VOTE);
    console.log(`rogue v3 connected to v${TARGET}: ${rogue.connectedPeers().includes(TARGET)}; captured ${captured.length} messages (${votes.length} votes)`);
    const rogueAttack = (name: string, burst: () => void, everyMs: number) => async () => {
      const before = rogueDisconnects;
      const timer = setInterval(() => {
        try {
          burst();
        } catch (e) {
          console.log(`${name}: ${(e as Error).message}`);
        }
      }, everyMs);
      return {
        get disconnected() {
          return `rogue lost v${TARGET} ${rogueDisconnects - before} times; connected now: ${rogue.connectedPeers().includes(TARGET)}`;
        },
        stop: () => clearInterval(timer),
      };
    };
    // e1: real votes with one bit of the signature flipped, also re-signed as from v3 (voter 3).
    let flip = 0;
    const badVotes = (): Uint8Array[] =>
      votes.slice(0, 50).flatMap((v) => {
        const m = decodeMessage(v.payload);
        if (m.type !== 'vote') return [];
        const sig = new Uint8Array(m.sig);
        sig[(flip++ % 32) + 32] ^= 1;
        return [encodeMessage({ ...m, sig }), encodeMessage({ ...m, voter: 3, sig })];
      });
    await measure('e1: rogue peer, invalid vote signatures', rogueAttack('e1', () => badVotes().forEach((p) => rogue.send(TARGET, KIND_TO_NET.vote, p)), 20), ATTACK_S / 2);
    // e2: maximum-size frames (8 MiB) of garbage, as proposals and as transaction gossip.
    const big = new Uint8Array(DEFAULT_MAX_FRAME_BYTES - 16).fill(0xc1);
    let k = 0;
    await measure('e2: rogue peer, max-size (8 MiB) frames', rogueAttack('e2', () => rogue.send(TARGET, (k++ % 2 === 0 ? MsgType.PROPOSAL : MsgType.TXGOSSIP) as never, big), 250), ATTACK_S / 2);
    // e3: valid but useless: every proposal and vote it received, replayed over and over.
    await measure('e3: rogue peer, replayed proposals and votes', rogueAttack('e3', () => captured.forEach((c) => rogue.send(TARGET, c.type as never, c.payload)), 50), ATTACK_S / 2);
    await rogue.stop();

    console.log('\nresults (target v0; TPS measured on v1; "target advanced" = heights the target committed of those the network did)');
    console.log(
      table(
        ['attack', 'RSS before MiB', 'RSS after MiB', 'TPS before', 'TPS during', 'target advanced', 'refusals (target /metrics diff)', 'offender'],
        rows.map((r) => [r.attack, String(r.rssBefore), String(r.rssAfter), String(r.tpsBefore), String(r.tpsDuring), r.targetAdvanced, r.refused, r.disconnected]),
      ),
    );
    const exits = net.exits.filter((e) => !e.expected);
    console.log(exits.length === 0 ? 'no validator crashed' : `CRASHED: ${JSON.stringify(exits)}`);
  } finally {
    flood?.stop();
    await net.close(3000);
  }
}

await run();
