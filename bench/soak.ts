// Soak: a 4-validator localnet under a steady flood for a long time (default 30 min at half the
// verification bound), sampling every validator's RSS, V8 heap, open file descriptors, data-dir size
// and height, and the flood's p50/p99 per segment. Writes samples (JSONL) and a chart (HTML with
// inline SVG), and prints whether memory and latency stayed flat: the median of the last fifth of
// the run against the median of the second fifth (the first fifth is warm-up: caches, JIT, mempool).
//
// The flood runs as consecutive segments (each `numchain flood` pre-signs its transactions so that
// signing does not compete with the validators while it sends); the next segment signs while the
// current one still sends, so the load has no gaps.
// Bounded: SOAK_S + about a minute. Env: SOAK_S (1800), SOAK_RATE (tx/s; default half the bound
// measured at start, as bench/cluster.ts defines it), SOAK_SEGMENT_S (15), SOAK_SAMPLE_S (15),
// SOAK_OUT (directory for samples.jsonl and soak.html; default a fresh temp directory).
// Run: node --import tsx bench/soak.ts
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { keypairFromSeed, signEd25519 } from '../src/crypto/ed25519.ts';
import { loadFastVerifier } from '../src/crypto/fast-verify-node.ts';
import { startFlood, type FloodRun } from '../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../src/cli/cluster/localnet.ts';
import type { FloodSummary } from '../src/cli/flood.ts';
import { jsonLine, median, table } from './lib/report.ts';

const SOAK_S = Number(process.env.SOAK_S ?? 1800);
// Short segments: pre-signed transactions carry validUntil = height + margin, and at ~15 blocks/s a
// segment much longer than the chain's transaction window would send stale transactions the flood drops.
const SEGMENT_S = Number(process.env.SOAK_SEGMENT_S ?? 15);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_S ?? 15);
const OUT = process.env.SOAK_OUT ?? mkdtempSync(join(tmpdir(), 'numchain-soak-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
mkdirSync(OUT, { recursive: true });

/** One core's Ed25519 verifications per second (median of 3 half-second runs), as bench/cluster.ts. */
async function verifyPerCore(): Promise<number> {
  const v = await loadFastVerifier();
  if (!v) throw new Error('no fast verifier available');
  const kp = keypairFromSeed(new Uint8Array(32).fill(7));
  const items = Array.from({ length: 64 }, (_, i) => {
    const message = new TextEncoder().encode(`numchain soak ${i}`);
    return { message, signature: signEd25519(message, kp.secretKey) };
  });
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 500) for (const x of items) if (v.verify(kp.publicKey, x.message, x.signature)) n++;
    runs.push(n / ((performance.now() - t0) / 1000));
  }
  return median(runs);
}

interface NodeSample {
  rssMiB: number;
  heapMiB: number;
  /** memory V8 accounts outside its heap (ArrayBuffers, typed arrays such as the receipt table) */
  externalMiB: number;
  fds: number;
  diskMiB: number;
  height: number;
}
interface Sample {
  t: number;
  nodes: (NodeSample | null)[];
}
interface Segment {
  index: number;
  startT: number;
  endT: number;
  summary: FloodSummary | null;
  error: string;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function rssMiB(pid: number | null): number {
  if (pid === null) return NaN;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function dirBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  // The node renames and deletes files (pending blocks, snapshots) while this walks its directory.
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) total += dirBytes(p);
      else if (e.isFile()) total += statSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return total;
}

async function sample(net: Localnet, t: number): Promise<Sample> {
  const nodes = await Promise.all(
    net.clients.map(async (c, i): Promise<NodeSample | null> => {
      const [text, health] = await Promise.all([c.metricsText().catch(() => ''), c.health().catch(() => null)]);
      if (!health) return null;
      return {
        rssMiB: rssMiB(net.pid(i)),
        heapMiB: metric(text, 'numchain_nodejs_heap_size_used_bytes') / 2 ** 20,
        externalMiB: metric(text, 'numchain_nodejs_external_memory_bytes') / 2 ** 20,
        fds: metric(text, 'numchain_process_open_fds'),
        diskMiB: dirBytes(net.nodeDir(i)) / 2 ** 20,
        height: health.height,
      };
    }),
  );
  return { t, nodes };
}

/** Until flood's log (from byte `from` on) says it has signed and starts sending; the wait in ms. */
async function untilSigned(path: string, from: number, f: FloodRun): Promise<void> {
  while (f.child.exitCode === null && !/signed \d+/.test(existsSync(path) ? readFileSync(path, 'utf8').slice(from) : '')) await sleep(100);
}

