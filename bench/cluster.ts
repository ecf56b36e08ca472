// Localnet throughput and latency against the verification bound, measured in the same run.
//   bound = 2 cores × one core's Ed25519 verifications/s (fastest verifier here) ÷ 4 validators
// (every validator verifies every transaction, and four validators share the machine's 2 cores).
// Cases: 4 validators flooded at a few rates; 7 validators at one rate; time from killing the
// leader (the proposer of the latest block, kill -9) to the next commit on the survivors.
// Bounded: about 6–7 minutes. Env: BENCH_CLUSTER_S (flood seconds per case, default 15),
// BENCH_CLUSTER_RATES (comma list for 4 validators, default "1000" and 0.4, 0.5, 0.55, 0.6, 1 × bound), BENCH_CLUSTER_KILLS (3).
// Peer TLS (issue 19 §2): every case runs with TLS on (the default); one more pair of 4-validator
// runs at BENCH_CLUSTER_TLS_RATE (default 0.55 × bound) with TLS off and on gives the cost, in
// committed TPS and CPU per transaction. BENCH_CLUSTER_TLS_ONLY=1 runs just that pair.
// Run: node --import tsx bench/cluster.ts
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { keypairFromSeed, signEd25519 } from '../src/crypto/ed25519.ts';
import { loadFastVerifier } from '../src/crypto/fast-verify-node.ts';
import { VerifyPool, type SigItem } from '../src/host/verify-pool.ts';
import { stallEvidence } from '../src/cli/cluster/checks.ts';
import { startFlood } from '../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../src/cli/cluster/localnet.ts';
import type { FloodSummary } from '../src/cli/flood.ts';
import type { ThreadCpu } from '../src/metrics/thread-cpu.ts';
import { jsonLine, median, sig, table, verdicts, type Target } from './lib/report.ts';

const FLOOD_S = Number(process.env.BENCH_CLUSTER_S ?? 15);
const KILLS = Number(process.env.BENCH_CLUSTER_KILLS ?? 3);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 64 signed messages: what both verification rates below check, over and over. */
function signedSamples(): SigItem[] {
  const kp = keypairFromSeed(new Uint8Array(32).fill(7));
  return Array.from({ length: 64 }, (_, i) => {
    const message = new TextEncoder().encode(`numchain bench message ${i}`);
    return { publicKey: kp.publicKey, message, signature: signEd25519(message, kp.secretKey) };
  });
}

/** One core's verifications per second: the median of `samples` short runs (a shared machine drifts). */
async function verifyRate(samples = 3): Promise<{ name: string; perCore: number; samples: number[] }> {
  const v = await loadFastVerifier();
  if (!v) throw new Error('no fast verifier available');
  const items = signedSamples();
  const out: number[] = [];
  for (let r = 0; r < samples; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 500) {
      for (const x of items) if (v.verify(x.publicKey, x.message, x.signature)) n++;
    }
    out.push(n / ((performance.now() - t0) / 1000));
  }
  return { name: v.name, perCore: median(out), samples: out };
}

/**
 * Verifications per second with every core verifying at once (one pool worker per core, large
 * batches), for context only: the bound keeps the definition above (cores × one core's rate), but a
 * core alone may run faster than two together (shared clocks, caches), and in the cluster each
 * verification then costs more than the one-core sample says.
 */
async function parallelVerifyRate(cores: number): Promise<number> {
  const samples = signedSamples();
  const items = Array.from({ length: 512 * cores }, (_, i) => samples[i % samples.length]!);
  const pool = new VerifyPool(cores);
  try {
    await pool.verify(items);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) {
      const r = await pool.verify(items);
      if (r === null || !r.every((x) => x)) throw new Error('parallel verification sample failed');
      n += items.length;
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await pool.close();
  }
}

interface FloodCase {
  nodes: number;
  rate: number;
  summary: FloodSummary | null;
  error: string;
  heights: number[];
  stall: unknown;
  /** validators' CPU seconds by thread role over the flood (summed over validators); null off Linux */
  cpu: ThreadCpu | null;
  /** peer links over TLS 1.3 (--peer-tls) */
  tls: boolean;
}

const ROLES: readonly (keyof ThreadCpu)[] = ['consensus', 'verify', 'other'];

/** numchain_thread_cpu_seconds_total of every validator, summed; null when a node does not export it. */
async function clusterCpu(net: Localnet): Promise<ThreadCpu | null> {
  const sum = { consensus: 0, verify: 0, other: 0 };
  for (const c of net.clients) {
    const text = await c.metricsText().catch(() => '');
    for (const role of ROLES) {
      const m = new RegExp(`^numchain_thread_cpu_seconds_total\\{(?=[^}]*\\bthread="${role}")[^}]*\\} (\\S+)$`, 'm').exec(text);
      if (!m) return null;
      sum[role] += Number(m[1]);
    }
  }
  return sum;
}

