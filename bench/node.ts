// One real validator process, end to end: how close does committed TPS come to the Ed25519
// verification bound of one core, what latency does half that load see, and how long does a restart
// take with 100,000 committed transactions. Bounded: about 2 × duration + build + restarts.
// Run: node --import tsx bench/node.ts [--duration 30] [--restart-txs 100000] [--profile]
//   --profile runs the node under `node --cpu-prof` and prints its hottest functions.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FloodSummary } from '../src/cli/flood.ts';
import { loadFastVerifier } from '../src/crypto/fast-verify-node.ts';
import { nodeSigner } from '../src/rpc/node-signer.ts';
import { testClientSeed } from '../src/rpc/test-keys.ts';
import { CLI, createLocalnet, killAllNodes, logFields, NodeProcess, waitFor } from '../test/helpers/node-process.ts';
import { hotFunctions } from './lib/cpuprofile.ts';
import { jsonLine, median, sig, table, verdicts, type Target } from './lib/report.ts';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const DURATION = flag('duration', 30);
const RESTART_TXS = flag('restart-txs', 100_000);
const PROFILE = process.argv.includes('--profile');
const SENDERS = 64;
const log = (s: string): void => void process.stderr.write(`[bench/node] ${s}\n`);

// ---------------------------------------------------------------- (a) verification bound
/** One core's verifications per second, sampled `samples` times (the machine is shared: its speed drifts). */
async function verifyBound(samples = 3, ms = 700): Promise<{ name: string; samples: number[] }> {
  const v = await loadFastVerifier();
  if (!v) throw new Error('no fast Ed25519 verifier available (sodium-native or node:crypto)');
  const signers = Array.from({ length: 64 }, (_, i) => nodeSigner(testClientSeed(90_000 + i)));
  const items = Array.from({ length: 1024 }, (_, i) => {
    const msg = new Uint8Array(200).fill(i & 0xff);
    msg[0] = i >> 8;
    const s = signers[i % signers.length]!;
    return { pk: s.publicKey, msg, sig: s.sign(msg) };
  });
  for (let i = 0; i < 500; i++) v.verify(items[i % items.length]!.pk, items[i % items.length]!.msg, items[i % items.length]!.sig);
  const out: number[] = [];
  for (let r = 0; r < samples; r++) {
    let n = 0;
    const t0 = performance.now();
    const end = t0 + ms;
    while (performance.now() < end) {
      for (let k = 0; k < 256; k++) {
        const it = items[n++ % items.length]!;
        if (!v.verify(it.pk, it.msg, it.sig)) throw new Error('a valid signature failed to verify');
      }
    }
    out.push((n * 1000) / (performance.now() - t0));
  }
  return { name: v.name, samples: out };
}

// ---------------------------------------------------------------- helpers
function flood(url: string, rate: number, duration: number): Promise<FloodSummary> {
  return new Promise((resolve, reject) => {
    // Sign everything before the clock starts (at max rate: as many as one core could verify in the
    // window), and send big batches: the load generator shares this machine's two cores with the node,
    // and a generator that signs while it sends measures itself rather than the node.
    // validUntil stays valid for most of the chain's window (1,000 blocks), since signing ahead takes a while.
    const presign = rate > 0 ? rate * duration : Math.min(500_000, 16_000 * duration);
    const args = [CLI, 'flood', '--rpc', url, '--senders', String(SENDERS), '--rate', String(rate), '--duration', String(duration), '--drain', '10', '--presign', String(presign), '--margin', '900', '--batch', '500', '--concurrency', '16', '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (duration + 90) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as FloodSummary);
      } catch {
        reject(new Error(`flood exited ${code} without a JSON summary:\n${err}`));
      }
    });
  });
}