const cores = Math.min(2, cpus().length);
const perCore = await verifyPerCore();
const bound = (cores * perCore) / 4;
const rate = Number(process.env.SOAK_RATE ?? Math.round(bound / 2));
process.stderr.write(`soak: ${SOAK_S} s at ${rate} tx/s (bound ${bound.toFixed(0)} tx/s for 4 validators), segments of ${SEGMENT_S} s, samples every ${SAMPLE_S} s → ${OUT}\n`);

const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 1000, maxTxsPerBlock: 2000 });
const samplesPath = join(OUT, 'samples.jsonl');
writeFileSync(samplesPath, '');
const samples: Sample[] = [];
const segments: Segment[] = [];
let t0 = 0;
try {
  net.startAll();
  await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
  t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const s = await sample(net, now());
      samples.push(s);
      appendFileSync(samplesPath, JSON.stringify(s) + '\n');
      const live = s.nodes.filter((n) => n !== null) as NodeSample[];
      process.stderr.write(`  t=${s.t.toFixed(0)} s heights ${s.nodes.map((n) => n?.height ?? '-').join(',')} rss ${live.map((n) => n.rssMiB.toFixed(0)).join(',')} MiB heap ${live.map((n) => n.heapMiB.toFixed(0)).join(',')} MiB ext ${live.map((n) => n.externalMiB.toFixed(0)).join(',')} MiB fds ${live.map((n) => n.fds).join(',')}\n`);
      const until = performance.now() + SAMPLE_S * 1000;
      while (!stop && performance.now() < until) await sleep(200);
    }
  })();
  // Segments back to back: segment k+1 is spawned (and signs) while segment k still sends.
  const logPath = join(net.dir, 'flood.log');
  const pending: Promise<void>[] = [];
  let k = 0;
  let signLeadS = 20;
  while (now() + SEGMENT_S <= SOAK_S + 1) {
    const index = k++;
    const from = existsSync(logPath) ? statSync(logPath).size : 0;
    const spawnedAt = now();
    const f = startFlood({ rpcUrls: net.rpcUrls, rate, durationS: SEGMENT_S, senders: 64, seedBase: 1000 + index * 64, drainS: 15, logPath, extraArgs: ['--presign', String(rate * SEGMENT_S), '--seed', String(index + 1)] });
    await untilSigned(logPath, from, f);
    const startT = now();
    signLeadS = Math.max(5, startT - spawnedAt + 3);
    pending.push(
      f.done.then((r) => {
        segments.push({ index, startT, endT: now(), summary: r.summary, error: r.error });
        const s = r.summary;
        process.stderr.write(`  segment ${index}: ${s ? `${s.committedTps.toFixed(0)} tx/s committed, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, uncommitted ${s.uncommitted}` : `failed: ${r.error.slice(0, 200)}`}\n`);
      }),
    );
    // Spawn the next segment so that it has signed when this one stops sending.
    const nextAt = startT + SEGMENT_S - signLeadS;
    while (now() < nextAt) await sleep(200);
  }
  await Promise.all(pending);
  stop = true;
  await sampler;
} finally {
  await net.close(3000);
}

