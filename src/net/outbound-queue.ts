// One peer's outbound messages, bounded by count and bytes, with the ACK/retry bookkeeping.
// Sans-IO: the transport calls take() when the socket can accept more, ack() on ACK frames,
// dueRetries(now) on a timer, and onConnect() when a fresh authenticated connection is up.
//
// Critical entries stay here from enqueue until ACKed, dropped on overflow, or written maxAttempts
// times without an ACK. Best-effort entries (TXGOSSIP) leave as soon as they are written.
// On overflow the oldest best-effort entry goes first; only when none is left does the oldest
// critical entry go. Every removal without delivery is returned to the caller to be counted.
import { Fifo } from './fifo.ts';
import type { AppMsgType } from './messages.ts';

export interface OutboundEntry {
  /** Message id for critical entries; 0 for best-effort ones. */
  readonly id: number;
  readonly type: AppMsgType;
  /** Length-prefixed frame; may be shared between the queues of several peers (broadcast). */
  readonly frame: Uint8Array;
  /** Number of times written to a socket. */
  attempts: number;
  /** `now` of the last write, -1 if never written. */
  sentAt: number;
  /** Currently waiting in the send order. */
  queued: boolean;
  /** Removed (acked, dropped or given up); ignore wherever still referenced. */
  dead: boolean;
}

export interface OutboundQueueOptions {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** A critical entry is written at most this many times (1 + retries). */
  readonly maxAttempts: number;
  /** Rewrite a critical entry if no ACK came this long after the last write. */
  readonly ackTimeoutMs: number;
}

export type DropReason = 'overflow' | 'retries_exhausted';
export interface Dropped {
  readonly entry: OutboundEntry;
  readonly reason: DropReason;
}

export class OutboundQueue {
  private readonly critical = new Map<number, OutboundEntry>(); // id order == insertion order
  private readonly bestEffort = new Fifo<OutboundEntry>(); // live best-effort entries, oldest first
  private sendOrder = new Fifo<OutboundEntry>();
  private deadInSendOrder = 0;
  private liveBytes = 0;

  constructor(private readonly opts: OutboundQueueOptions) {
    for (const k of ['maxCount', 'maxBytes', 'maxAttempts', 'ackTimeoutMs'] as const) {
      const v = opts[k];
      if (!Number.isSafeInteger(v) || v < (k === 'ackTimeoutMs' ? 0 : 1)) throw new RangeError(`${k} must be a positive integer, got ${v}`);
    }
  }

  /** Live entries (unacked critical + unsent best-effort). */
  get count(): number {
    return this.critical.size + this.bestEffort.length;
  }
  get bytes(): number {
    return this.liveBytes;
  }
  get unacked(): number {
    return this.critical.size;
  }
  /** Entries waiting to be written now. */
  get ready(): number {
    return this.sendOrder.length - this.deadInSendOrder;
  }

  /** Add a message. Returns what had to be dropped to respect the bounds (possibly the new entry). */
  enqueue(type: AppMsgType, id: number, frame: Uint8Array): Dropped[] {
    const e: OutboundEntry = { id, type, frame, attempts: 0, sentAt: -1, queued: true, dead: false };
    if (id > 0) this.critical.set(id, e);
    else this.bestEffort.push(e);
    this.sendOrder.push(e);
    this.liveBytes += frame.byteLength;
    const dropped: Dropped[] = [];
    while (this.count > this.opts.maxCount || this.liveBytes > this.opts.maxBytes) {
      const victim = this.bestEffort.peek() ?? this.critical.values().next().value;
      if (victim === undefined) break;
      this.remove(victim);
      dropped.push({ entry: victim, reason: 'overflow' });
    }
    return dropped;
  }

  /** The next entry to write, recording the attempt. */
  take(now: number): OutboundEntry | undefined {
    for (;;) {
      const e = this.sendOrder.shift();
      if (e === undefined) return undefined;
      if (e.dead) {
        this.deadInSendOrder--;
        continue;
      }
      e.queued = false;
      e.attempts++;
      e.sentAt = now;
      if (e.id === 0) {
        // Best-effort entries are taken in the order they were enqueued, so this is the FIFO head.
        this.bestEffort.shift();
        this.liveBytes -= e.frame.byteLength;
        e.dead = true;
      }
      return e;
    }
  }

  /** The peer confirmed delivery of `id`. Returns the entry if it was still pending. */
  ack(id: number): OutboundEntry | undefined {
    const e = this.critical.get(id);
    if (e === undefined) return undefined;
    this.remove(e);
    return e;
  }

  /** Requeue critical entries whose ACK is overdue; give up on those written maxAttempts times. */
  dueRetries(now: number): { requeued: OutboundEntry[]; gaveUp: Dropped[] } {
    const requeued: OutboundEntry[] = [];
    const gaveUp: Dropped[] = [];
    for (const e of this.critical.values()) {
      if (e.queued || e.sentAt < 0 || now - e.sentAt < this.opts.ackTimeoutMs) continue;
      if (e.attempts >= this.opts.maxAttempts) {
        gaveUp.push({ entry: e, reason: 'retries_exhausted' });
      } else {
        e.queued = true;
        this.sendOrder.push(e);
        requeued.push(e);
      }
    }
    for (const d of gaveUp) this.remove(d.entry);
    return { requeued, gaveUp };
  }

  /**
   * A new connection is up: whatever was written to the old one may be lost, so every unacked
   * critical entry goes out again first, in id order, followed by the waiting best-effort entries.
   */
  onConnect(): void {
    for (const e of this.critical.values()) e.queued = false;
    const order = new Fifo<OutboundEntry>();
    for (const e of this.critical.values()) {
      // Entries already written maxAttempts times are left for dueRetries() to give up on.
      if (e.attempts >= this.opts.maxAttempts) continue;
      e.queued = true;
      order.push(e);
    }
    for (const e of this.bestEffort.toArray()) order.push(e);
    this.sendOrder = order;
    this.deadInSendOrder = 0;
  }

  /** Remove everything (on stop); returns the live entries that were never delivered. */
  clear(): OutboundEntry[] {
    const live = [...this.critical.values(), ...this.bestEffort.toArray()];
    for (const e of live) e.dead = true;
    this.critical.clear();
    this.bestEffort.clear();
    this.sendOrder.clear();
    this.deadInSendOrder = 0;
    this.liveBytes = 0;
    return live;
  }

  private remove(e: OutboundEntry): void {
    if (e.dead) return;
    e.dead = true;
    this.liveBytes -= e.frame.byteLength;
    if (e.id > 0) this.critical.delete(e.id);
    else if (this.bestEffort.peek() === e) this.bestEffort.shift();
    else this.bestEffort.retain((x) => x !== e); // not reached: best-effort entries only leave from the head
    if (e.queued) {
      e.queued = false;
      this.deadInSendOrder++;
      // Dropped entries must not pile up in the send order while the peer is away.
      if (this.deadInSendOrder > 64 && this.deadInSendOrder * 2 > this.sendOrder.length) {
        this.sendOrder.retain((x) => !x.dead);
        this.deadInSendOrder = 0;
      }
    }
  }
}