/** Until the flood logging to `path` (from byte `from` on) has signed its transactions and starts sending. */
async function floodSigned(path: string, from: number, child: { exitCode: number | null }): Promise<void> {
  while (child.exitCode === null && !/signed \d+/.test(readFileSync(path, 'utf8').slice(from))) await sleep(50);
}

async function floodCase(nodes: number, rates: readonly number[], tls = true): Promise<FloodCase[]> {
  const net = await Localnet.create({ nodes, blockIntervalMs: 50, timeoutBaseMs: 1000, maxTxsPerBlock: 2000, runArgs: ['--peer-tls', tls ? 'on' : 'off'] });
  const out: FloodCase[] = [];
  try {
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
    for (const rate of rates) {
      process.stderr.write(`  ${nodes} validators (TLS ${tls ? 'on' : 'off'}), flood ${rate} tx/s for ${FLOOD_S} s...\n`);
      // Everything signed before the clock starts: a generator signing while it sends takes the cores it measures.
      const logPath = `${net.dir}/flood.log`;
      const logFrom = existsSync(logPath) ? statSync(logPath).size : 0;
      const f = startFlood({ rpcUrls: net.rpcUrls, rate, durationS: FLOOD_S, senders: 64, drainS: 10, logPath, extraArgs: ['--presign', String(Math.min(500_000, Math.ceil(rate * FLOOD_S)))] });
      // CPU is counted from the first send, as the flood counts its own.
      await floodSigned(logPath, logFrom, f.child);
      const cpuBefore = await clusterCpu(net);
      const r = await f.done;
      const cpuAfter = await clusterCpu(net);
      const cpu = cpuBefore && cpuAfter ? { consensus: cpuAfter.consensus - cpuBefore.consensus, verify: cpuAfter.verify - cpuBefore.verify, other: cpuAfter.other - cpuBefore.other } : null;
      const hs = (await net.healthAll()).map((h) => h?.height ?? -1);
      const s = r.summary;
      // Evidence when the cluster fell behind: consensus rounds, timeouts, mempool per node.
      const stalled = !s || s.committedTps < rate * 0.5 || s.latencyMs.p99 > 2000;
      out.push({ nodes, rate, summary: s, error: r.error, heights: hs, stall: stalled ? await stallEvidence(net.clients) : null, cpu, tls });
      await sleep(2000);
    }
  } finally {
    await net.close(2000);
  }
  return out;
}

async function leaderKill(): Promise<number[]> {
  const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 1000 });
  const times: number[] = [];
  try {
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
    for (let k = 0; k < KILLS; k++) {
      const blocks = await Promise.all(net.clients.map((c) => c.block('latest').catch(() => null)));
      const latest = blocks.reduce((a, b) => (b && (!a || b.height > a.height) ? b : a), null);
      if (!latest) throw new Error('no latest block');
      const victim = latest.proposer as number;
      const others = [...Array(net.size).keys()].filter((i) => i !== victim);
      // Kill right after it proposed: its next turn as leader decides how long the gap is, so
      // measure until the survivors have committed past the height where the gap was.
      const base = Math.max(...(await net.healthAll()).map((h) => h?.height ?? 0));
      const t0 = performance.now();
      await net.kill(victim, 'SIGKILL');
      // Biggest gap between consecutive commits on a survivor over the next few seconds.
      let last = base;
      let lastAt = t0;
      let worst = 0;
      while (performance.now() - t0 < 6000) {
        const h = (await net.health(others[0]!))?.height ?? last;
        const now = performance.now();
        if (h > last) {
          worst = Math.max(worst, now - lastAt);
          last = h;
          lastAt = now;
        }
        await sleep(10);
      }
      worst = Math.max(worst, performance.now() - lastAt);
      times.push(worst);
      process.stderr.write(`  kill #${k + 1}: validator ${victim}; longest commit gap on validator ${others[0]} in 6 s: ${worst.toFixed(0)} ms\n`);
      net.start(victim);
      // Back in consensus before the next kill, not just synced to where the others were: a victim
      // still catching up leaves 2 of 4 active, and the next kill would measure a double failure.
      for (let k = 0; k < 2; k++) {
        const top = Math.max(...(await net.healthAll()).map((h) => h?.height ?? 0));
        await net.waitFor({ which: [victim], minHeight: top + 2 * k, timeoutMs: 60_000 });
      }
    }
  } finally {
    await net.close(2000);
  }
  return times;
}

