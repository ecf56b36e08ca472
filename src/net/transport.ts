// TCP transport for one validator: authenticated connections to every other validator of the
// genesis set, bounded per-peer queues, ACK + bounded retry + receiver dedup for critical messages,
// best-effort TXGOSSIP with TTL and payload-hash dedup.
//
// This class holds the public API and routes between the parts, each in its own file:
// transport-options.ts (options and defaults), connections.ts (sockets), handshake.ts (peer
// authentication), dialer.ts (who dials whom, knocks, backoff), delivery.ts (ACK/retry/dedup of
// critical messages), gossip.ts (TXGOSSIP), peer.ts (the per-peer and per-socket records).
import { createServer, type Server } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { NetError } from './errors.ts';
import { FRAME_HEADER_BYTES } from './frame.ts';
import { MsgType, decodeMessage, msgTypeName, type AppMsgType, type Message } from './messages.ts';
import { privateKeyFromSeed, newEpoch } from './auth.ts';
import { countersOf, newTransportStats, type TransportStats } from './stats.ts';
import { parseAddress, type HostPort } from './address.ts';
import { PeerTls } from './tls.ts';
import { resolveOptions, type Resolved, type TransportOptions, type ValidatorInfo } from './transport-options.ts';
import { newPeer, type Conn, type Peer } from './peer.ts';
import { Connections } from './connections.ts';
import { Handshake } from './handshake.ts';
import { Dialer } from './dialer.ts';
import { Delivery } from './delivery.ts';
import { Gossip } from './gossip.ts';

export type { TransportOptions, ValidatorInfo } from './transport-options.ts';

export type MessageHandler = (from: number, type: AppMsgType, payload: Uint8Array) => void;
export type PeerHandler = (index: number, connected: boolean) => void;

export interface PeerStatus {
  readonly index: number;
  readonly connected: boolean;
  readonly queued: number;
  readonly queuedBytes: number;
  readonly unacked: number;
}

export class Transport {
  readonly stats: TransportStats = newTransportStats();
  readonly index: number;
  private readonly chainId: string;
  private readonly key: KeyObject;
  private readonly o: Resolved;
  private readonly tls: PeerTls | null;
  private readonly listenAddress: HostPort;
  private readonly peers = new Map<number, Peer>();
  private readonly epoch = newEpoch();
  private readonly messageHandlers: MessageHandler[] = [];
  private readonly peerHandlers: PeerHandler[] = [];
  private readonly conns: Connections;
  private readonly handshake: Handshake;
  private readonly dialer: Dialer;
  private readonly delivery: Delivery;
  private readonly gossip: Gossip;
  private server: Server | null = null;
  private listening: Promise<void> | null = null;
  private bound: HostPort | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(opts: TransportOptions) {
    const o = (this.o = resolveOptions(opts));
    this.chainId = opts.chainId;
    this.index = opts.index;
    this.key = privateKeyFromSeed(opts.secretKey);
    let self: ValidatorInfo | undefined;
    for (const v of opts.validators) {
      if (!Number.isSafeInteger(v.index) || v.index < 0 || v.index > 0xffff) {
        throw new NetError('bad_argument', `validator index ${v.index} must be an integer in [0, 65535]`, 'validators.index');
      }
      if (v.index === this.index) {
        self = v;
        continue;
      }
      if (this.peers.has(v.index)) throw new NetError('bad_argument', `validator index ${v.index} appears twice`, 'validators.index');
      this.peers.set(v.index, newPeer(v, o));
    }
    if (self === undefined && opts.listen === undefined) {
      throw new NetError('bad_argument', `our index ${this.index} is not in the validator set and no listen address was given`, 'index');
    }
    this.listenAddress = parseAddress(opts.listen ?? self!.address, 'listen');
    const keys = new Map(opts.validators.map((v) => [Buffer.from(v.publicKey).toString('hex'), v.index]));
    const tls = (this.tls = opts.tls === true ? new PeerTls(this.key, this.index, keys, this.stats.tlsRefused, opts.onTlsRefused) : null);

    // The parts call each other only through these closures, so each sees just what it needs.
    const { stats, peers, index } = this;
    const isStarted = (): boolean => this.state === 'started';
    const deliver = (from: number, type: AppMsgType, payload: Uint8Array): void => this.deliver(from, type, payload);
    const write = (c: Conn, msg: Message): void => this.conns.write(c, msg);
    const acceptingFrom = (p: Peer): boolean => this.conns.acceptingFrom(p);
    this.conns = new Connections({
      o,
      stats,
      tls,
      isStarted,
      onBody: (c, body) => this.onBody(c, body),
      onEstablished: (c, p, fresh) => {
        this.delivery.onConnect(c, p);
        if (fresh) this.emitPeer(p.index, true);
      },
      onLost: (p) => this.emitPeer(p.index, false),
      reconnect: (p) => this.dialer.scheduleReconnect(p),
    });
    this.handshake = new Handshake({
      chainId: this.chainId,
      index,
      key: this.key,
      epoch: this.epoch,
      tls,
      stats,
      peer: (i) => peers.get(i),
      write,
      close: (c) => this.conns.close(c),
      establish: (c, p) => this.conns.establish(c, p),
      acceptingFrom,
      answerKnock: (p) => this.dialer.answerKnock(p),
    });
    this.dialer = new Dialer({
      index,
      o,
      stats,
      tls,
      random: opts.random ?? Math.random,
      isStarted,
      open: (socket, p, knock) => this.conns.open(socket, true, p, knock),
      acceptingFrom,
      hello: (c, p) => this.handshake.hello(c, p),
    });
    this.delivery = new Delivery({
      o,
      stats,
      peers,
      isStopped: () => this.isStopped(),
      write,
      deliver,
      ownGossipFrame: (payload) => this.gossip.ownFrame(payload),
    });
    this.gossip = new Gossip({
      o,
      stats,
      peers,
      relay: opts.relayGossip ?? true,
      isStarted,
      enqueue: (p, type, id, frame) => this.delivery.enqueue(p, type, id, frame),
      deliver,
    });
  }

