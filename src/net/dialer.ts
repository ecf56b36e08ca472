// Who connects to whom, and when again: the dialing rule, knocks and reconnect backoff. Separate so
// the one rule that keeps two validators from racing each other's connections reads in one place.
//
// Connection rule: the validator with the lower index dials, the higher one accepts. If a second
// authenticated connection for the same peer appears (a restarted peer, a half-open old socket),
// the newest one wins and the older is closed. The higher index does not wait idle, though: while
// it has no connection it "knocks", i.e. dials the lower index, completes the handshake and hangs
// up; the lower index answers an authenticated knock by dialing at once instead of at the end of
// its backoff. Without knocks a restarted validator would stay unreachable from lower indices for up
// to reconnectMaxMs after it was back, and a second failure in that window (3 of 4 up, one link
// missing) would cost a second round timeout. A knock never becomes the connection, so there is
// never a race between two directions.
import { connect, type Socket } from 'node:net';
import { backoffDelay } from './backoff.ts';
import type { TransportStats } from './stats.ts';
import type { PeerTls } from './tls.ts';
import type { Resolved } from './transport-options.ts';
import type { Conn, Peer } from './peer.ts';

/** What the dialer needs from the transport around it. */
export interface DialerHost {
  readonly index: number;
  readonly o: Resolved;
  readonly stats: TransportStats;
  readonly tls: PeerTls | null;
  readonly random: () => number;
  isStarted(): boolean;
  /** Track our outbound socket to `p`. */
  open(socket: Socket, p: Peer, knock: boolean): Conn;
  /** Whether `p` is dialing us right now (its handshake is waiting for AUTH). */
  acceptingFrom(p: Peer): boolean;
  /** The socket is up: start the handshake on it. */
  hello(c: Conn, p: Peer): void;
}

export class Dialer {
  constructor(private readonly host: DialerHost) {}

  /** Dial `p` (or knock, towards a lower index) unless a connection, dial or backoff is under way. */
  maybeDial(p: Peer): void {
    const h = this.host;
    if (!h.isStarted() || p.conn || p.dialing || p.reconnectTimer || p.address.port === 0) return;
    const knock = p.index < h.index;
    if (knock) {
      // The lower index is already dialing us: nothing to wake up.
      if (h.acceptingFrom(p)) return;
      h.stats.knocksSent++;
    } else {
      if (p.everDialed) h.stats.reconnectAttempts++;
      p.everDialed = true;
    }
    const { tls } = h;
    const socket = tls ? tls.dial(p.address.host, p.address.port, p.index) : connect({ host: p.address.host, port: p.address.port, noDelay: true });
    const c = h.open(socket, p, knock);
    p.dialing = c;
    // With TLS, HELLO waits for the handshake and the key check (PeerTls destroys a wrong key first).
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      if (c.state !== 'connecting' || socket.destroyed) return;
      h.hello(c, p);
    });
  }

  /** Next dial (or, towards a lower index, knock) after a backoff delay. */
  scheduleReconnect(p: Peer): void {
    const h = this.host;
    if (!h.isStarted() || p.conn || p.dialing || p.reconnectTimer) return;
    const delay = backoffDelay(p.dialAttempt++, { baseMs: h.o.reconnectBaseMs, maxMs: h.o.reconnectMaxMs }, h.random);
    p.reconnectTimer = setTimeout(() => {
      p.reconnectTimer = null;
      this.maybeDial(p);
    }, delay);
  }

  /** `p` knocked and has no connection to us: dial it now, with a fresh backoff. */
  answerKnock(p: Peer): void {
    if (p.conn) return;
    p.dialAttempt = 0;
    this.cancel(p);
    this.maybeDial(p);
  }

  /** Forget a pending reconnect to `p`. */
  cancel(p: Peer): void {
    if (p.reconnectTimer) clearTimeout(p.reconnectTimer);
    p.reconnectTimer = null;
  }
}