async function metricValue(node: NodeProcess, name: string): Promise<number> {
  const text = await node.client.metricsText();
  // Every series carries the chain_id label (and may carry others).
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function logHeight(dataDir: string): Promise<number> {
  const buf = await readFile(join(dataDir, 'blocks.log'));
  let n = 0;
  for (const b of buf) if (b === 0x0a) n++;
  return n;
}

/** Main thread (V8 thread id 0 in the file name): its hottest functions; worker threads: busy share. */
async function profileSummary(dir: string, label: string): Promise<string> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return `${label}: no .cpuprofile written (the process did not exit cleanly?)`;
  const tid = (f: string): number => Number(f.split('.').at(-3));
  const main = files.find((f) => tid(f) === 0) ?? files[0]!;
  const { totalMs, top } = hotFunctions(join(dir, main), 15);
  const workers = files
    .filter((f) => f !== main)
    .map((f) => {
      const w = hotFunctions(join(dir, f), 1000);
      const idle = w.top.filter((t) => t.name === '(idle)').reduce((a, t) => a + t.selfMs, 0);
      const busiest = w.top.find((t) => t.name !== '(idle)');
      return `worker thread ${tid(f)}: busy ${(((w.totalMs - idle) / Math.max(w.totalMs, 1)) * 100).toFixed(1)} % of ${(w.totalMs / 1000).toFixed(1)} s, top: ${busiest ? `${busiest.name} ${busiest.where}` : '-'}`;
    });
  return (
    `${label}: main thread ${join(dir, main)} (${(totalMs / 1000).toFixed(1)} s sampled)\n` +
    table(['function', 'where', 'self ms', 'self %'], top.map((t) => [t.name, t.where, t.selfMs.toFixed(0), t.selfPct.toFixed(1)])) +
    (workers.length ? `\n${workers.join('\n')}` : '')
  );
}

// ---------------------------------------------------------------- run
// The bound is sampled before the load and again after it, and its median used: a bound measured
// only once, at a moment the shared machine happened to be fast or slow, would skew the ratio.
const before = await verifyBound();
log(`verification bound (before the load): ${before.name} ${before.samples.map((x) => x.toFixed(0)).join(', ')} /s on one core`);

