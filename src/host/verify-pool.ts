// Node-only: Ed25519 fast-path verification on worker threads, so admitting transactions does not
// take the consensus thread's time. Answers are used exactly like the in-thread fast path: `true`
// means valid; `false` means "not confirmed", and the caller falls back to ZIP-215 on the main thread.
// Bounded: at most `maxPending` batches in flight; beyond that verify() answers null (do it inline).
//
// The pool is only a fast path, so it never makes a caller wait for good: a worker that exits (a
// crash, out of memory, process.exit) has its jobs answered null at once and is replaced, and a job
// not answered within `jobTimeoutMs` is answered null too (a late answer is dropped). The consensus
// queue awaits these answers, so either failure would otherwise stall a validator.
import { Worker } from 'node:worker_threads';

export interface SigItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface VerifyPoolOptions {
  /** batches in flight at most (default 256); beyond that verify() answers null */
  readonly maxPending?: number;
  /** OS priority of the worker threads (Linux: per thread; 0 = like the caller) */
  readonly nice?: number;
  /** a job not answered within this many ms is answered null (default 5,000) */
  readonly jobTimeoutMs?: number;
}

/** Counts for metrics; they only grow. */
export interface VerifyPoolCounters {
  /** batches refused because too many were in flight or the pool was closed */
  refused: number;
  /** workers that exited while the pool was open and were started again */
  workersReplaced: number;
  /** jobs answered null because their worker exited before answering */
  jobsFailed: number;
  /** jobs answered null because no answer came within jobTimeoutMs */
  jobsTimedOut: number;
}

/** One worker thread and what the pool knows about it. */
interface Slot {
  readonly worker: Worker;
  /** kernel thread id, once the worker has said it (Linux) */
  tid: number | null;
  /** the worker has run its start-up code (sent its thread id): it can be started again */
  started: boolean;
  /**
   * jobs posted to this worker and not answered, timed-out ones included: they still sit in its
   * queue, so this (not the pending map) bounds what a stuck worker holds
   */
  outstanding: number;
}

