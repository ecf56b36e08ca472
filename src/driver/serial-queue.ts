// Runs async tasks strictly one after another, so the consensus core sees one input at a time and
// every action list is fully performed (fsyncs included) before the next input. Bounded: when more
// than `max` tasks wait, new droppable ones are refused and counted.
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  dropped = 0;
  /** tasks finished (a watchdog compares it over time: see src/node/queue-watchdog.ts) */
  completed = 0;
  constructor(
    private readonly max: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  get length(): number {
    return this.waiting;
  }

  /** Queue `task`. Returns false (and counts) when the queue is full and the task may be dropped. */
  push(task: () => Promise<void> | void, droppable = true): boolean {
    if (droppable && this.waiting >= this.max) {
      this.dropped++;
      return false;
    }
    this.waiting++;
    this.tail = this.tail.then(async () => {
      this.waiting--;
      try {
        await task();
      } catch (e) {
        this.onError(e);
      } finally {
        this.completed++;
      }
    });
    return true;
  }

  /** Resolves once everything queued so far has run. */
  drain(): Promise<void> {
    return this.tail;
  }
}