const net = await createLocalnet({ nodes: 1 });
const nets = [net];
const profDir = PROFILE ? await mkdtemp(join(tmpdir(), 'numchain-prof-')) : '';
const nodeArgs = (sub: string): string[] => (PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, sub)}`] : []);
let node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0), nodeArgs: nodeArgs('load'), label: 'bench node' });
const profiles: string[] = [];
try {
  await node.start();
  log(`node up at ${node.url}; flooding at max rate for ${DURATION} s`);
  const full = await flood(node.url, 0, DURATION);
  log(`full load: ${full.committedTps.toFixed(0)} tx/s committed, p50 ${full.latencyMs.p50} ms, p99 ${full.latencyMs.p99} ms`);
  const halfRate = Math.max(1, Math.floor(full.committedTps / 2));
  const half = await flood(node.url, halfRate, DURATION);
  log(`half load (${halfRate} tx/s): ${half.committedTps.toFixed(0)} tx/s committed, p99 ${half.latencyMs.p99} ms`);

  await node.stop(30_000);
  if (PROFILE) profiles.push(await profileSummary(join(profDir, 'load'), 'node under load (full + half)'));
  const after = await verifyBound(2);
  const boundSamples = [...before.samples, ...after.samples];
  const bound = { name: before.name, perSecond: median(boundSamples) };
  log(`verification bound (after the load): ${after.samples.map((x) => x.toFixed(0)).join(', ')} /s; median of all ${bound.perSecond.toFixed(0)}/s`);

  // (d) a fresh chain with RESTART_TXS committed transactions (the load phases above may have made
  // more), stopped, then timed from spawn until /health answers with the same height.
  const net2 = await createLocalnet({ nodes: 1 });
  nets.push(net2);
  node = new NodeProcess({ genesisPath: net2.genesisPath, index: 0, dataDir: net2.dataDir(0), label: 'bench node (build)' });
  await node.start();
  let committed = 0;
  const buildStart = Date.now();
  while (committed < RESTART_TXS && Date.now() - buildStart < 300_000) {
    const need = RESTART_TXS - committed;
    const secs = Math.min(120, Math.max(2, Math.ceil(need / Math.max(full.committedTps, 100))));
    log(`building a chain of ${RESTART_TXS} txs: ${committed} committed, flooding ${secs} s more`);
    await flood(node.url, 0, secs);
    committed = await metricValue(node, 'numchain_consensus_txs_committed_total');
  }
  await node.stop(30_000);
  const height = await logHeight(net2.dataDir(0));
  log(`stopped at height ${height} with ${committed} committed transactions; timing restarts`);

  const restarts: { ms: number; recoverMs: number; snapshot: number; replayed: number }[] = [];
  for (let i = 0; i < 2; i++) {
    node = new NodeProcess({ genesisPath: net2.genesisPath, index: 0, dataDir: net2.dataDir(0), nodeArgs: i === 0 ? nodeArgs('restart') : [], label: 'bench node (restart)' });
    const t0 = performance.now();
    node.spawn();
    await node.waitReady(60_000);
    await waitFor('the pre-stop height', async () => ((await node.client.health()).height >= height ? true : null), 60_000, 5);
    const ms = performance.now() - t0;
    const f = logFields(node.log, 'recovered')!;
    restarts.push({ ms, recoverMs: Number(f.ms), snapshot: Number(f.snapshot), replayed: Number(f.replayed) });
    await node.stop(30_000);
  }
  if (PROFILE) profiles.push(await profileSummary(join(profDir, 'restart'), 'node restart (first)'));
  const restartMs = Math.min(...restarts.map((r) => r.ms));

  const ratio = full.committedTps / bound.perSecond;
  const rows = [
    ['(a) Ed25519 verify, 1 core (median)', `${bound.perSecond.toFixed(0)} /s`, bound.name, `samples ${boundSamples.map((x) => x.toFixed(0)).join(', ')}`],
    ['(b) full load, committed TPS', `${full.committedTps.toFixed(0)} /s`, `${(ratio * 100).toFixed(1)} % of bound`, `p50 ${full.latencyMs.p50} ms  p99 ${full.latencyMs.p99} ms`],
    ['(b) full load, sent / committed', `${full.sent} / ${full.committed}`, `rejected ${full.rejectedTotal}`, JSON.stringify(full.rejected)],
    [`(c) half load (${halfRate}/s), committed TPS`, `${half.committedTps.toFixed(0)} /s`, '', `p50 ${half.latencyMs.p50} ms  p99 ${half.latencyMs.p99} ms`],
    [`(d) restart, ${committed} txs, height ${height}`, `${restartMs.toFixed(0)} ms`, restarts.map((r) => `${r.ms.toFixed(0)} ms`).join(', '), restarts.map((r) => `recover ${r.recoverMs} ms snap=${r.snapshot} replayed=${r.replayed}`).join('; ')],
  ];
  console.log(table(['measure', 'value', '', 'detail'], rows));
  const targets: Target[] = [
    { name: 'committed TPS / verify bound', value: ratio * 100, op: '>=', limit: 60, unit: '%' },
    { name: 'p99 at half load', value: half.latencyMs.p99, op: '<=', limit: 1000, unit: 'ms' },
    { name: `restart with ${Math.round(committed / 1000)}k txs`, value: restartMs, op: '<=', limit: 3000, unit: 'ms' },
  ];
  console.log('\n' + verdicts(targets));
  for (const p of profiles) console.log('\n' + p);
  console.log(
    jsonLine('node', {
      durationS: DURATION,
      senders: SENDERS,
      verifier: bound.name,
      verifyPerSecond: sig(bound.perSecond),
      verifySamples: boundSamples.map((x) => sig(x)),
      full: { committedTps: sig(full.committedTps), sentTps: sig(full.sentTps), p50Ms: full.latencyMs.p50, p99Ms: full.latencyMs.p99, sent: full.sent, committed: full.committed, rejected: full.rejected },
      ratioToBound: sig(ratio, 3),
      half: { rate: halfRate, committedTps: sig(half.committedTps), p50Ms: half.latencyMs.p50, p99Ms: half.latencyMs.p99 },
      restart: { txs: committed, height, ms: sig(restartMs), runs: restarts.map((r) => ({ ...r, ms: sig(r.ms) })) },
    }),
  );
} finally {
  await killAllNodes();
  for (const n of nets) await n.cleanup();
}