// Flatness: second fifth against last fifth (medians over every node's samples in the window).
const span = samples.length ? samples[samples.length - 1]!.t : 0;
const window = (a: number, b: number) => samples.filter((s) => s.t >= a * span && s.t <= b * span);
const med = (ss: Sample[], f: (n: NodeSample) => number): number => median(ss.flatMap((s) => s.nodes.filter((n): n is NodeSample => n !== null).map(f)).filter(Number.isFinite));
const early = window(0.2, 0.4);
const late = window(0.8, 1);
const segs = [...segments].sort((a, b) => a.index - b.index);
const segMed = (lo: number, hi: number, f: (s: FloodSummary) => number): number => median(segs.filter((s) => s.summary && s.startT >= lo * span && s.startT <= hi * span).map((s) => f(s.summary!)));
const rows: [string, number, number][] = [
  ['RSS MiB (per validator)', med(early, (n) => n.rssMiB), med(late, (n) => n.rssMiB)],
  ['V8 heap used MiB', med(early, (n) => n.heapMiB), med(late, (n) => n.heapMiB)],
  ['external MiB', med(early, (n) => n.externalMiB), med(late, (n) => n.externalMiB)],
  ['open fds', med(early, (n) => n.fds), med(late, (n) => n.fds)],
  ['data dir MiB', med(early, (n) => n.diskMiB), med(late, (n) => n.diskMiB)],
  ['segment p50 ms', segMed(0.2, 0.4, (s) => s.latencyMs.p50), segMed(0.8, 1, (s) => s.latencyMs.p50)],
  ['segment p99 ms', segMed(0.2, 0.4, (s) => s.latencyMs.p99), segMed(0.8, 1, (s) => s.latencyMs.p99)],
  ['committed tx/s', segMed(0.2, 0.4, (s) => s.committedTps), segMed(0.8, 1, (s) => s.committedTps)],
];
console.log(`soak: ${span.toFixed(0)} s, ${segs.length} flood segments at ${rate} tx/s (bound ${bound.toFixed(0)}), ${samples.length} samples`);
console.log(table(['', '20–40 % of the run', 'last 20 %', 'late / early'], rows.map(([name, a, b]) => [name, a.toFixed(1), b.toFixed(1), (b / a).toFixed(2)])));
const committed = segs.reduce((a, s) => a + (s.summary?.committed ?? 0), 0);
const uncommitted = segs.reduce((a, s) => a + (s.summary?.uncommitted ?? 0), 0);
const failed = segs.filter((s) => !s.summary).length;
console.log(`transactions committed ${committed}, uncommitted after drain ${uncommitted}, failed segments ${failed}`);
const html = chartHtml(samples, segs, rate);
writeFileSync(join(OUT, 'soak.html'), html);
console.log(`chart: ${join(OUT, 'soak.html')}  samples: ${samplesPath}`);
console.log(jsonLine('soak', { seconds: Math.round(span), rate, bound: Math.round(bound), committed, uncommitted, failedSegments: failed, flat: Object.fromEntries(rows.map(([n, a, b]) => [n, { early: +a.toFixed(1), late: +b.toFixed(1) }])) }));

/** Seven small line charts (one line per validator, or per segment) as inline SVG. */
function chartHtml(ss: Sample[], sg: Segment[], r: number): string {
  const W = 560;
  const H = 180;
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const chart = (title: string, series: { pts: [number, number][]; color: string }[]): string => {
    const all = series.flatMap((s) => s.pts).filter(([, y]) => Number.isFinite(y));
    if (all.length === 0) return `<h3>${title}</h3><p>no data</p>`;
    const xMax = Math.max(...all.map(([x]) => x), 1);
    const yMax = Math.max(...all.map(([, y]) => y)) * 1.1 || 1;
    const px = (x: number): number => 40 + (x / xMax) * (W - 50);
    const py = (y: number): number => H - 20 - (y / yMax) * (H - 30);
    const lines = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.pts.filter(([, y]) => Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`).join('');
    const axes = `<line x1="40" y1="${H - 20}" x2="${W - 10}" y2="${H - 20}" stroke="#888"/><line x1="40" y1="10" x2="40" y2="${H - 20}" stroke="#888"/><text x="2" y="${py(yMax / 1.1) + 4}" font-size="10">${(yMax / 1.1).toFixed(0)}</text><text x="2" y="${H - 18}" font-size="10">0</text><text x="${W - 60}" y="${H - 4}" font-size="10">${xMax.toFixed(0)} s</text>`;
    return `<h3>${title}</h3><svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">${axes}${lines}</svg>`;
  };
  const perNode = (f: (n: NodeSample) => number) => [0, 1, 2, 3].map((i) => ({ color: colors[i]!, pts: ss.map((s): [number, number] => [s.t, s.nodes[i] ? f(s.nodes[i]!) : NaN]) }));
  const seg = (f: (s: FloodSummary) => number, color: string) => ({ color, pts: sg.filter((s) => s.summary).map((s): [number, number] => [s.endT, f(s.summary!)]) });
  return `<!doctype html><meta charset="utf-8"><title>NUMCHAIN soak</title><body style="font-family:sans-serif">
<h2>NUMCHAIN soak: 4 validators, ${r} tx/s, ${ss.length ? ss[ss.length - 1]!.t.toFixed(0) : 0} s</h2><p>Lines: validators 0–3 (blue, red, green, purple); latency: p50 green, p99 red, per flood segment.</p>
${chart('RSS (MiB)', perNode((n) => n.rssMiB))}${chart('V8 heap used (MiB)', perNode((n) => n.heapMiB))}${chart('external memory (MiB)', perNode((n) => n.externalMiB))}${chart('open file descriptors', perNode((n) => n.fds))}${chart('data directory (MiB)', perNode((n) => n.diskMiB))}
${chart('submit → commit latency per segment (ms)', [seg((s) => s.latencyMs.p50, '#2ca02c'), seg((s) => s.latencyMs.p99, '#d62728')])}${chart('committed tx/s per segment', [seg((s) => s.committedTps, '#1f77b4')])}
</body>`;
}
