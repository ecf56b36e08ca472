// Node-only: Ed25519 fast-path verification on worker threads, so admitting transactions does not
// take the consensus thread's time. Answers are used exactly like the in-thread fast path: `true`
// means valid; `false` means "not confirmed", and the caller falls back to ZIP-215 on the main thread.
// Bounded: at most `maxPending` batches in flight; beyond that verify() answers null (do it inline).
import { Worker } from 'node:worker_threads';

export interface SigItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

interface Job {
  readonly resolve: (out: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private rr = 0;
  private closed = false;
  /** batches refused because too many were in flight */
  refused = 0;
  private readonly tids: number[] = [];

  private readonly maxPending: number;

  /** `nice`: OS priority of the worker threads (Linux: per thread; 0 = like the caller). */
  constructor(size: number, opts: { readonly maxPending?: number; readonly nice?: number } = {}) {
    this.maxPending = opts.maxPending ?? 256;
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./verify-worker.mjs', import.meta.url), { workerData: { nice: opts.nice ?? 0 } });
      w.on('message', (m: { id: number; out: Uint8Array } | { tid: number | null }) => {
        if ('tid' in m) {
          if (m.tid !== null) this.tids.push(m.tid);
          return;
        }
        const job = this.jobs.get(m.id);
        if (!job) return;
        this.jobs.delete(m.id);
        job.resolve(m.out);
      });
      w.on('error', (e) => this.failAll(e));
      this.workers.push(w);
    }
  }

  /** Kernel thread ids of the workers that have started (Linux; empty elsewhere), for CPU accounting. */
  get threadIds(): readonly number[] {
    return this.tids;
  }

  get pending(): number {
    return this.jobs.size;
  }

  /** Fast-path answers for each item, or null when the pool is saturated or closed. */
  async verify(items: readonly SigItem[]): Promise<boolean[] | null> {
    if (items.length === 0) return [];
    if (this.closed || this.workers.length === 0 || this.jobs.size >= this.maxPending) {
      this.refused++;
      return null;
    }
    // Split across workers so one batch uses every core the pool has.
    const parts = Math.min(this.workers.length, Math.ceil(items.length / 32));
    const per = Math.ceil(items.length / parts);
    const chunks: Promise<Uint8Array>[] = [];
    const packable: boolean[] = [];
    for (let p = 0; p < parts; p++) {
      const slice = items.slice(p * per, (p + 1) * per).filter((x) => {
        // Anything but a 32-byte key and a 64-byte signature is not the fast path's to accept.
        const ok = x.publicKey.length === 32 && x.signature.length === 64;
        packable.push(ok);
        return ok;
      });
      if (slice.length === 0) continue;
      const id = this.nextId++;
      const w = this.workers[this.rr++ % this.workers.length];
      const { buf, count } = packBatch(slice);
      chunks.push(
        new Promise<Uint8Array>((resolve, reject) => {
          this.jobs.set(id, { resolve, reject });
          w.postMessage({ id, count, buf }, [buf]);
        }),
      );
    }
    try {
      const outs = await Promise.all(chunks);
      const said: boolean[] = [];
      for (const o of outs) for (let i = 0; i < o.length; i++) said.push(o[i] === 1);
      let k = 0;
      return packable.map((ok) => ok && said[k++]!);
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('verify pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private failAll(e: Error): void {
    for (const j of this.jobs.values()) j.reject(e);
    this.jobs.clear();
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
