// Over 500 lines: handshake, dialer, reliable delivery and gossip still share one class;
// splitting them by job is open (issue 18).
// TCP transport for one validator: authenticated connections to every other validator of the
// genesis set, bounded per-peer queues, ACK + bounded retry + receiver dedup for critical messages,
// best-effort TXGOSSIP with TTL and payload-hash dedup.
//
// Connection rule: the validator with the lower index dials, the higher one accepts. If a second
// authenticated connection for the same peer appears (a restarted peer, a half-open old socket),
// the newest one wins and the older is closed. The higher index does not wait idle, though: while
// it has no connection it "knocks", i.e. dials the lower index, completes the handshake and hangs
// up; the lower index answers an authenticated knock by dialing at once instead of at the end of
// its backoff. Without knocks a restarted validator stayed unreachable from lower indices for up to
// reconnectMaxMs after it was back, and a second failure in that window (3 of 4 up, one link
// missing) cost a second round timeout. A knock never becomes the connection, so there is never a
// race between two directions.
//
// Handshake (all frames capped at maxHandshakeFrameBytes until it completes):
//   dialer   → HELLO     (version, chainId, from, to, epoch, challengeD)
//   acceptor → CHALLENGE (version, chainId, from, to, epoch, challengeA, sig_A(challengeD, challengeA))
//   dialer   → AUTH      (sig_D(challengeA, challengeD))
// Signatures are over authSigningBytes (see auth.ts). The epoch is a random per-instance number:
// message ids restart when a sender restarts, so the receiver's dedup window is per (peer, epoch).
//
// Delivery guarantee for critical messages: at most once per receiver instance, and delivered unless
// the sender's queue overflowed, the sender gave up after maxRetries rewrites, or either side
// restarted (queues and dedup windows live in memory only). Consensus must tolerate loss anyway.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHash, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NetError } from './errors.ts';
import { FrameDecoder, encodeFrame, FRAME_HEADER_BYTES } from './frame.ts';
import {
  MsgType,
  PROTOCOL_VERSION,
  MAX_ACK_IDS,
  decodeMessage,
  encodeMessage,
  encodeAppFrame,
  isAppType,
  msgTypeName,
  type AppMsgType,
  type Message,
  type CriticalMsg,
  type GossipMsg,
  type HelloMsg,
  type ChallengeMsg,
  type AuthMsg,
} from './messages.ts';
import { privateKeyFromSeed, newChallenge, newEpoch, signAuth, verifyAuth } from './auth.ts';
import type { Dropped } from './outbound-queue.ts';
import { RecentIdWindow, RecentKeySet } from './dedup.ts';
import { backoffDelay } from './backoff.ts';
import { newTransportStats, type TransportStats } from './stats.ts';
import { parseAddress, type HostPort } from './address.ts';
import { PeerTls } from './tls.ts';
import { resolveOptions, type Resolved, type TransportOptions, type ValidatorInfo } from './transport-options.ts';
import { newPeer, isClosed, type Conn, type Peer } from './peer.ts';

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
  private readonly relayGossip: boolean;
  private readonly random: () => number;
  private readonly tls: PeerTls | null;
  private readonly listenAddress: HostPort;
  private readonly peers = new Map<number, Peer>();
  private readonly conns = new Set<Conn>(); // every live socket, authenticated or not
  private readonly epoch = newEpoch();
  private readonly gossipSeen: RecentKeySet;
  private readonly messageHandlers: MessageHandler[] = [];
  private readonly peerHandlers: PeerHandler[] = [];
  private server: Server | null = null;
  private listening: Promise<void> | null = null;
  private bound: HostPort | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private pingNonce = 0;
  private pendingHandshakes = 0;
  private state: 'new' | 'started' | 'stopped' = 'new';

  constructor(opts: TransportOptions) {
    this.o = resolveOptions(opts);
    this.chainId = opts.chainId;
    this.index = opts.index;
    this.relayGossip = opts.relayGossip ?? true;
    this.random = opts.random ?? Math.random;
    this.key = privateKeyFromSeed(opts.secretKey);
    this.gossipSeen = new RecentKeySet(this.o.gossipSeenMax);
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
      this.peers.set(v.index, newPeer(v, this.o));
    }
    if (self === undefined && opts.listen === undefined) {
      throw new NetError('bad_argument', `our index ${this.index} is not in the validator set and no listen address was given`, 'index');
    }
    this.listenAddress = parseAddress(opts.listen ?? self!.address, 'listen');
    const keys = new Map(opts.validators.map((v) => [Buffer.from(v.publicKey).toString('hex'), v.index]));
    this.tls = opts.tls === true ? new PeerTls(this.key, this.index, keys, this.stats.tlsRefused, opts.onTlsRefused) : null;
  }

  // ---- public API -------------------------------------------------------------------------

  /** Listen, then dial every known higher-index peer and knock on every lower one. Resolves with the bound address. */
  async start(): Promise<HostPort> {
    if (this.state !== 'new') throw new NetError('bad_argument', 'start() may only be called once', 'state');
    this.state = 'started';
    const server = createServer({ noDelay: true }, (s) => this.onInbound(s));
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
    this.retryTimer = setInterval(() => this.onRetryTick(), Math.max(10, Math.floor(this.o.ackTimeoutMs / 4)));
    this.pingTimer = setInterval(() => this.onPingTick(), this.o.pingIntervalMs);
    for (const p of this.peers.values()) this.maybeDial(p);
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
      if (p.reconnectTimer) clearTimeout(p.reconnectTimer);
      if (p.flushHandle) clearImmediate(p.flushHandle);
      p.reconnectTimer = null;
      p.flushHandle = null;
      for (const e of p.queue.clear()) this.counters(e.type).dropped++;
    }
    for (const c of [...this.conns]) this.closeConn(c);
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
    if (this.state === 'started') this.maybeDial(p);
  }

  /**
   * Queue a message for one peer. Critical types are acknowledged and retried; TXGOSSIP is
   * best-effort. Never blocks; if the peer's queue is full the oldest best-effort (then critical)
   * messages are dropped and counted.
   */
  send(to: number, type: AppMsgType, payload: Uint8Array): void {
    const p = this.peerOrThrow(to, 'to');
    const { id, frame } = this.prepare(type, payload);
    this.enqueue(p, type, id, frame);
  }

  /** Queue a message for every peer (connected or not). The frame is encoded once. */
  broadcast(type: AppMsgType, payload: Uint8Array): void {
    const { id, frame } = this.prepare(type, payload);
    for (const p of this.peers.values()) this.enqueue(p, type, id, frame);
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
    if (p.conn) this.closeConn(p.conn);
  }

  // ---- sending ------------------------------------------------------------------------------

  private prepare(type: AppMsgType, payload: Uint8Array): { id: number; frame: Uint8Array } {
    if (this.state === 'stopped') throw new NetError('stopped', 'transport is stopped', 'state');
    if (!isAppType(type)) throw new NetError('bad_argument', `type ${String(type)} is not an application message type`, 'type');
    if (!(payload instanceof Uint8Array)) throw new NetError('bad_argument', 'payload must be a Uint8Array', 'payload');
    // Envelope overhead is at most 1 + 1 + 9 + 5 bytes.
    if (payload.byteLength + 16 > this.o.maxFrameBytes) {
      throw new NetError('payload_too_large', `payload of ${payload.byteLength} bytes does not fit in maxFrameBytes ${this.o.maxFrameBytes}`, 'payload');
    }
    let id = 0;
    if (type === MsgType.TXGOSSIP) {
      // Remember our own gossip so that relayed echoes are recognised.
      this.gossipSeen.add(gossipKey(payload));
      return { id, frame: encodeAppFrame(type, this.o.gossipTtl, payload) };
    }
    id = this.nextId++;
    return { id, frame: encodeAppFrame(type, id, payload) };
  }

  private enqueue(p: Peer, type: AppMsgType, id: number, frame: Uint8Array): void {
    this.countDrops(p.queue.enqueue(type, id, frame));
    this.scheduleFlush(p);
  }

  private countDrops(dropped: readonly Dropped[]): void {
    for (const d of dropped) {
      this.counters(d.entry.type).dropped++;
      if (d.reason === 'overflow') this.stats.overflowDrops++;
      else this.stats.retryExhaustedDrops++;
    }
  }

  private scheduleFlush(p: Peer): void {
    if (p.flushHandle || !p.conn || p.conn.waitingDrain) return;
    // Batch everything queued in this event-loop turn into one corked write.
    p.flushHandle = setImmediate(() => {
      p.flushHandle = null;
      this.flush(p);
    });
  }

  private flush(p: Peer): void {
    const c = p.conn;
    if (!c || c.state !== 'open' || c.waitingDrain) return;
    const s = c.socket;
    const now = performance.now();
    s.cork();
    while (s.writableLength < this.o.socketHighWaterBytes) {
      const e = p.queue.take(now);
      if (!e) break;
      s.write(e.frame);
      const k = this.counters(e.type);
      k.sent++;
      k.sentBytes += e.frame.byteLength;
      if (e.attempts > 1) k.retried++;
    }
    s.uncork();
    if (p.queue.ready > 0) {
      c.waitingDrain = true;
      s.once('drain', () => {
        c.waitingDrain = false;
        if (p.conn === c) this.flush(p);
      });
    }
  }

  /** Transport-level frames bypass the queue; a peer that stops reading is cut off. */
  private writeControl(c: Conn, msg: Message): void {
    if (c.state === 'closed') return;
    if (c.socket.writableLength > this.o.socketHighWaterBytes + this.o.maxFrameBytes) {
      this.stats.slowPeerDisconnects++;
      this.closeConn(c);
      return;
    }
    const frame = encodeFrame(encodeMessage(msg));
    c.socket.write(frame);
    const k = this.counters(msg.type);
    k.sent++;
    k.sentBytes += frame.byteLength;
  }

  // ---- connections --------------------------------------------------------------------------

  private newConn(socket: Socket, outbound: boolean, peer: Peer | null, knock = false): Conn {
    const c: Conn = {
      socket,
      outbound,
      knock,
      decoder: new FrameDecoder({ maxFrameBytes: this.o.maxHandshakeFrameBytes }),
      myChallenge: newChallenge(),
      state: outbound ? 'connecting' : 'await_hello',
      peer,
      peerChallenge: null,
      peerEpoch: 0,
      lastHeard: performance.now(),
      handshakeTimer: null,
      pendingAcks: [],
      ackHandle: null,
      waitingDrain: false,
    };
    this.conns.add(c);
    c.handshakeTimer = setTimeout(() => {
      c.handshakeTimer = null;
      if (c.state !== 'open' && c.state !== 'closed') {
        this.stats.handshakeTimeouts++;
        this.closeConn(c);
      }
    }, this.o.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('error', () => this.closeConn(c));
    socket.on('close', () => this.closeConn(c));
    return c;
  }

  private onInbound(socket: Socket): void {
    if (this.state !== 'started' || this.pendingHandshakes >= this.o.maxPendingHandshakes) {
      if (this.state === 'started') this.stats.pendingHandshakesRefused++;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.pendingHandshakes++;
    this.newConn(this.tls ? this.tls.accept(socket) : socket, false, null);
  }

  private maybeDial(p: Peer): void {
    if (this.state !== 'started' || p.conn || p.dialing || p.reconnectTimer || p.address.port === 0) return;
    const knock = p.index < this.index;
    if (knock) {
      // The lower index is already dialing us: nothing to wake up.
      if (this.inboundHandshakeFrom(p)) return;
      this.stats.knocksSent++;
    } else {
      if (p.everDialed) this.stats.reconnectAttempts++;
      p.everDialed = true;
    }
    const socket = this.tls ? this.tls.dial(p.address.host, p.address.port, p.index) : connect({ host: p.address.host, port: p.address.port, noDelay: true });
    const c = this.newConn(socket, true, p, knock);
    p.dialing = c;
    // With TLS, HELLO waits for the handshake and the key check (PeerTls destroys a wrong key first).
    socket.once(this.tls ? 'secureConnect' : 'connect', () => {
      if (c.state !== 'connecting' || socket.destroyed) return;
      c.state = 'await_challenge';
      this.writeControl(c, {
        type: MsgType.HELLO,
        version: PROTOCOL_VERSION,
        chainId: this.chainId,
        from: this.index,
        to: p.index,
        epoch: this.epoch,
        challenge: c.myChallenge,
      });
    });
  }

  private inboundHandshakeFrom(p: Peer): boolean {
    for (const c of this.conns) if (!c.outbound && c.peer === p && c.state === 'await_auth') return true;
    return false;
  }

  /** Next dial (or, towards a lower index, knock) after a backoff delay. */
  private scheduleReconnect(p: Peer): void {
    if (this.state !== 'started' || p.conn || p.dialing || p.reconnectTimer) return;
    const delay = backoffDelay(p.dialAttempt++, { baseMs: this.o.reconnectBaseMs, maxMs: this.o.reconnectMaxMs }, this.random);
    p.reconnectTimer = setTimeout(() => {
      p.reconnectTimer = null;
      this.maybeDial(p);
    }, delay);
  }

  private closeConn(c: Conn): void {
    if (c.state === 'closed') return;
    const wasOpen = c.state === 'open';
    const knocked = c.state === 'knocked';
    if (!c.outbound && !wasOpen) this.pendingHandshakes--;
    c.state = 'closed';
    this.conns.delete(c);
    if (c.handshakeTimer) clearTimeout(c.handshakeTimer);
    if (c.ackHandle) {
      clearTimeout(c.ackHandle as NodeJS.Timeout);
      clearImmediate(c.ackHandle as NodeJS.Immediate);
    }
    c.handshakeTimer = c.ackHandle = null;
    c.socket.destroy();
    const p = c.peer;
    if (!p) return;
    if (p.dialing === c) {
      p.dialing = null;
      if (!wasOpen && !knocked) this.stats.dialFailures++;
    }
    if (p.conn === c) {
      p.conn = null;
      this.stats.disconnects++;
      this.emitPeer(p.index, false);
    }
    // A failed inbound handshake says nothing about our own dialing; only our dials and lost
    // authenticated connections trigger a reconnect.
    if (!p.conn && (c.outbound || wasOpen)) this.scheduleReconnect(p);
  }

  private establish(c: Conn, p: Peer): void {
    if (c.handshakeTimer) clearTimeout(c.handshakeTimer);
    c.handshakeTimer = null;
    if (!c.outbound) this.pendingHandshakes--;
    if (p.dialing === c) p.dialing = null;
    c.state = 'open';
    c.decoder.setMaxFrameBytes(this.o.maxFrameBytes);
    const old = p.conn;
    p.conn = c;
    if (old) {
      this.stats.replacedConnections++;
      this.closeConn(old); // p.conn is already c, so this is not reported as a disconnect
    }
    if (p.inbound === null || p.inbound.epoch !== c.peerEpoch) {
      p.inbound = { epoch: c.peerEpoch, window: new RecentIdWindow(this.o.dedupWindow) };
    }
    if (c.outbound) this.stats.connectsOut++;
    else this.stats.connectsIn++;
    p.queue.onConnect();
    this.scheduleFlush(p);
    if (!old) this.emitPeer(p.index, true);
  }

  // ---- receiving ----------------------------------------------------------------------------

  private onData(c: Conn, chunk: Buffer): void {
    if (c.state === 'closed') return;
    c.lastHeard = performance.now();
    try {
      c.decoder.push(chunk);
      for (let body = c.decoder.next(); body !== null; body = c.decoder.next()) {
        this.onBody(c, body);
        if (isClosed(c)) return; // a handler may have closed it
      }
    } catch (e) {
      if (e instanceof NetError) {
        if (e.code === 'oversize_frame') this.stats.oversizeFrames++;
        else if (e.code === 'auth_failed') this.stats.authFailures++;
        else this.stats.malformedFrames++;
      } else {
        // A bug in a handler path must cost one connection, not the process.
        this.stats.malformedFrames++;
      }
      this.closeConn(c);
    }
  }

  private onBody(c: Conn, body: Uint8Array): void {
    const msg = decodeMessage(body);
    const k = this.counters(msg.type);
    k.received++;
    k.receivedBytes += body.byteLength + FRAME_HEADER_BYTES;
    switch (c.state) {
      case 'await_hello':
        if (msg.type !== MsgType.HELLO) throw authError(`expected HELLO, got ${msgTypeName(msg.type)}`);
        return this.onHello(c, msg);
      case 'await_challenge':
        if (msg.type !== MsgType.CHALLENGE) throw authError(`expected CHALLENGE, got ${msgTypeName(msg.type)}`);
        return this.onChallenge(c, msg);
      case 'await_auth':
        if (msg.type !== MsgType.AUTH) throw authError(`expected AUTH, got ${msgTypeName(msg.type)}`);
        return this.onAuth(c, msg);
      case 'open':
        return this.onOpenMessage(c, msg);
      default:
        throw authError(`frame received before the handshake started`);
    }
  }

  private checkHandshakeFields(m: HelloMsg | ChallengeMsg): Peer {
    if (m.version !== PROTOCOL_VERSION) throw authError(`protocol version ${m.version}, expected ${PROTOCOL_VERSION}`, 'version');
    if (m.chainId !== this.chainId) throw authError(`chain id ${JSON.stringify(m.chainId)} is not ours`, 'chainId');
    if (m.to !== this.index) throw authError(`peer addressed validator ${m.to}, we are ${this.index}`, 'to');
    const p = this.peers.get(m.from);
    if (!p) throw authError(`validator index ${m.from} is not in the validator set`, 'from');
    return p;
  }

  private onHello(c: Conn, m: HelloMsg): void {
    const p = this.checkHandshakeFields(m);
    if (this.tls && !this.tls.helloMatches(c.socket, p.index)) throw authError(`TLS certificate is not validator ${p.index}'s key`, 'from');
    c.peer = p;
    c.peerChallenge = m.challenge;
    c.peerEpoch = m.epoch;
    c.state = 'await_auth';
    const signature = signAuth(this.key, {
      chainId: this.chainId,
      verifierChallenge: m.challenge,
      signerChallenge: c.myChallenge,
      signerIndex: this.index,
      verifierIndex: p.index,
    });
    this.writeControl(c, {
      type: MsgType.CHALLENGE,
      version: PROTOCOL_VERSION,
      chainId: this.chainId,
      from: this.index,
      to: p.index,
      epoch: this.epoch,
      challenge: c.myChallenge,
      signature,
    });
  }

  private onChallenge(c: Conn, m: ChallengeMsg): void {
    const p = this.checkHandshakeFields(m);
    if (p !== c.peer) throw authError(`dialed validator ${c.peer?.index}, answered by ${m.from}`, 'from');
    const ok = verifyAuth(
      p.key,
      { chainId: this.chainId, verifierChallenge: c.myChallenge, signerChallenge: m.challenge, signerIndex: p.index, verifierIndex: this.index },
      m.signature,
    );
    if (!ok) throw authError(`bad handshake signature from validator ${p.index}`, 'signature');
    c.peerEpoch = m.epoch;
    // A knock that is no longer needed (the lower index reached us meanwhile) just hangs up.
    if (c.knock && (p.conn || this.inboundHandshakeFrom(p))) return this.closeConn(c);
    const signature = signAuth(this.key, {
      chainId: this.chainId,
      verifierChallenge: m.challenge,
      signerChallenge: c.myChallenge,
      signerIndex: this.index,
      verifierIndex: p.index,
    });
    this.writeControl(c, { type: MsgType.AUTH, signature });
    if (!c.knock) return this.establish(c, p);
    // Knock delivered once AUTH is out; the peer hangs up, and the 'close' event ends it here.
    c.state = 'knocked';
    c.socket.end();
  }

  private onAuth(c: Conn, m: AuthMsg): void {
    const p = c.peer!;
    const ok = verifyAuth(
      p.key,
      { chainId: this.chainId, verifierChallenge: c.myChallenge, signerChallenge: c.peerChallenge!, signerIndex: p.index, verifierIndex: this.index },
      m.signature,
    );
    if (!ok) throw authError(`bad handshake signature from validator ${p.index}`, 'signature');
    if (p.index < this.index) return this.establish(c, p);
    // An authenticated knock from a higher index: it has no connection to us, so dial it now.
    this.stats.knocksReceived++;
    this.closeConn(c);
    if (p.conn) return;
    p.dialAttempt = 0;
    if (p.reconnectTimer) clearTimeout(p.reconnectTimer);
    p.reconnectTimer = null;
    this.maybeDial(p);
  }

  private onOpenMessage(c: Conn, m: Message): void {
    const p = c.peer!;
    // Reset the backoff only once the peer has spoken after the handshake: a dialer cannot tell
    // from its own side whether the acceptor accepted its AUTH, and a refused dialer must not
    // redial at full speed.
    p.dialAttempt = 0;
    switch (m.type) {
      case MsgType.ACK:
        for (const id of m.ids) {
          const e = p.queue.ack(id);
          if (e) this.counters(e.type).acked++;
        }
        return;
      case MsgType.PING:
        return this.writeControl(c, { type: MsgType.PONG, nonce: m.nonce });
      case MsgType.PONG:
        return;
      case MsgType.TXGOSSIP:
        return this.onGossip(p, m);
      case MsgType.HELLO:
      case MsgType.CHALLENGE:
      case MsgType.AUTH:
        throw new NetError('protocol', `${msgTypeName(m.type)} after the handshake`, 'type');
      default:
        return this.onCritical(c, p, m);
    }
  }

  private onCritical(c: Conn, p: Peer, m: CriticalMsg): void {
    // ACK even duplicates: the first ACK may have been lost with the old connection.
    this.queueAck(c, m.id);
    const verdict = p.inbound!.window.admit(m.id);
    if (verdict !== 'new') {
      this.counters(m.type).duplicates++;
      if (verdict === 'stale') this.stats.staleIdDrops++;
      return;
    }
    this.deliver(p.index, m.type, m.payload);
  }

  private onGossip(p: Peer, m: GossipMsg): void {
    if (!this.gossipSeen.add(gossipKey(m.payload))) {
      this.counters(m.type).duplicates++;
      return;
    }
    this.deliver(p.index, m.type, m.payload);
    if (m.ttl === 0) {
      this.stats.gossipTtlExpired++;
      return;
    }
    if (!this.relayGossip || this.state !== 'started') return;
    let frame: Uint8Array | null = null;
    for (const q of this.peers.values()) {
      if (q === p || !q.conn) continue;
      frame ??= encodeAppFrame(MsgType.TXGOSSIP, m.ttl - 1, m.payload);
      this.enqueue(q, MsgType.TXGOSSIP, 0, frame);
      this.stats.gossipRelayed++;
    }
  }

  private queueAck(c: Conn, id: number): void {
    c.pendingAcks.push(id);
    if (c.pendingAcks.length >= MAX_ACK_IDS) return this.flushAcks(c);
    if (c.ackHandle) return;
    const fire = (): void => {
      c.ackHandle = null;
      this.flushAcks(c);
    };
    c.ackHandle = this.o.ackDelayMs > 0 ? setTimeout(fire, this.o.ackDelayMs) : setImmediate(fire);
  }

  private flushAcks(c: Conn): void {
    if (c.ackHandle) {
      clearTimeout(c.ackHandle as NodeJS.Timeout);
      clearImmediate(c.ackHandle as NodeJS.Immediate);
      c.ackHandle = null;
    }
    if (c.pendingAcks.length === 0 || c.state !== 'open') return;
    const ids = c.pendingAcks;
    c.pendingAcks = [];
    this.writeControl(c, { type: MsgType.ACK, ids });
  }

  private deliver(from: number, type: AppMsgType, payload: Uint8Array): void {
    this.counters(type).delivered++;
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

  // ---- timers -------------------------------------------------------------------------------

  private onRetryTick(): void {
    const now = performance.now();
    for (const p of this.peers.values()) {
      if (!p.conn) continue;
      const { requeued, gaveUp } = p.queue.dueRetries(now);
      this.countDrops(gaveUp);
      if (requeued.length > 0) this.scheduleFlush(p);
    }
  }

  private onPingTick(): void {
    const now = performance.now();
    for (const c of [...this.conns]) {
      if (c.state !== 'open') continue;
      if (now - c.lastHeard > this.o.idleTimeoutMs) {
        this.stats.idleDisconnects++;
        this.closeConn(c);
        continue;
      }
      this.pingNonce = (this.pingNonce + 1) >>> 0;
      this.writeControl(c, { type: MsgType.PING, nonce: this.pingNonce });
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

  private counters(type: number) {
    return this.stats.byType[msgTypeName(type)!];
  }
}

function authError(message: string, field?: string): NetError {
  return new NetError('auth_failed', message, field);
}

function gossipKey(payload: Uint8Array): string {
  // 128 bits of SHA-256 are plenty to tell transactions apart in a bounded window.
  return createHash('sha256').update(payload).digest('base64').slice(0, 22);
}

function addHandler<T>(list: T[], h: T): () => void {
  list.push(h);
  return () => {
    const i = list.indexOf(h);
    if (i >= 0) list.splice(i, 1);
  };
}
