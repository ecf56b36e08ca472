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
    for (let p = 0; p < parts; p++) {
      const slice = items.slice(p * per, (p + 1) * per);
      const id = this.nextId++;
      const w = this.workers[this.rr++ % this.workers.length];
      chunks.push(
        new Promise<Uint8Array>((resolve, reject) => {
          this.jobs.set(id, { resolve, reject });
          w.postMessage({ id, publicKeys: slice.map((x) => x.publicKey), messages: slice.map((x) => x.message), signatures: slice.map((x) => x.signature) });
        }),
      );
    }
    try {
      const outs = await Promise.all(chunks);
      const res: boolean[] = [];
      for (const o of outs) for (let i = 0; i < o.length; i++) res.push(o[i] === 1);
      return res;
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