  // ---- public API -------------------------------------------------------------------------

  /** Listen, then dial every known higher-index peer and knock on every lower one. Resolves with the bound address. */
  async start(): Promise<HostPort> {
    if (this.state !== 'new') throw new NetError('bad_argument', 'start() may only be called once', 'state');
    this.state = 'started';
    const server = createServer({ noDelay: true }, (s) => this.conns.accept(s));
    this.server = server;
    this.listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await this.listening;
    // Errors after listen (e.g. EMFILE on accept) must not crash the process.
    server.on('error', () => {});
    // stop() ran while we were binding; it waits for the bind and closes the server itself.
    if (this.isStopped()) throw new NetError('stopped', 'stop() was called during start()', 'state');
    const a = server.address();
    this.bound = a !== null && typeof a === 'object' ? { host: a.address, port: a.port } : this.listenAddress;
    this.retryTimer = setInterval(() => this.delivery.onRetryTick(), Math.max(10, Math.floor(this.o.ackTimeoutMs / 4)));
    this.pingTimer = setInterval(() => this.conns.onPingTick(), this.o.pingIntervalMs);
    for (const p of this.peers.values()) this.dialer.maybeDial(p);
    return this.bound;
  }

  /** Close every socket and timer; undelivered messages are dropped and counted. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.retryTimer) clearInterval(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = this.pingTimer = null;
    for (const p of this.peers.values()) {
      this.dialer.cancel(p);
      this.delivery.dropAll(p);
    }
    this.conns.closeAll();
    if (this.server) {
      const server = this.server;
      await this.listening?.catch(() => {});
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.server = null;
  }

  /** The address we listen on (after start()). */
  address(): HostPort | null {
    return this.bound;
  }

  /** Learn or change a peer's gossip address (e.g. after it bound port 0). Dials if it is our turn. */
  setPeerAddress(index: number, address: string): void {
    const p = this.peerOrThrow(index, 'index');
    p.address = parseAddress(address);
    if (this.state === 'started') this.dialer.maybeDial(p);
  }