const verifyBefore = await verifyRate();
const cores = Math.min(2, cpus().length);
const parallelBefore = await parallelVerifyRate(cores);
// Flood rates come from the bound measured before the load; the ratios use the median of samples
// taken before and after it (the machine is shared, and its speed drifts during a run).
const rateBound4 = (cores * verifyBefore.perCore) / 4;
const rateBound7 = (cores * verifyBefore.perCore) / 7;
process.stderr.write(`verifier ${verifyBefore.name}: ${verifyBefore.perCore.toFixed(0)}/s per core → bound ${rateBound4.toFixed(0)} tx/s for 4 validators, ${rateBound7.toFixed(0)} for 7\n`);
// Half the bound is the load the target names; the full bound shows what overload does. Committed
// TPS is counted from the first send to the last commit, so a case offered at exactly half the bound
// reports a little under 50 % even when every transaction commits: 55 % and 60 % are where the
// target can be met, 40 % where p99 stands below it. (The bound measured before the load can also
// sit above the median of all samples on this shared machine, shifting every case.)
const rates4 = (process.env.BENCH_CLUSTER_RATES ?? ['1000', ...[0.4, 0.5, 0.55, 0.6, 1].map((f) => String(Math.round(rateBound4 * f)))].join(',')).split(',').map(Number);
const TLS_ONLY = process.env.BENCH_CLUSTER_TLS_ONLY === '1';
const tlsRate = Number(process.env.BENCH_CLUSTER_TLS_RATE ?? Math.round(rateBound4 * 0.55));
// Off first, then on, each in a fresh localnet: the same rate, so the ratio is the cost of TLS.
const tlsPair = [...(await floodCase(4, [tlsRate], false)), ...(await floodCase(4, [tlsRate], true))];
const cases = TLS_ONLY ? tlsPair : [...(await floodCase(4, rates4)), ...(await floodCase(7, [Math.min(1000, Math.round(rateBound7))])), ...tlsPair];
const gaps = TLS_ONLY ? [] : await leaderKill();
const verifyAfter = await verifyRate(2);
const parallel = median([parallelBefore, await parallelVerifyRate(cores)]);
const samples = [...verifyBefore.samples, ...verifyAfter.samples];
const verify = { name: verifyBefore.name, perCore: median(samples) };
const bound4 = (cores * verify.perCore) / 4;
const bound7 = (cores * verify.perCore) / 7;
process.stderr.write(`verification samples ${samples.map((x) => x.toFixed(0)).join(', ')} /s; median ${verify.perCore.toFixed(0)} → bound ${bound4.toFixed(0)} (4 validators), ${bound7.toFixed(0)} (7)\n`);