interface Job {
  readonly slot: Slot;
  readonly resolve: (out: Uint8Array | null) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export const DEFAULT_VERIFY_JOB_TIMEOUT_MS = 5_000;

export class VerifyPool {
  private readonly slots: Slot[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private rr = 0;
  private closed = false;
  readonly counters: VerifyPoolCounters = { refused: 0, workersReplaced: 0, jobsFailed: 0, jobsTimedOut: 0 };

  private readonly maxPending: number;
  private readonly nice: number;
  private readonly jobTimeoutMs: number;

  constructor(size: number, opts: VerifyPoolOptions = {}) {
    this.maxPending = opts.maxPending ?? 256;
    this.nice = opts.nice ?? 0;
    this.jobTimeoutMs = opts.jobTimeoutMs ?? DEFAULT_VERIFY_JOB_TIMEOUT_MS;
    if (!Number.isSafeInteger(this.jobTimeoutMs) || this.jobTimeoutMs < 1) throw new RangeError(`jobTimeoutMs must be an integer ≥ 1, got ${this.jobTimeoutMs}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** batches refused because too many were in flight (kept for callers that read it directly) */
  get refused(): number {
    return this.counters.refused;
  }

  /** Kernel thread ids of the live workers that have started (Linux; empty elsewhere), for CPU accounting. */
  get threadIds(): readonly number[] {
    const out: number[] = [];
    for (const s of this.slots) if (s.tid !== null) out.push(s.tid);
    return out;
  }

  get pending(): number {
    return this.jobs.size;
  }

  /** Live worker threads. */
  get size(): number {
    return this.slots.length;
  }

  /** Fast-path answers for each item, or null when the pool is saturated, closed, or a job went unanswered. */
  async verify(items: readonly SigItem[]): Promise<boolean[] | null> {
    if (items.length === 0) return [];
    if (this.closed || this.slots.length === 0 || this.jobs.size >= this.maxPending) {
      this.counters.refused++;
      return null;
    }
    // Split across workers so one batch uses every core the pool has.
    const parts = Math.min(this.slots.length, Math.ceil(items.length / 32));
    const per = Math.ceil(items.length / parts);
    const chunks: Promise<Uint8Array | null>[] = [];
    const packable: boolean[] = [];
    for (let p = 0; p < parts; p++) {
      const slice = items.slice(p * per, (p + 1) * per).filter((x) => {
        // Anything but a 32-byte key and a 64-byte signature is not the fast path's to accept.
        const ok = x.publicKey.length === 32 && x.signature.length === 64;
        packable.push(ok);
        return ok;
      });
      if (slice.length === 0) continue;
      const slot = this.pickSlot();
      // Every worker holds maxPending unanswered jobs (stuck): do it inline rather than queue more.
      if (slot === null) {
        this.counters.refused++;
        return null;
      }
      chunks.push(this.post(slot, slice));
    }
    const outs = await Promise.all(chunks);
    const said: boolean[] = [];
    for (const o of outs) {
      if (o === null) return null;
      for (let i = 0; i < o.length; i++) said.push(o[i] === 1);
    }
    let k = 0;
    return packable.map((ok) => ok && said[k++]!);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.jobs.keys()]) this.settle(id, null);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * For fault tests: make worker `index` fail as a real one can. `terminate`: ended from outside at
   * once; `exit`: calls process.exit() when it reaches this request in its queue (jobs queued
   * before it are answered, later ones never); `stall`: blocks for `ms` at that point, then goes on.
   */
  injectFaultForTest(index: number, fault: { readonly kind: 'terminate' | 'exit' } | { readonly kind: 'stall'; readonly ms: number }): void {
    const slot = this.slots[index];
    if (!slot) throw new RangeError(`no worker ${index}`);
    if (fault.kind === 'terminate') void slot.worker.terminate();
    else if (fault.kind === 'exit') slot.worker.postMessage({ exit: 70 });
    else if (fault.kind === 'stall') slot.worker.postMessage({ stallMs: fault.ms });
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./verify-worker.mjs', import.meta.url), { workerData: { nice: this.nice } });
    const slot: Slot = { worker, tid: null, started: false, outstanding: 0 };
    worker.on('message', (m: { id: number; out: Uint8Array } | { tid: number | null }) => {
      if ('tid' in m) {
        slot.tid = m.tid;
        slot.started = true;
        return;
      }
      slot.outstanding--;
      this.settle(m.id, m.out);
    });
    // An uncaught error in the worker ends it; 'exit' follows and does the clean-up.
    worker.on('error', () => {});
    worker.on('exit', () => this.onExit(slot));
    return slot;
  }

  private onExit(slot: Slot): void {
    for (const [id, job] of this.jobs) {
      if (job.slot !== slot) continue;
      this.counters.jobsFailed++;
      this.settle(id, null);
    }
    const at = this.slots.indexOf(slot);
    if (this.closed || at < 0) return;
    // One that died before running its start-up code would die again (e.g. its module fails to
    // load): its place is given up rather than restarted in a loop; with none left, verify() says null.
    if (!slot.started) {
      this.slots.splice(at, 1);
      return;
    }
    this.counters.workersReplaced++;
    this.slots[at] = this.spawn();
  }

  /** The next live worker in turn with room in its queue, or null. */
  private pickSlot(): Slot | null {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[this.rr++ % this.slots.length]!;
      if (s.outstanding < this.maxPending) return s;
    }
    return null;
  }

  private post(slot: Slot, items: readonly SigItem[]): Promise<Uint8Array | null> {
    const id = this.nextId++;
    const { buf, count } = packBatch(items);
    return new Promise<Uint8Array | null>((resolve) => {
      const timer = setTimeout(() => {
        if (!this.jobs.has(id)) return;
        this.counters.jobsTimedOut++;
        this.settle(id, null);
      }, this.jobTimeoutMs);
      timer.unref();
      this.jobs.set(id, { slot, resolve, timer });
      slot.outstanding++;
      slot.worker.postMessage({ id, count, buf }, [buf]);
    });
  }

  /** Answer job `id` (null: not confirmed) unless it has been answered already. */
  private settle(id: number, out: Uint8Array | null): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    clearTimeout(job.timer);
    job.resolve(out);
  }
}

/**
 * One buffer for a job, handed to the worker without a copy (transferred): the items' message views
 * usually point into whole received frames, which structured cloning would copy entirely for every
 * job. Layout: `count` u32 message end offsets (native byte order: the worker is in this process),
 * then per item its 32-byte key and 64-byte signature, then the messages back to back.
 */
function packBatch(items: readonly SigItem[]): { buf: ArrayBuffer; count: number } {
  const count = items.length;
  let total = 0;
  for (const x of items) total += x.message.length;
  const fixed = 4 * count;
  const buf = new ArrayBuffer(fixed + 96 * count + total);
  const ends = new Uint32Array(buf, 0, count);
  const bytes = new Uint8Array(buf);
  let pos = fixed + 96 * count;
  let end = 0;
  items.forEach((x, i) => {
    bytes.set(x.publicKey, fixed + 96 * i);
    bytes.set(x.signature, fixed + 96 * i + 32);
    bytes.set(x.message, pos);
    pos += x.message.length;
    end += x.message.length;
    ends[i] = end;
  });
  return { buf, count };
}
