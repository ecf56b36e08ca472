// Reliable delivery of critical messages: ids, per-peer queues flushed in corked batches, ACKs,
// retries and the receiver's dedup window. Separate because it is the transport's one guarantee.
//
// Delivery guarantee for critical messages: at most once per receiver instance, and delivered unless
// the sender's queue overflowed, the sender gave up after maxRetries rewrites, or either side
// restarted (queues and dedup windows live in memory only). Consensus must tolerate loss anyway.
import { performance } from 'node:perf_hooks';
import { NetError } from './errors.ts';
import { MsgType, MAX_ACK_IDS, encodeAppFrame, isAppType, type AppMsgType, type CriticalMsg, type Message } from './messages.ts';
import type { Dropped } from './outbound-queue.ts';
import { RecentIdWindow } from './dedup.ts';
import { countersOf, type TransportStats } from './stats.ts';
import type { Resolved } from './transport-options.ts';
import type { Conn, Peer } from './peer.ts';

/** What delivery needs from the transport around it. */
export interface DeliveryHost {
  readonly o: Resolved;
  readonly stats: TransportStats;
  readonly peers: ReadonlyMap<number, Peer>;
  isStopped(): boolean;
  write(c: Conn, msg: Message): void;
  /** Hand a message to the application. */
  deliver(from: number, type: AppMsgType, payload: Uint8Array): void;
  /** The frame for a TXGOSSIP we originate (gossip.ts remembers it so echoes are recognised). */
  ownGossipFrame(payload: Uint8Array): Uint8Array;
}

export class Delivery {
  private nextId = 1;

  constructor(private readonly host: DeliveryHost) {}

  /** Check an outgoing message and frame it once (shared by every peer it goes to). */
  prepare(type: AppMsgType, payload: Uint8Array): { id: number; frame: Uint8Array } {
    const o = this.host.o;
    if (this.host.isStopped()) throw new NetError('stopped', 'transport is stopped', 'state');
    if (!isAppType(type)) throw new NetError('bad_argument', `type ${String(type)} is not an application message type`, 'type');
    if (!(payload instanceof Uint8Array)) throw new NetError('bad_argument', 'payload must be a Uint8Array', 'payload');
    // Envelope overhead is at most 1 + 1 + 9 + 5 bytes.
    if (payload.byteLength + 16 > o.maxFrameBytes) {
      throw new NetError('payload_too_large', `payload of ${payload.byteLength} bytes does not fit in maxFrameBytes ${o.maxFrameBytes}`, 'payload');
    }
    if (type === MsgType.TXGOSSIP) return { id: 0, frame: this.host.ownGossipFrame(payload) };
    const id = this.nextId++;
    return { id, frame: encodeAppFrame(type, id, payload) };
  }

  /** Queue a framed message for `p` (id 0: best-effort); never blocks, overflow drops are counted. */
  enqueue(p: Peer, type: AppMsgType, id: number, frame: Uint8Array): void {
    this.countDrops(p.queue.enqueue(type, id, frame));
    this.scheduleFlush(p);
  }

  /** `c` is `p`'s new connection: a restarted sender gets a fresh dedup window, and the queue resends. */
  onConnect(c: Conn, p: Peer): void {
    if (p.inbound === null || p.inbound.epoch !== c.peerEpoch) {
      p.inbound = { epoch: c.peerEpoch, window: new RecentIdWindow(this.host.o.dedupWindow) };
    }
    p.queue.onConnect();
    this.scheduleFlush(p);
  }

  onAck(p: Peer, ids: readonly number[]): void {
    for (const id of ids) {
      const e = p.queue.ack(id);
      if (e) countersOf(this.host.stats, e.type).acked++;
    }
  }

  onCritical(c: Conn, p: Peer, m: CriticalMsg): void {
    // ACK even duplicates: the first ACK may have been lost with the old connection.
    this.queueAck(c, m.id);
    const verdict = p.inbound!.window.admit(m.id);
    if (verdict !== 'new') {
      countersOf(this.host.stats, m.type).duplicates++;
      if (verdict === 'stale') this.host.stats.staleIdDrops++;
      return;
    }
    this.host.deliver(p.index, m.type, m.payload);
  }

  /** Resend what is overdue an ACK to connected peers; give up (and count) what ran out of retries. */
  onRetryTick(): void {
    const now = performance.now();
    for (const p of this.host.peers.values()) {
      if (!p.conn) continue;
      const { requeued, gaveUp } = p.queue.dueRetries(now);
      this.countDrops(gaveUp);
      if (requeued.length > 0) this.scheduleFlush(p);
    }
  }

  /** Stop sending to `p`; everything still queued counts as dropped. */
  dropAll(p: Peer): void {
    if (p.flushHandle) clearImmediate(p.flushHandle);
    p.flushHandle = null;
    for (const e of p.queue.clear()) countersOf(this.host.stats, e.type).dropped++;
  }

  private countDrops(dropped: readonly Dropped[]): void {
    const stats = this.host.stats;
    for (const d of dropped) {
      countersOf(stats, d.entry.type).dropped++;
      if (d.reason === 'overflow') stats.overflowDrops++;
      else stats.retryExhaustedDrops++;
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
    const highWater = this.host.o.socketHighWaterBytes;
    s.cork();
    while (s.writableLength < highWater) {
      const e = p.queue.take(now);
      if (!e) break;
      s.write(e.frame);
      const k = countersOf(this.host.stats, e.type);
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

  private queueAck(c: Conn, id: number): void {
    c.pendingAcks.push(id);
    if (c.pendingAcks.length >= MAX_ACK_IDS) return this.flushAcks(c);
    if (c.ackHandle) return;
    const fire = (): void => {
      c.ackHandle = null;
      this.flushAcks(c);
    };
    const delay = this.host.o.ackDelayMs;
    c.ackHandle = delay > 0 ? setTimeout(fire, delay) : setImmediate(fire);
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
    this.host.write(c, { type: MsgType.ACK, ids });
  }
}