const fmt = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(0) : '-');
console.log(
  table(
    ['case', 'target tx/s', 'committed tx/s', '% of bound', 'p50 ms', 'p99 ms', 'uncommitted', 'rejected', 'heights'],
    cases.map((c) => {
      const b = c.nodes === 4 ? bound4 : bound7;
      const s = c.summary;
      return [
        `${c.nodes} validators`,
        String(c.rate),
        s ? s.committedTps.toFixed(0) : 'failed',
        s ? ((100 * s.committedTps) / b).toFixed(0) + '%' : '-',
        fmt(s?.latencyMs.p50),
        fmt(s?.latencyMs.p99),
        s ? String(s.uncommitted) : '-',
        s ? JSON.stringify(s.rejected) : c.error.slice(0, 60),
        c.heights.join(','),
      ];
    }),
  ),
);
// Where the CPU goes, per committed transaction (validators' /metrics by thread, the flood's own
// count). At half the bound, verification takes half the cores by definition, so everything else a
// transaction costs (every validator's consensus thread and V8 threads, plus the load generator)
// must fit in the other half: (cores / 2) / (bound / 2) = 4 / (one core's verifications per second).
const budgetUs = 4e6 / verify.perCore;
const cpuRows = cases.filter((c) => c.cpu && c.summary && c.summary.committed > 0);
if (cpuRows.length > 0) {
  console.log(`\nCPU per committed transaction, µs (per validator: consensus thread, other threads, verify workers; then the flood; then all but verification). Budget for all but verification at the 50 % target: ${budgetUs.toFixed(0)} µs.`);
  console.log(
    table(
      ['case', 'target tx/s', 'consensus/validator', 'other/validator', 'verify/validator', 'flood', 'all but verify', 'of budget'],
      cpuRows.map((c) => {
        const n = c.summary!.committed;
        const per = (x: number): number => (x * 1e6) / n;
        const notVerify = per(c.cpu!.consensus + c.cpu!.other) + per(c.summary!.cpuS);
        return [
          `${c.nodes} validators`,
          String(c.rate),
          (per(c.cpu!.consensus) / c.nodes).toFixed(0),
          (per(c.cpu!.other) / c.nodes).toFixed(0),
          (per(c.cpu!.verify) / c.nodes).toFixed(0),
          per(c.summary!.cpuS).toFixed(0),
          notVerify.toFixed(0),
          c.nodes === 4 ? `${((100 * notVerify) / budgetUs).toFixed(0)} %` : '-',
        ];
      }),
    ),
  );
}
{
  // TLS on vs off at the same offered rate: committed TPS ratio and CPU per transaction (all validator threads).
  const [off, on] = tlsPair;
  const cpuPerTx = (c: FloodCase | undefined): number => (c?.cpu && c.summary && c.summary.committed > 0 ? ((c.cpu.consensus + c.cpu.other + c.cpu.verify) * 1e6) / c.summary.committed : NaN);
  const tpsOff = off?.summary?.committedTps ?? NaN;
  const tpsOn = on?.summary?.committedTps ?? NaN;
  console.log(`\npeer TLS at ${tlsRate} tx/s offered, 4 validators:`);
  console.log(
    table(
      ['peer TLS', 'committed tx/s', 'p99 ms', 'validator CPU µs/tx (all threads, summed)'],
      [off, on].map((c) => [c?.tls ? 'on' : 'off', fmt(c?.summary?.committedTps), fmt(c?.summary?.latencyMs.p99), fmt(cpuPerTx(c))]),
    ),
  );
  // Signed changes: a negative cost is noise on a shared machine, not TLS making things faster.
  console.log(`TLS on / off: committed TPS × ${(tpsOn / tpsOff).toFixed(3)} (cost ${(100 * (1 - tpsOn / tpsOff)).toFixed(1)} %; target under 10 %), CPU per transaction × ${(cpuPerTx(on) / cpuPerTx(off)).toFixed(3)}`);
}
console.log(`\nleader kill → next commit (longest commit gap after kill -9 of the latest proposer): ${gaps.map((g) => g.toFixed(0) + ' ms').join(', ')}`);
for (const c of cases) if (c.stall) console.log(`stall evidence, ${c.nodes} validators at ${c.rate} tx/s: ${JSON.stringify(c.stall)}`);
// The target is one rate meeting both: ≥ 50 % of the bound with p99 ≤ 2 s. Reported: the best rate
// whose p99 holds, and (for what overload does) the best rate at any latency with its p99.
const ok4 = cases.filter((c) => c.nodes === 4 && c.summary !== null && c.summary.latencyMs.p99 <= 2000);
const bestOk4 = Math.max(0, ...ok4.map((c) => c.summary!.committedTps));
const best4 = Math.max(0, ...cases.filter((c) => c.nodes === 4 && c.summary).map((c) => c.summary!.committedTps));
const best4Case = cases.find((c) => c.nodes === 4 && c.summary?.committedTps === best4);
console.log(`best committed rate at any latency: ${best4.toFixed(0)} tx/s = ${((100 * best4) / bound4).toFixed(1)} % of the bound, p99 ${fmt(best4Case?.summary?.latencyMs.p99)} ms`);
const targets: Target[] = [
  { name: '4 validators: committed TPS with p99 ≤ 2 s / bound', value: (100 * bestOk4) / bound4, op: '>=', limit: 50, unit: '%' },
];
console.log(
  `context: all ${cores} cores verifying at once: ${parallel.toFixed(0)}/s = ${((100 * parallel) / (cores * verify.perCore)).toFixed(0)} % of ${cores} × one core's rate; ` +
    `the best rate with p99 ≤ 2 s is ${((100 * bestOk4) / (parallel / 4)).toFixed(1)} % of that all-cores bound (${(parallel / 4).toFixed(0)} tx/s). The verdict keeps the target's bound, ${cores} × one core's rate.`,
);
console.log('\n' + verdicts(targets));
console.log(
  jsonLine('cluster', {
    verifier: verify.name,
    verifyPerCore: sig(verify.perCore),
    verifySamples: samples.map((x) => sig(x)),
    parallelVerifyPerSecond: sig(parallel),
    cores,
    bound4: sig(bound4),
    bound7: sig(bound7),
    floodSeconds: FLOOD_S,
    cases: cases.map((c) => ({
      nodes: c.nodes,
      tls: c.tls,
      rate: c.rate,
      committedTps: c.summary ? sig(c.summary.committedTps) : null,
      p50: c.summary?.latencyMs.p50 ?? null,
      p99: c.summary?.latencyMs.p99 ?? null,
      uncommitted: c.summary?.uncommitted ?? null,
      rejected: c.summary?.rejectedTotal ?? null,
      cpuUsPerTx:
        c.cpu && c.summary && c.summary.committed > 0
          ? { consensus: sig((c.cpu.consensus * 1e6) / c.summary.committed), verify: sig((c.cpu.verify * 1e6) / c.summary.committed), other: sig((c.cpu.other * 1e6) / c.summary.committed), flood: sig((c.summary.cpuS * 1e6) / c.summary.committed) }
          : null,
    })),
    budgetUsPerTx: sig(budgetUs),
    leaderKillGapMs: gaps.map((g) => Math.round(g)),
  }),
);
