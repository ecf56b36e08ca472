// Watches the replica's serial queue from outside it. Every await on the consensus path has a bound
// (signature jobs time out, a full disk retries with backoff and says so), but a bound can be
// wrong, and a queue that stands still while inputs wait looks from outside exactly like a
// validator that has quietly stopped. So: when no input has finished for `stallMs` while some are
// waiting, log once (with what might hold it) and raise a gauge; log again when it moves.
//
// Host-side on purpose: it runs on the process clock and never feeds anything back into the
// replica, so the simulator's seeds are untouched. A main thread blocked in a synchronous call
// (a hung fsync) cannot be watched from that same thread; the event-loop lag metrics show that.

export interface QueueReading {
  /** inputs waiting for the consensus core */
  readonly waiting: number;
  /** inputs finished so far (monotonic) */
  readonly completed: number;
}

export interface WatchdogSink {
  /** seconds the queue has stood still with inputs waiting (0 while it moves or is empty) */
  stalledSeconds(s: number): void;
  /** one more stall that reached stallMs */
  stall(): void;
  warn(msg: string, fields: Record<string, unknown>): void;
  info(msg: string, fields: Record<string, unknown>): void;
}

export class QueueWatchdog {
  private lastCompleted = -1;
  private lastMoved = 0;
  private stalled = false;
  stalls = 0;

  constructor(
    private readonly read: () => QueueReading,
    private readonly sink: WatchdogSink,
    /** what may be holding the queue, for the log line (storage full, pool state, ...) */
    private readonly context: () => Record<string, unknown>,
    readonly stallMs = 5000,
  ) {
    if (!Number.isFinite(stallMs) || stallMs <= 0) throw new RangeError(`stallMs must be positive, got ${stallMs}`);
  }

  /** Call periodically (the node: every second) with the process clock in ms. */
  check(nowMs: number): void {
    const { waiting, completed } = this.read();
    if (completed !== this.lastCompleted || waiting === 0) {
      if (this.stalled) {
        this.sink.info('consensus queue moving again', { stalledMs: nowMs - this.lastMoved, waiting });
        this.stalled = false;
      }
      this.lastCompleted = completed;
      this.lastMoved = nowMs;
      this.sink.stalledSeconds(0);
      return;
    }
    const still = nowMs - this.lastMoved;
    this.sink.stalledSeconds(still >= this.stallMs ? still / 1000 : 0);
    if (still >= this.stallMs && !this.stalled) {
      this.stalled = true;
      this.stalls++;
      this.sink.stall();
      this.sink.warn('consensus queue stalled: no input finished while inputs wait', { stalledMs: still, waiting, ...this.context() });
    }
  }
}
