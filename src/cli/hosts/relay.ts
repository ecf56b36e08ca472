// A TCP relay that delays the bytes it forwards: WAN latency between validators on a kernel without
// netem. Each route listens on one address (TCP host:port, or a Unix socket path) and forwards every
// connection it accepts to one target, in both directions, each chunk held `delayMs` after it
// arrived. Order within a connection is kept: a chunk never leaves before the one read before it.
//
// Loss: TCP never loses bytes, it retransmits them, so what a lost segment costs a stream is time.
// With `lossRate` p, each chunk is "lost" with probability p and waits `rtoMs` more (a retransmission
// timeout), holding up everything read after it, as head-of-line blocking does.
//
// Not emulated: connection setup (the dialer's connect completes at the relay at once; only the bytes
// are delayed), bandwidth limits, reordering. Backpressure: a direction with more than HIGH_WATER
// bytes held or unsent stops reading its source until it is under LOW_WATER again.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export type RelayEndpoint = { readonly host: string; readonly port: number } | { readonly path: string };

export interface RelayRoute {
  readonly listen: RelayEndpoint;
  readonly target: RelayEndpoint;
}

export interface RelayStats {
  readonly connections: number;
  readonly open: number;
  readonly bytes: number;
  readonly chunks: number;
  readonly lostChunks: number;
  readonly failedDials: number;
  /** this process's CPU seconds since the relay started */
  readonly cpuS: number;
  readonly wallS: number;
  /** event-loop delay since the previous stats(), ms: how late a held chunk may leave beyond its delay */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly delayMs: number;
  readonly lossRate: number;
}

const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;

export function formatEndpoint(e: RelayEndpoint): string {
  return 'path' in e ? `unix:${e.path}` : `${e.host}:${e.port}`;
}

/** "host:port", "[v6]:port" or "unix:/path". */
export function parseEndpoint(s: string): RelayEndpoint {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (path === '') throw new Error(`relay endpoint "${s}": empty socket path`);
    return { path };
  }
  const m = /^(?:([A-Za-z0-9.-]+)|\[([0-9a-fA-F:]+)\]):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`relay endpoint "${s}": want host:port or unix:/path`);
  return { host: m[1] ?? m[2]!, port };
}

/** "LISTEN=TARGET", e.g. "10.77.0.251:20001=10.77.0.11:26656". */
export function parseRoute(s: string): RelayRoute {
  const eq = s.indexOf('=');
  if (eq < 0) throw new Error(`relay route "${s}": want LISTEN=TARGET`);
  return { listen: parseEndpoint(s.slice(0, eq)), target: parseEndpoint(s.slice(eq + 1)) };
}

/** Close with a reset (RST) where the socket is TCP, so the far end sees the connection fail, not end. */
function abort(s: Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy(); // a Unix socket, or not connected yet
  }
}

export class DelayRelay {
  delayMs: number;
  lossRate: number;
  rtoMs: number;
  /** while true, every accepted connection is reset at once (a cut link); see block() */
  private blocked = false;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private bytes = 0;
  private chunks = 0;
  private lostChunks = 0;
  private failedDials = 0;
  private readonly cpu0 = process.cpuUsage();
  private readonly t0 = performance.now();
  private readonly loop = monitorEventLoopDelay({ resolution: 5 });
  private rnd: () => number;

