// Admission of client batches shares the one event loop with consensus. Each batch does a few tens
// of ms of synchronous work (decode, admit), and a loop turn runs every handler that is ready, so
// with many batches in flight one turn grew to hundreds of ms and the proposer's 50 ms timer fired
// once a second: the node admitted far more than it could commit. The gate lets only `slots` batches
// work at once (two keep decoding and worker-pool verification overlapped) and queues at most
// `maxWaiting` more; beyond that a batch is refused at once so the client backs off.
export class AdmissionGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** batches refused because the wait queue was full */
  refused = 0;

  constructor(
    readonly slots: number,
    readonly maxWaiting: number,
  ) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError('slots must be an integer ≥ 1');
    if (!Number.isSafeInteger(maxWaiting) || maxWaiting < 0) throw new RangeError('maxWaiting must be an integer ≥ 0');
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves true once the caller holds a slot (it must call leave()), or false at once when full. */
  enter(): Promise<boolean> {
    if (this.active < this.slots) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.maxWaiting) {
      this.refused++;
      return Promise.resolve(false);
    }
    return new Promise((resolve) => this.waiting.push(() => resolve(true)));
  }

  leave(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.active--;
  }
}
