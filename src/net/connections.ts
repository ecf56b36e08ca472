// Every live socket, authenticated or not: framing, handshake timeout, control writes, keepalive,
// replacement of an older link and close. Separate so the handshake, dialer and delivery act on
// connections through a few calls and never touch socket events themselves.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { NetError } from './errors.ts';
import { FrameDecoder, encodeFrame } from './frame.ts';
import { MsgType, encodeMessage, type Message } from './messages.ts';
import { newChallenge } from './auth.ts';
import { countersOf, type TransportStats } from './stats.ts';
import type { PeerTls } from './tls.ts';
import type { Resolved } from './transport-options.ts';
import { isClosed, type Conn, type Peer } from './peer.ts';

/** What the connection table needs from the transport around it. */
export interface ConnectionsHost {
  readonly o: Resolved;
  readonly stats: TransportStats;
  readonly tls: PeerTls | null;
  isStarted(): boolean;
  /** One decoded frame body from `c`; throws a NetError to have `c` closed. */
  onBody(c: Conn, body: Uint8Array): void;
  /** `c` is now `p`'s authenticated connection; `fresh` when `p` had none before it. */
  onEstablished(c: Conn, p: Peer, fresh: boolean): void;
  /** `p` lost its authenticated connection. */
  onLost(p: Peer): void;
  /** `p` is left without a connection after our dial failed or its link dropped. */
  reconnect(p: Peer): void;
}

export class Connections {
  private readonly all = new Set<Conn>();
  private pendingHandshakes = 0;
  private pingNonce = 0;

  constructor(private readonly host: ConnectionsHost) {}

  /** Track a new socket; `peer` is known from the start only when we dialed. */
  open(socket: Socket, outbound: boolean, peer: Peer | null, knock = false): Conn {
    const o = this.host.o;
    const c: Conn = {
      socket,
      outbound,
      knock,
      decoder: new FrameDecoder({ maxFrameBytes: o.maxHandshakeFrameBytes }),
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
    this.all.add(c);
    c.handshakeTimer = setTimeout(() => {
      c.handshakeTimer = null;
      if (c.state !== 'open' && c.state !== 'closed') {
        this.host.stats.handshakeTimeouts++;
        this.close(c);
      }
    }, o.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('error', () => this.close(c));
    socket.on('close', () => this.close(c));
    return c;
  }

  /** A socket our server accepted; refused outright while too many handshakes are open. */
  accept(socket: Socket): void {
    const { stats, tls } = this.host;
    if (!this.host.isStarted() || this.pendingHandshakes >= this.host.o.maxPendingHandshakes) {
      if (this.host.isStarted()) stats.pendingHandshakesRefused++;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.pendingHandshakes++;
    this.open(tls ? tls.accept(socket) : socket, false, null);
  }

  close(c: Conn): void {
    if (c.state === 'closed') return;
    const stats = this.host.stats;
    const wasOpen = c.state === 'open';
    const knocked = c.state === 'knocked';
    if (!c.outbound && !wasOpen) this.pendingHandshakes--;
    c.state = 'closed';
    this.all.delete(c);
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
      if (!wasOpen && !knocked) stats.dialFailures++;
    }
    if (p.conn === c) {
      p.conn = null;
      stats.disconnects++;
      this.host.onLost(p);
    }
    // A failed inbound handshake says nothing about our own dialing; only our dials and lost
    // authenticated connections trigger a reconnect.
    if (!p.conn && (c.outbound || wasOpen)) this.host.reconnect(p);
  }

  closeAll(): void {
    for (const c of [...this.all]) this.close(c);
  }

  /** The handshake on `c` succeeded: it becomes `p`'s connection, replacing any older one. */
  establish(c: Conn, p: Peer): void {
    const stats = this.host.stats;
    if (c.handshakeTimer) clearTimeout(c.handshakeTimer);
    c.handshakeTimer = null;
    if (!c.outbound) this.pendingHandshakes--;
    if (p.dialing === c) p.dialing = null;
    c.state = 'open';
    c.decoder.setMaxFrameBytes(this.host.o.maxFrameBytes);
    const old = p.conn;
    p.conn = c;
    if (old) {
      stats.replacedConnections++;
      this.close(old); // p.conn is already c, so this is not reported as a disconnect
    }
    if (c.outbound) stats.connectsOut++;
    else stats.connectsIn++;
    this.host.onEstablished(c, p, old === null);
  }

  /** Whether `p` is in the middle of an inbound handshake with us (it is dialing us). */
  acceptingFrom(p: Peer): boolean {
    for (const c of this.all) if (!c.outbound && c.peer === p && c.state === 'await_auth') return true;
    return false;
  }

  /** Transport-level frames bypass the queue; a peer that stops reading is cut off. */
  write(c: Conn, msg: Message): void {
    if (c.state === 'closed') return;
    const { o, stats } = this.host;
    if (c.socket.writableLength > o.socketHighWaterBytes + o.maxFrameBytes) {
      stats.slowPeerDisconnects++;
      this.close(c);
      return;
    }
    const frame = encodeFrame(encodeMessage(msg));
    c.socket.write(frame);
    const k = countersOf(stats, msg.type);
    k.sent++;
    k.sentBytes += frame.byteLength;
  }

  /** Close links we have not heard from in idleTimeoutMs; ping the others so they hear from us. */
  onPingTick(): void {
    const now = performance.now();
    for (const c of [...this.all]) {
      if (c.state !== 'open') continue;
      if (now - c.lastHeard > this.host.o.idleTimeoutMs) {
        this.host.stats.idleDisconnects++;
        this.close(c);
        continue;
      }
      this.pingNonce = (this.pingNonce + 1) >>> 0;
      this.write(c, { type: MsgType.PING, nonce: this.pingNonce });
    }
  }

  private onData(c: Conn, chunk: Buffer): void {
    if (c.state === 'closed') return;
    c.lastHeard = performance.now();
    const stats = this.host.stats;
    try {
      c.decoder.push(chunk);
      for (let body = c.decoder.next(); body !== null; body = c.decoder.next()) {
        this.host.onBody(c, body);
        if (isClosed(c)) return; // a handler may have closed it
      }
    } catch (e) {
      if (e instanceof NetError) {
        if (e.code === 'oversize_frame') stats.oversizeFrames++;
        else if (e.code === 'auth_failed') stats.authFailures++;
        else stats.malformedFrames++;
      } else {
        // A bug in a handler path must cost one connection, not the process.
        stats.malformedFrames++;
      }
      this.close(c);
    }
  }
}
