// `numchain flood`: a bounded load generator. Many sender keys (derived from seeds), transactions
// signed ahead of sending with node:crypto, batches POSTed to /txs round-robin across the given
// nodes at a target rate, commits detected by following blocks on the first node, and a summary of
// what was sent, accepted, committed and rejected with submit-to-commit latency percentiles.
// It always ends: sending stops after --duration, then at most --drain seconds wait for commits.
import type { TxFields, TxOpName } from '../chain/tx.ts';
import { MA_OP_NAMES } from '../engine/types.ts';
import type { BlockJson, ParamsJson } from '../rpc/api.ts';
import { NumchainClient, RpcError } from '../rpc/client.ts';
import { nodeHttpFetch } from '../rpc/node-http-fetch.ts';
import { nodeSigner, signTxFast, type FastSigner } from '../rpc/node-signer.ts';
import { testClientSeed } from '../rpc/test-keys.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';
import { requireRpc } from './tx.ts';

const FLAGS = {
  rpc: { type: 'string', help: 'comma-separated node HTTP API URLs (commits are followed on the first)' },
  senders: { type: 'number', help: 'sender keys, derived from seeds --seed-base ... + senders - 1', default: 64 },
  'seed-base': { type: 'number', help: 'first sender seed number', default: 1000 },
  rate: { type: 'number', help: 'target transactions per second (0 = as fast as possible)', default: 1000 },
  duration: { type: 'number', help: 'seconds of sending', default: 10 },
  drain: { type: 'number', help: 'seconds to wait for outstanding commits after sending stops (max 60)', default: 10 },
  batch: { type: 'number', help: 'transactions per POST /txs (capped at the node maxBatch)', default: 100 },
  concurrency: { type: 'number', help: 'requests in flight at once (default 4 per URL)' },
  'flush-ms': { type: 'number', help: 'at a fixed rate, longest a due transaction waits for its batch to fill (ms)', default: 50 },
  ops: { type: 'string', help: 'comma-separated ops to send: add,decay,mix,clip or all', default: 'all' },
  presign: { type: 'number', help: 'transactions signed before the clock starts (default min(rate × duration, 50000))' },
  margin: { type: 'number', help: 'validUntil = height + margin (default: half the chain txWindow)' },
  seed: { type: 'number', help: 'seed of the op generator (rows, vectors, factors)', default: 1 },
  json: { type: 'boolean', help: 'print the summary as one JSON line' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain flood --rpc URL[,URL...] [--senders 64] [--rate TPS] [--duration S] [--batch N] [--ops all] [--json]';
const SUMMARY = `Send signed transactions at a target rate for a fixed time, then wait (bounded) for their commits.
Prints live progress on stderr and a final summary: sent / accepted / committed / rejected by reason,
committed TPS over the flood window and p50/p90/p99/max submit-to-commit latency.
Exit 0 when at least one transaction committed (or none was sent), 1 otherwise, 2 usage.`;

const MAX_PRESIGN = 500_000;
const LATENCY_RESERVOIR = 200_000;
const OP_NAMES = MA_OP_NAMES;

/** xorshift32: the generator only needs cheap, reproducible variety. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

interface Signed {
  readonly bytes: Uint8Array;
  readonly txidHex: string;
  readonly validUntil: number;
}

class TxFactory {
  private readonly rnd: () => number;
  private k = 0;
  private nonce: number;

  constructor(
    private readonly params: ParamsJson,
    private readonly signers: readonly FastSigner[],
    private readonly ops: readonly TxOpName[],
    seed: number,
  ) {
    this.rnd = prng(seed);
    const a = new Uint32Array(1);
    globalThis.crypto.getRandomValues(a);
    this.nonce = a[0]!; // a fresh random base per run, so reruns never collide on txids
  }

  make(validUntil: number): Signed {
    const { ma, bound } = this.params;
    const r = this.rnd;
    const signer = this.signers[this.k % this.signers.length]!;
    const name = this.ops[this.k % this.ops.length]!;
    this.k++;
    this.nonce = (this.nonce + 1) >>> 0;
    const target = { shard: r() % ma.shards, layer: r() % ma.layers, slot: r() % ma.slots };
    const small = Math.max(1, Math.min(bound, 1000));
    let op: TxFields['op'];
    switch (name) {
      case 'add': {
        const vec = new Int32Array(ma.dim);
        for (let i = 0; i < vec.length; i++) vec[i] = (r() % (2 * small + 1)) - small;
        op = { op: 'add', ...target, vec };
        break;
      }
      case 'decay':
        op = { op: 'decay', ...target, factor: r() % (ma.q + 1) };
        break;
      case 'mix':
        op = { op: 'mix', ...target, src: r() % ma.slots, alpha: r() % (ma.q + 1) };
        break;
      case 'clip':
        op = { op: 'clip', ...target, bound: r() % (bound + 1) };
        break;
    }
    const s = signTxFast({ chainId: this.params.chainId, nonce: this.nonce, validUntil, op }, signer);
    return { bytes: s.bytes, txidHex: s.txidHex, validUntil };
  }
}

export interface FloodSummary {
  urls: string[];
  senders: number;
  targetRate: number;
  durationS: number;
  sent: number;
  accepted: number;
  committed: number;
  applied: number;
  /** committed but rejected by execution, by reason */
  execRejected: Record<string, number>;
  /** refused at admission or lost with a failed request, by reason */
  rejected: Record<string, number>;
  rejectedTotal: number;
  /** accepted but not seen in a block before the drain ended */
  uncommitted: number;
  /** pre-signed transactions dropped because their validUntil came too close */
  staleDropped: number;
  /** seconds from the first send to the last observed commit (or the end of sending) */
  windowS: number;
  sentTps: number;
  committedTps: number;
  latencyMs: { n: number; p50: number; p90: number; p99: number; max: number };
  heights: { start: number; end: number };
  /** this process's CPU seconds from the first send to the end (signing ahead of time excluded): the load generator shares the machine it measures */
  cpuS: number;
}

function parseOps(text: string): TxOpName[] {
  if (text === 'all') return [...OP_NAMES];
  const ops = text.split(',').map((s) => s.trim());
  for (const o of ops) if (!(OP_NAMES as readonly string[]).includes(o)) throw new UsageError(`--ops: unknown op "${o}" (use add, decay, mix, clip or all)`);
  return ops as TxOpName[];
}

function int(v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}]`);
  return v;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const command: Command = {
  summary: 'bounded load generator: signed transactions at a target rate, commit latency summary',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    const urls = (f.rpc ?? '').split(',').filter((u) => u !== '').map((u) => requireRpc(u));
    if (urls.length === 0) throw new UsageError('--rpc URL is required');
    const senders = int(f.senders, 'senders', 1, 100_000);
    const seedBase = int(f['seed-base'], 'seed-base', 0);
    if (!(f.rate >= 0)) throw new UsageError('--rate must be ≥ 0');
    if (!(f.duration > 0 && f.duration <= 86_400)) throw new UsageError('--duration must be in (0, 86400] seconds');
    if (!(f.drain >= 0 && f.drain <= 60)) throw new UsageError('--drain must be in [0, 60] seconds');
    const ops = parseOps(f.ops);
    const concurrency = f.concurrency === undefined ? 4 * urls.length : int(f.concurrency, 'concurrency', 1, 1024);
    if (!(f['flush-ms'] >= 0 && f['flush-ms'] <= 1000)) throw new UsageError('--flush-ms must be in [0, 1000]');
    const flushMs = f['flush-ms'];
    const http = nodeHttpFetch();
    const clients = urls.map((u) => new NumchainClient(u, { timeoutMs: 15_000, fetch: http }));
    const follower = clients[0]!;
    const log = (s: string): void => void process.stderr.write(s);

    const params = await follower.params();
    const batch = Math.min(int(f.batch, 'batch', 1), params.maxBatch);
    const margin = Math.max(2, Math.min(f.margin === undefined ? Math.floor(params.txWindow / 2) : int(f.margin, 'margin', 1), params.txWindow));
    // validUntil of the signed-ahead txs counts from here; the commit follower starts after signing.
    let height = (await follower.health()).height;

    const signers = Array.from({ length: senders }, (_, i) => nodeSigner(testClientSeed(seedBase + i)));
    const factory = new TxFactory(params, signers, ops, f.seed);
    const total = f.rate > 0 ? Math.ceil(f.rate * f.duration) : Infinity;
    const presign = Math.min(f.presign === undefined ? Math.min(total, 50_000) : int(f.presign, 'presign', 0), MAX_PRESIGN, total);
    // Ahead-of-time signing keeps the queue this deep while sending (about a second of traffic).
    const depth = Math.max(batch * concurrency * 2, f.rate > 0 ? Math.ceil(f.rate) : 20_000);

    const queue: Signed[] = [];
    let qHead = 0;
    let generated = 0;
    const queued = (): number => queue.length - qHead;
    const fill = (max: number): void => {
      const want = Math.min(max, total - generated);
      for (let i = 0; i < want; i++) queue.push(factory.make(height + margin));
      generated += Math.max(0, want);
    };
    if (presign > 0) {
      log(`signing ${presign} transactions ahead of time with ${senders} senders...\n`);
      const t0 = Date.now();
      for (let done = 0; done < presign; done += 5000) fill(Math.min(5000, presign - done));
      log(`signed ${presign} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    // Nothing sent yet, so none of our txs is in a block up to here: the follower starts above it
    // instead of walking through every (empty) block committed while we were signing.
    const startHeight = (await follower.health()).height;
    height = Math.max(height, startHeight);

    const sentAt = new Map<string, number>(); // txid → send time, for accepted-or-in-flight txs
    const rejected: Record<string, number> = {};
    const execRejected: Record<string, number> = {};
    const reservoir = new Float64Array(LATENCY_RESERVOIR);
    const rnd = prng(f.seed ^ 0x5bd1e995);
    let latN = 0;
    let latMax = 0;
    let sent = 0;
    let accepted = 0;
    let committed = 0;
    let applied = 0;
    let staleDropped = 0;
    let inflight = 0;
    let rr = 0;
    let lastCommitAt = 0;
    const reject = (reason: string, n = 1): void => {
      rejected[reason] = (rejected[reason] ?? 0) + n;
    };

    const start = Date.now();
    const cpuAtStart = process.cpuUsage();
    const sendEnd = start + f.duration * 1000;
    let lastSendAt = start;

    const sendBatch = async (txs: Signed[]): Promise<void> => {
      const client = clients[rr++ % clients.length]!;
      const t = Date.now();
      for (const tx of txs) sentAt.set(tx.txidHex, t);
      sent += txs.length;
      inflight++;
      try {
        const r = await client.submitBatch(txs.map((x) => x.bytes));
        r.results.forEach((res, i) => {
          if (res.accepted) accepted++;
          else {
            // A duplicate of something already pending is not a loss; anything else is.
            reject(res.code);
            sentAt.delete(txs[i]!.txidHex);
          }
        });
      } catch (e) {
        const reason = e instanceof RpcError ? (e.status ? `http_${e.status}_${e.code}` : e.code) : 'error';
        reject(reason, txs.length);
        for (const tx of txs) sentAt.delete(tx.txidHex);
      } finally {
        inflight--;
      }
    };

    // ---- commit follower: every block on the first node, in height order
    let following = true;
    const stopFollowing = new AbortController();
    const onBlock = (b: BlockJson): void => {
      height = Math.max(height, b.height);
      const now = Date.now();
      // Only the rejected receipts are fetched: a txid without one was applied.
      const receipts = new Map<string, { status?: unknown; reason?: unknown }>();
      for (const r of b.receipts ?? []) if (r.txid && r.status !== 'applied') receipts.set(r.txid, r);
      for (const id of b.txids) {
        if (id === null) continue;
        const t = sentAt.get(id);
        if (t === undefined) continue;
        sentAt.delete(id);
        committed++;
        lastCommitAt = now;
        const rc = receipts.get(id);
        if (rc === undefined || rc.status === 'applied') applied++;
        else execRejected[String(rc.reason ?? 'unknown')] = (execRejected[String(rc.reason ?? 'unknown')] ?? 0) + 1;
        const ms = now - t;
        latMax = Math.max(latMax, ms);
        if (latN < reservoir.length) reservoir[latN] = ms;
        else {
          const j = rnd() % (latN + 1);
          if (j < reservoir.length) reservoir[j] = ms;
        }
        latN++;
      }
    };
    // Several heights are requested at once (long-polls for the future ones), processed in order:
    // one request per block at a time falls behind a chain committing many blocks a second, and a
    // lagging follower would report its own lag as commit latency.
    const WINDOW = 8;
    const follow = (async () => {
      let h = startHeight + 1;
      const ahead = new Map<number, Promise<BlockJson | null>>();
      const fetchAt = (x: number) => follower.block(x, { waitMs: 1000, signal: stopFollowing.signal, receipts: 'rejected' }).catch(() => null);
      while (following) {
        for (let x = h; x < h + WINDOW; x++) if (!ahead.has(x)) ahead.set(x, fetchAt(x));
        const b = await ahead.get(h)!;
        ahead.delete(h);
        if (b !== null) {
          onBlock(b);
          h++;
        } else {
          // Not committed yet (or an error): forget the window's stale answers and ask again.
          for (const [x, p] of ahead) if ((await Promise.race([p, Promise.resolve(undefined)])) === null) ahead.delete(x);
          if (following) await sleep(20);
        }
      }
    })();

    // ---- progress
    const tty = process.stderr.isTTY === true;
    let lastCommitted = 0;
    let lastTick = start;
    const progress = (final = false): void => {
      const now = Date.now();
      const tps = ((committed - lastCommitted) * 1000) / Math.max(1, now - lastTick);
      lastCommitted = committed;
      lastTick = now;
      const rej = Object.values(rejected).reduce((a, b) => a + b, 0);
      const line = `t=${((now - start) / 1000).toFixed(1)}s h=${height} sent=${sent} accepted=${accepted} committed=${committed} rejected=${rej} pending=${sentAt.size} tps=${tps.toFixed(0)}`;
      log(tty ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
    };
    const progressTimer = setInterval(progress, tty ? 1000 : 5000);

    // ---- sending
    try {
      for (;;) {
        const now = Date.now();
        const last = now >= sendEnd;
        // Drop pre-signed txs that could expire before inclusion.
        while (queued() > 0 && queue[qHead]!.validUntil < height + 2) {
          qHead++;
          staleDropped++;
        }
        if (qHead > 65_536) {
          queue.splice(0, qHead);
          qHead = 0;
        }
        // At a fixed rate exactly rate × duration transactions go out; the last pass sends what is still due.
        let due = f.rate > 0 ? Math.min(total, Math.floor((f.rate * (Math.min(now, sendEnd) - start)) / 1000)) - sent : last ? 0 : Infinity;
        while (due > 0) {
          // Coalesce: a request per 5 ms tick would carry a handful of transactions, and then the
          // per-request cost (here and in the node) would dominate what a fixed rate measures.
          if (due < batch && !last && now - lastSendAt < flushMs) break;
          if (inflight >= concurrency) {
            if (!last || Date.now() > sendEnd + 2000) break;
            await sleep(2);
            continue;
          }
          if (queued() === 0) fill(Math.min(batch, due));
          const n = Math.min(batch, due, queued());
          if (n <= 0) break;
          const txs = queue.slice(qHead, qHead + n);
          qHead += n;
          due -= n;
          lastSendAt = now;
          void sendBatch(txs);
        }
        if (last) break;
        // Top up the queue in small slices so the event loop keeps serving responses.
        const sliceEnd = Date.now() + 5;
        while (queued() < depth && generated < total && Date.now() < sliceEnd) fill(Math.min(50, batch));
        await sleep(f.rate > 0 ? 5 : inflight >= concurrency ? 2 : 0);
      }
      // ---- drain: let in-flight requests finish, then wait for their commits (bounded)
      const drainEnd = Date.now() + f.drain * 1000;
      while (Date.now() < drainEnd && (inflight > 0 || sentAt.size > 0)) await sleep(50);
    } finally {
      following = false;
      stopFollowing.abort();
      clearInterval(progressTimer);
      progress(true);
    }
    await follow;

    const end = Date.now();
    const cpu = process.cpuUsage(cpuAtStart);
    const windowMs = Math.max(lastCommitAt, Math.min(end, sendEnd)) - start;
    const lat = reservoir.slice(0, Math.min(latN, reservoir.length)).sort();
    const rejectedTotal = Object.values(rejected).reduce((a, b) => a + b, 0);
    const s: FloodSummary = {
      urls,
      senders,
      targetRate: f.rate,
      durationS: f.duration,
      sent,
      accepted,
      committed,
      applied,
      execRejected,
      rejected,
      rejectedTotal,
      uncommitted: sentAt.size,
      staleDropped,
      windowS: windowMs / 1000,
      sentTps: sent / Math.max(0.001, (Math.min(end, sendEnd) - start) / 1000),
      committedTps: committed / Math.max(0.001, windowMs / 1000),
      latencyMs: { n: latN, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: latN ? latMax : NaN },
      heights: { start: startHeight, end: height },
      cpuS: (cpu.user + cpu.system) / 1e6,
    };
    http.close();
    if (f.json) process.stdout.write(JSON.stringify(s) + '\n');
    else {
      const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
      const reasons = (r: Record<string, number>): string => (Object.keys(r).length ? Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ') : 'none');
      process.stdout.write(
        [
          `flood: ${urls.length} node(s), ${senders} senders, target ${f.rate || 'max'} tx/s for ${f.duration} s, batches of ${batch}`,
          `sent ${sent}  accepted ${accepted}  committed ${committed} (applied ${applied})  uncommitted ${s.uncommitted}  stale-dropped ${staleDropped}`,
          `rejected at admission: ${reasons(rejected)}`,
          `rejected by execution: ${reasons(execRejected)}`,
          `committed TPS ${s.committedTps.toFixed(1)} over ${s.windowS.toFixed(1)} s (sent ${s.sentTps.toFixed(1)} tx/s), heights ${startHeight}→${height}`,
          `submit→commit latency ms: p50 ${fmt(s.latencyMs.p50)}  p90 ${fmt(s.latencyMs.p90)}  p99 ${fmt(s.latencyMs.p99)}  max ${fmt(s.latencyMs.max)}  (n=${latN})`,
          `flood CPU ${s.cpuS.toFixed(2)} s${committed > 0 ? ` (${((s.cpuS * 1e6) / committed).toFixed(0)} µs per committed tx)` : ''}`,
        ].join('\n') + '\n',
      );
    }
    return sent > 0 && committed === 0 ? 1 : 0;
  },
};
