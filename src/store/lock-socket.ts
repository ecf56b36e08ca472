/*
 * Unix-domain socket primitives for the data-directory lock (data-dir.ts has the protocol).
 *
 * A listening socket is the liveness signal: the kernel closes it when its process dies, whatever
 * the death (kill -9 included), before the process is even reaped; from then on a connect() to its
 * file is refused. So "is anyone holding this?" is answered by connecting, never by a pid.
 *
 * Addresses: a socket address holds 107 bytes on Linux and 103 on macOS, and Node does not refuse
 * a longer path: libuv binds its first 107 bytes, a name that may lie in another directory. Every
 * address is therefore built by SocketDir, which checks the length. A path that does not fit is
 * reached on Linux through /proc/self/fd/<fd of the directory>/<name>: the kernel resolves that
 * link to the directory itself, so the socket file lands exactly where the long path names it.
 * Elsewhere a long path is a typed error asking for a shorter --data-dir.
 *
 * A holder answers every connection with one line of JSON saying who it is (HolderInfo) and
 * whether it holds the lock yet or is still starting, then hangs up. The server and its
 * connections never keep the event loop alive (unref).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { closeSync, openSync, constants as fsConstants, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors.ts';

/** Longest socket path (bytes, without the NUL) that fits sockaddr_un on both Linux and macOS. */
export const MAX_SOCKET_PATH_BYTES = 103;
/** A holder's self-description is one short JSON line; anything longer is not from a holder. */
const MAX_HELLO_BYTES = 512;
/** Connections a holder serves at once; a prober needs one for a few microseconds. */
const MAX_CONNECTIONS = 16;
/** A connection the prober does not close is cut after this long. */
const CONNECTION_IDLE_MS = 1000;

/** Who holds a data directory: what LOCK holds and what the holder's socket answers. */
export interface HolderInfo {
  readonly pid: number;
  readonly host: string;
  /** ISO-8601 time the lock was taken */
  readonly since: string;
  /** random per acquisition; names the holder's socket (`<id>.sock`) */
  readonly id: string;
}

const HOLDER_ID = /^[0-9a-f]{16}$/;

export function encodeHolder(h: HolderInfo): string {
  return JSON.stringify({ pid: h.pid, host: h.host, since: h.since, id: h.id }) + '\n';
}

/** What a lock socket answers: the holder, and `holding: false` while it is still starting. */
function encodeHello(h: HolderInfo, holding: boolean): string {
  return JSON.stringify({ pid: h.pid, host: h.host, since: h.since, id: h.id, holding }) + '\n';
}

/** Parse what encodeHolder wrote; null for anything else (an old pid-only LOCK, garbage). */
export function parseHolder(text: string): HolderInfo | null {
  const o = parseObject(text);
  if (o === null) return null;
  const { pid, host, since, id } = o;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  if (typeof host !== 'string' || host.length > 255) return null;
  if (typeof since !== 'string' || since.length > 64) return null;
  if (typeof id !== 'string' || !HOLDER_ID.test(id)) return null;
  return { pid, host, since, id };
}

