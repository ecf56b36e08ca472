// What proof of capacity costs the chain (issue 21 §6): committed TPS of a 4-validator localnet
// under the same flood, without PoC and with it (every validator builds its replica, commits to it,
// and answers every epoch's challenge from disk, PoP included), alternating fresh localnets in the
// same run so the ratio is not the machine's drift. Target: under 5 % lower with PoC.
// Run: node --import tsx bench/poc-tps.ts   (env BENCH_POC_RATE tx/s, default 1500; BENCH_POC_S, default 20;
// BENCH_POC_ROUNDS pairs, default 2; BENCH_POC_EPOCH blocks, default 50 so several challenges fall in a flood;
// answers are due half an epoch in)
import { existsSync, readFileSync, statSync } from 'node:fs';
import { startFlood } from '../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../src/cli/cluster/localnet.ts';
import type { FloodSummary } from '../src/cli/flood.ts';
import type { ValidatorsJson } from '../src/rpc/api.ts';
import { jsonLine, median, table } from './lib/report.ts';

const RATE = Number(process.env.BENCH_POC_RATE ?? 1500);
const FLOOD_S = Number(process.env.BENCH_POC_S ?? 20);
const ROUNDS = Number(process.env.BENCH_POC_ROUNDS ?? 2);
const EPOCH = Number(process.env.BENCH_POC_EPOCH ?? 50);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  readonly poc: boolean;
  readonly summary: FloodSummary;
  /** validator CPU seconds over the flood, all threads of all validators */
  readonly cpuS: number;
  /** PoC answers the four validators sent during the flood, and how many were on time */
  readonly answers: number;
  readonly ontime: number;
}

async function cpuSeconds(net: Localnet): Promise<number> {
  let sum = 0;
  for (const c of net.clients) {
    const text = await c.metricsText().catch(() => '');
    for (const m of text.matchAll(/^numchain_thread_cpu_seconds_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  }
  return sum;
}

async function pocCounts(net: Localnet): Promise<{ answers: number; ontime: number }> {
  let answers = 0;
  for (const c of net.clients) {
    const m = /^numchain_poc_answers_sent(?:\{[^}]*\})? (\S+)$/m.exec(await c.metricsText().catch(() => ''));
    answers += m ? Number(m[1]) : 0;
  }
  const v: ValidatorsJson = await net.clients[0]!.validators();
  const ontime = v.validators.reduce((n, x) => n + (x.poc?.history.filter((h) => h.outcome === 'ontime').length ?? 0), 0);
  return { answers, ontime };
}

async function run(poc: boolean): Promise<Run> {
  const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 1000, maxTxsPerBlock: 2000, epochLength: EPOCH, ...(poc ? { poc: { deadlineBlocks: Math.floor(EPOCH / 2) } } : {}) });
  try {
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
    process.stderr.write(`  PoC ${poc ? 'on ' : 'off'}: flood ${RATE} tx/s for ${FLOOD_S} s...\n`);
    const logPath = `${net.dir}/flood.log`;
    const from = existsSync(logPath) ? statSync(logPath).size : 0;
    const f = startFlood({ rpcUrls: net.rpcUrls, rate: RATE, durationS: FLOOD_S, senders: 64, drainS: 10, logPath, extraArgs: ['--presign', String(Math.ceil(RATE * FLOOD_S))] });
    // Count from the first send: signing happens before, and must not be measured.
    while (f.child.exitCode === null && !/signed \d+/.test(readFileSync(logPath, 'utf8').slice(from))) await sleep(50);
    const cpu0 = await cpuSeconds(net);
    const before = poc ? await pocCounts(net) : { answers: 0, ontime: 0 };
    const r = await f.done;
    const cpu1 = await cpuSeconds(net);
    const after = poc ? await pocCounts(net) : { answers: 0, ontime: 0 };
    if (r.summary === null) throw new Error(`flood failed: ${r.error}`);
    return { poc, summary: r.summary, cpuS: cpu1 - cpu0, answers: after.answers - before.answers, ontime: after.ontime - before.ontime };
  } finally {
    await net.close(2000);
  }
}

const runs: Run[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // Alternate the order, so neither side always runs on a warmer (or more loaded) machine.
  for (const poc of i % 2 === 0 ? [false, true] : [true, false]) runs.push(await run(poc));
}
const off = runs.filter((r) => !r.poc);
const on = runs.filter((r) => r.poc);
const tps = (rs: Run[]) => median(rs.map((r) => r.summary.committedTps));
const cpuPerTx = (rs: Run[]) => median(rs.map((r) => (1e6 * r.cpuS) / Math.max(1, r.summary.committed)));
console.log(`\nproof of capacity on a 4-validator localnet, ${RATE} tx/s offered for ${FLOOD_S} s, epochs of ${EPOCH} blocks (${ROUNDS} runs each, alternating):`);
console.log(table(
  ['PoC', 'committed tx/s', 'p50 ms', 'p99 ms', 'validator CPU µs/tx', 'answers sent', 'on-time outcomes'],
  runs.map((r) => [r.poc ? 'on' : 'off', r.summary.committedTps.toFixed(0), String(r.summary.latencyMs.p50), String(r.summary.latencyMs.p99), ((1e6 * r.cpuS) / Math.max(1, r.summary.committed)).toFixed(0), r.poc ? String(r.answers) : '-', r.poc ? String(r.ontime) : '-']),
));
const ratio = tps(on) / tps(off);
console.log(`PoC on / off: committed TPS × ${ratio.toFixed(3)} (medians; ${(100 * (1 - ratio)).toFixed(1)} % lower; target under 5 %): ${1 - ratio < 0.05 ? 'PASS' : 'FAIL'}; CPU per transaction × ${(cpuPerTx(on) / cpuPerTx(off)).toFixed(3)}`);
console.log(jsonLine('poc-tps', { rate: RATE, floodS: FLOOD_S, epochLength: EPOCH, tpsOff: tps(off), tpsOn: tps(on), ratio, runs: runs.map((r) => ({ poc: r.poc, tps: r.summary.committedTps, p99: r.summary.latencyMs.p99, cpuS: r.cpuS, answers: r.answers, ontime: r.ontime })) }));