  /**
   * Queue a message for one peer. Critical types are acknowledged and retried; TXGOSSIP is
   * best-effort. Never blocks; if the peer's queue is full the oldest best-effort (then critical)
   * messages are dropped and counted.
   */
  send(to: number, type: AppMsgType, payload: Uint8Array): void {
    const p = this.peerOrThrow(to, 'to');
    const { id, frame } = this.delivery.prepare(type, payload);
    this.delivery.enqueue(p, type, id, frame);
  }

  /** Queue a message for every peer (connected or not). The frame is encoded once. */
  broadcast(type: AppMsgType, payload: Uint8Array): void {
    const { id, frame } = this.delivery.prepare(type, payload);
    for (const p of this.peers.values()) this.delivery.enqueue(p, type, id, frame);
  }

  /** Register a handler for application messages; returns a function that unregisters it. */
  onMessage(handler: MessageHandler): () => void {
    return addHandler(this.messageHandlers, handler);
  }

  /** Register a handler for authenticated connect (true) / disconnect (false) of a peer. */
  onPeer(handler: PeerHandler): () => void {
    return addHandler(this.peerHandlers, handler);
  }

  /** Indices of peers with an authenticated connection, ascending. */
  connectedPeers(): number[] {
    const out: number[] = [];
    for (const p of this.peers.values()) if (p.conn) out.push(p.index);
    return out.sort((a, b) => a - b);
  }

  peerStatus(): PeerStatus[] {
    return [...this.peers.values()]
      .sort((a, b) => a.index - b.index)
      .map((p) => ({ index: p.index, connected: p.conn !== null, queued: p.queue.count, queuedBytes: p.queue.bytes, unacked: p.queue.unacked }));
  }

  /** Close the connection to a peer (the lower index re-establishes it; the higher one knocks). For operators and tests. */
  disconnect(index: number): void {
    const p = this.peerOrThrow(index, 'index');
    if (p.conn) this.conns.close(p.conn);
  }

  // ---- receiving ----------------------------------------------------------------------------

  private onBody(c: Conn, body: Uint8Array): void {
    const msg = decodeMessage(body);
    const k = countersOf(this.stats, msg.type);
    k.received++;
    k.receivedBytes += body.byteLength + FRAME_HEADER_BYTES;
    if (c.state === 'open') return this.onOpenMessage(c, msg);
    this.handshake.onMessage(c, msg);
  }

  private onOpenMessage(c: Conn, m: Message): void {
    const p = c.peer!;
    // Reset the backoff only once the peer has spoken after the handshake: a dialer cannot tell
    // from its own side whether the acceptor accepted its AUTH, and a refused dialer must not
    // redial at full speed.
    p.dialAttempt = 0;
    switch (m.type) {
      case MsgType.ACK:
        return this.delivery.onAck(p, m.ids);
      case MsgType.PING:
        return this.conns.write(c, { type: MsgType.PONG, nonce: m.nonce });
      case MsgType.PONG:
        return;
      case MsgType.TXGOSSIP:
        return this.gossip.onGossip(p, m);
      case MsgType.HELLO:
      case MsgType.CHALLENGE:
      case MsgType.AUTH:
        throw new NetError('protocol', `${msgTypeName(m.type)} after the handshake`, 'type');
      default:
        return this.delivery.onCritical(c, p, m);
    }
  }

  private deliver(from: number, type: AppMsgType, payload: Uint8Array): void {
    countersOf(this.stats, type).delivered++;
    for (const h of this.messageHandlers) {
      try {
        h(from, type, payload);
      } catch {
        this.stats.handlerErrors++;
      }
    }
  }

  private emitPeer(index: number, connected: boolean): void {
    for (const h of this.peerHandlers) {
      try {
        h(index, connected);
      } catch {
        this.stats.handlerErrors++;
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  // A method, so TypeScript does not narrow this.state across awaits.
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private peerOrThrow(index: number, field: string): Peer {
    const p = this.peers.get(index);
    if (!p) throw new NetError('unknown_peer', `${index} is not the index of another validator`, field);
    return p;
  }
}

function addHandler<T>(list: T[], h: T): () => void {
  list.push(h);
  return () => {
    const i = list.indexOf(h);
    if (i >= 0) list.splice(i, 1);
  };
}