function parseObject(text: string): Record<string, unknown> | null {
  if (text.length > MAX_HELLO_BYTES) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Socket addresses inside one directory. Direct paths when they fit; on Linux, a path through a
 * descriptor of the directory otherwise. close() the descriptor once done binding and connecting.
 */
export class SocketDir {
  private constructor(
    readonly dir: string,
    private fd: number | null,
  ) {}

  /** `longestName` is the longest entry name that address() will be asked for. */
  static open(dir: string, longestName: number): SocketDir {
    if (Buffer.byteLength(join(dir, 'x'.repeat(longestName))) <= MAX_SOCKET_PATH_BYTES) return new SocketDir(dir, null);
    if (process.platform === 'linux' && procFdWorks()) {
      return new SocketDir(dir, openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY));
    }
    throw new StoreError(
      'dir_lock_failed',
      `cannot lock ${dir}: its path is too long for a Unix socket on ${process.platform} (socket paths hold ${MAX_SOCKET_PATH_BYTES} bytes); use a shorter --data-dir`,
      { path: dir },
    );
  }

  address(name: string): string {
    const a = this.fd === null ? join(this.dir, name) : `/proc/self/fd/${this.fd}/${name}`;
    // Never hand libuv a path it would truncate: it would bind or connect to another file.
    if (Buffer.byteLength(a) > MAX_SOCKET_PATH_BYTES) throw new StoreError('dir_lock_failed', `socket address too long: ${a}`, { path: this.dir });
    return a;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function procFdWorks(): boolean {
  try {
    return statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
}

/** A listening socket that tells every caller who holds the lock. */
export class HolderServer {
  private readonly conns = new Set<Socket>();
  private hello: string;

  private constructor(
    private readonly server: Server,
    private readonly holder: HolderInfo,
  ) {
    this.hello = encodeHello(holder, false);
  }

  /** Bind and listen at `address`, answering as a starter. Rejects with the OS error (EACCES, …). */
  static listen(address: string, holder: HolderInfo, onError: (e: Error) => void): Promise<HolderServer> {
    const server = createServer({ allowHalfOpen: false });
    server.maxConnections = MAX_CONNECTIONS;
    const self = new HolderServer(server, holder);
    server.on('connection', (sock) => {
      self.conns.add(sock);
      sock.on('close', () => self.conns.delete(sock));
      sock.on('error', () => sock.destroy()); // the prober left first: nothing to report
      sock.unref();
      sock.setTimeout(CONNECTION_IDLE_MS, () => sock.destroy());
      sock.end(self.hello);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => {
        server.off('error', reject);
        // Later errors (an accept() failing with EMFILE) do not close the socket: report and go on.
        server.on('error', onError);
        server.unref();
        resolve(self);
      });
    });
  }

  /** From now on answer as the holder. */
  markHolding(): void {
    this.hello = encodeHello(this.holder, true);
  }

  /**
   * Stop listening and cut open connections. libuv unlinks the path it bound when it closes a
   * listening socket; callers bind a name of their own (`<id>.tmp`), so that touches no one else's.
   */
  close(): Promise<void> {
    for (const s of this.conns) s.destroy();
    this.conns.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export type Probe =
  /**
   * Someone listens there. `holder` is what it said (null if it said nothing in time); `holding`
   * is false only when it said it is still starting (one that says nothing may hold the lock).
   */
  | { readonly state: 'live'; readonly holder: HolderInfo | null; readonly holding: boolean }
  /** the file is there but nobody listens: its holder closed it or died */
  | { readonly state: 'dead' }
  /** no such file (removed meanwhile) */
  | { readonly state: 'gone' }
  /** could not tell (permissions, a timeout): callers must not treat it as free */
  | { readonly state: 'unknown'; readonly code: string };

/** Connect to `address` and read the holder's hello. Never rejects. */
export function probe(address: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const sock = connect({ path: address });
    let connected = false;
    let text = '';
    let settled = false;
    const done = (p: Probe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(p);
    };
    const live = (): Probe => ({ state: 'live', holder: parseHolder(text), holding: parseObject(text)?.holding !== false });
    const timer = setTimeout(() => done(connected ? live() : { state: 'unknown', code: 'ETIMEDOUT' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => (connected = true));
    sock.on('data', (d: string) => {
      text += d;
      if (text.length > MAX_HELLO_BYTES) done({ state: 'live', holder: null, holding: true });
    });
    sock.on('end', () => done(live()));
    sock.on('close', () => done(connected ? live() : { state: 'unknown', code: 'ECLOSED' }));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (connected) return done(live());
      switch (e.code) {
        case 'ECONNREFUSED':
          return done({ state: 'dead' });
        case 'ENOENT':
          return done({ state: 'gone' });
        case 'EAGAIN': // its accept queue is full: someone is listening
          return done({ state: 'live', holder: null, holding: true });
        default:
          return done({ state: 'unknown', code: e.code ?? e.message });
      }
    });
  });
}