  constructor(
    private readonly routes: readonly RelayRoute[],
    opts: { delayMs?: number; lossRate?: number; rtoMs?: number; seed?: number } = {},
  ) {
    this.delayMs = opts.delayMs ?? 0;
    this.lossRate = opts.lossRate ?? 0;
    this.rtoMs = opts.rtoMs ?? 200;
    let x = (opts.seed ?? 0x2545f491) >>> 0 || 1;
    this.rnd = () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 4294967296;
    };
  }

  async start(): Promise<void> {
    this.loop.enable();
    for (const r of this.routes) {
      const server = createServer({ noDelay: true, allowHalfOpen: true }, (s) => this.accept(s, r.target));
      if ('path' in r.listen && existsSync(r.listen.path)) unlinkSync(r.listen.path);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        if ('path' in r.listen) server.listen(r.listen.path, resolve);
        else server.listen({ host: r.listen.host, port: r.listen.port, exclusive: true }, resolve);
      });
      server.on('error', () => undefined);
      this.servers.push(server);
    }
  }

  /** Counters since start; the event-loop delay since the previous stats() call. */
  stats(): RelayStats {
    const c = process.cpuUsage(this.cpu0);
    const p99 = this.loop.percentile(99) / 1e6;
    const max = this.loop.max / 1e6;
    this.loop.reset();
    return {
      connections: this.connections,
      open: this.sockets.size / 2,
      bytes: this.bytes,
      chunks: this.chunks,
      lostChunks: this.lostChunks,
      failedDials: this.failedDials,
      cpuS: (c.user + c.system) / 1e6,
      wallS: (performance.now() - this.t0) / 1000,
      loopDelayP99Ms: p99,
      loopDelayMaxMs: max,
      delayMs: this.delayMs,
      lossRate: this.lossRate,
    };
  }

  /** Cut every open connection (both sides see a reset); the routes keep listening. */
  resetAll(): void {
    for (const s of this.sockets) abort(s);
  }

  /** Cut the link: reset every open connection and every new one until unblock(). */
  block(): void {
    this.blocked = true;
    this.resetAll();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.loop.disable();
    this.resetAll();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private accept(inbound: Socket, target: RelayEndpoint): void {
    if (this.blocked) {
      inbound.on('error', () => undefined);
      abort(inbound);
      return;
    }
    this.connections++;
    const outbound = 'path' in target ? connect({ path: target.path, allowHalfOpen: true }) : connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
    this.sockets.add(inbound);
    this.sockets.add(outbound);
    let dialed = false;
    outbound.once('connect', () => (dialed = true));
    const gone = (s: Socket) => () => {
      this.sockets.delete(s);
      if (s === outbound && !dialed) this.failedDials++;
    };
    inbound.once('close', gone(inbound));
    outbound.once('close', gone(outbound));
    this.pump(inbound, outbound);
    this.pump(outbound, inbound);
  }

  /** One direction of a connection: read from src, hold, write to dst in order. */
  private pump(src: Socket, dst: Socket): void {
    const queue: { due: number; buf: Buffer }[] = [];
    let head = 0;
    let held = 0;
    let lastDue = 0;
    let timer: NodeJS.Timeout | null = null;
    let srcEnded = false;
    let paused = false;

    const overHigh = (): boolean => held + dst.writableLength > HIGH_WATER;
    const maybeResume = (): void => {
      if (paused && held + dst.writableLength < LOW_WATER) {
        paused = false;
        src.resume();
      }
    };
    const finishIfDone = (): void => {
      if (srcEnded && head === queue.length && !dst.destroyed) dst.end();
    };
    const flush = (): void => {
      timer = null;
      const now = performance.now();
      while (head < queue.length && queue[head]!.due <= now + 0.5) {
        const { buf } = queue[head]!;
        queue[head++] = undefined as never;
        held -= buf.length;
        if (!dst.destroyed) dst.write(buf);
      }
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      } else if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      if (head < queue.length) timer = setTimeout(flush, Math.max(0, queue[head]!.due - performance.now()));
      maybeResume();
      finishIfDone();
    };

    src.on('data', (buf: Buffer) => {
      this.bytes += buf.length;
      this.chunks++;
      const lost = this.lossRate > 0 && this.rnd() < this.lossRate;
      if (lost) this.lostChunks++;
      const extra = this.delayMs + (lost ? this.rtoMs : 0);
      if (extra <= 0 && head === queue.length) {
        if (!dst.destroyed) dst.write(buf);
      } else {
        const due = Math.max(performance.now() + extra, lastDue);
        lastDue = due;
        queue.push({ due, buf });
        held += buf.length;
        if (timer === null) timer = setTimeout(flush, Math.max(0, due - performance.now()));
      }
      if (!paused && overHigh()) {
        paused = true;
        src.pause();
      }
    });
    dst.on('drain', maybeResume);
    src.once('end', () => {
      srcEnded = true;
      finishIfDone();
    });
    // A reset or an error on either side ends both: the peer must see the connection die.
    src.once('close', (hadError) => {
      if (!hadError && srcEnded) return; // a clean end: the held bytes still go out, then the FIN
      if (timer) clearTimeout(timer);
      timer = null;
      abort(dst);
    });
    src.on('error', () => undefined);
  }
}
