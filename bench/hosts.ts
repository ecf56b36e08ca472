// Four validators on namespaced hosts (compose.yaml's services, each in its own network namespace,
// from `numchain testnet` homes) with 0, 10 and 50 ms one-way delay on every validator-to-validator
// link (the relay of src/cli/hosts/relay.ts), side by side with the loopback localnet of
// bench/cluster.ts in the same run: the same flood (64 senders, everything signed before the clock
// starts), committed TPS, p50/p99 submit-to-commit latency, and the time from killing the leader (the
// proposer of the latest block, kill -9, no flood) to the next commit and the longest commit gap in
// the 6 s after. Also the relay's own CPU, to show it is not what limits the numbers.
// Needs root (network namespaces); prints why and exits 0 otherwise.
// Env: BENCH_HOSTS_S (flood seconds, 15), BENCH_HOSTS_RATE (tx/s, 1000, bench/cluster.ts's first case),
// BENCH_HOSTS_DELAYS (ms list, "0,10,50"), BENCH_HOSTS_KILLS (2), BENCH_HOSTS_DIRECT=0 leaves out the namespaced case without the relay.
// Run: node --import tsx bench/hosts.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFlood, type FloodRun } from '../src/cli/cluster/flood-proc.ts';
import { BIN, Localnet } from '../src/cli/cluster/localnet.ts';
import type { FloodSummary } from '../src/cli/flood.ts';
import { HostsNet } from '../src/cli/hosts/hostnet.ts';
import { netnsUnavailable } from '../src/cli/hosts/netns.ts';
import type { RelayStats } from '../src/cli/hosts/relay.ts';
import type { HealthJson } from '../src/rpc/api.ts';
import type { NumchainClient } from '../src/rpc/client.ts';
import { freeAddresses, hostsFromCompose, readCompose } from '../test/hosts/compose.ts';
import { jsonLine, median, sig, table } from './lib/report.ts';

const FLOOD_S = Number(process.env.BENCH_HOSTS_S ?? 15);
const RATE = Number(process.env.BENCH_HOSTS_RATE ?? 1000);
const DELAYS = (process.env.BENCH_HOSTS_DELAYS ?? '0,10,50').split(',').map(Number);
const KILLS = Number(process.env.BENCH_HOSTS_KILLS ?? 2);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a case needs of a network: a loopback Localnet or a HostsNet. */
interface Net {
  readonly size: number;
  readonly clients: readonly NumchainClient[];
  readonly dir: string;
  health(i: number): Promise<HealthJson | null>;
  healthAll(): Promise<(HealthJson | null)[]>;
  waitFor(o: { which?: readonly number[]; minHeight?: number; timeoutMs?: number }): Promise<HealthJson[]>;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  start(i: number): void;
  close(graceMs?: number): Promise<void>;
}

interface Case {
  readonly name: string;
  readonly delayMs: number | null;
  summary: FloodSummary | null;
  error: string;
  /** ms from kill -9 of the latest proposer to the first commit on a survivor */
  killToCommit: number[];
  /** ms, longest gap between commits on a survivor in the 6 s after the kill */
  killGap: number[];
  relay: { cpuPct: number; mb: number; loopP99Ms: number } | null;
}

async function floodOnce(net: Net, flood: (o: { rate: number; durationS: number; senders: number; drainS: number; logPath: string; extraArgs: string[] }) => FloodRun): Promise<{ summary: FloodSummary | null; error: string }> {
  const logPath = join(net.dir, 'bench-flood.log');
  const from = existsSync(logPath) ? statSync(logPath).size : 0;
  const f = flood({ rate: RATE, durationS: FLOOD_S, senders: 64, drainS: 10, logPath, extraArgs: ['--presign', String(Math.min(500_000, Math.ceil(RATE * FLOOD_S)))] });
  // Counted from the first send, as bench/cluster.ts does: signing ahead of time is not measured.
  while (f.child.exitCode === null && !/signed \d+/.test(existsSync(logPath) ? readFileSync(logPath, 'utf8').slice(from) : '')) await sleep(50);
  return f.done;
}

async function leaderKills(net: Net, log: (s: string) => void): Promise<{ toCommit: number[]; gaps: number[] }> {
  const toCommit: number[] = [];
  const gaps: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const blocks = await Promise.all(net.clients.map((c) => c.block('latest').catch(() => null)));
    const latest = blocks.reduce((a, b) => (b && (!a || b.height > a.height) ? b : a), null);
    if (!latest) throw new Error('no latest block');
    const victim = latest.proposer as number;
    const watch = [...Array(net.size).keys()].find((i) => i !== victim)!;
    const base = (await net.health(watch))?.height ?? 0;
    const t0 = performance.now();
    await net.kill(victim, 'SIGKILL');
    let last = base;
    let lastAt = t0;
    let first = NaN;
    let worst = 0;
    while (performance.now() - t0 < 6000) {
      const h = (await net.health(watch))?.height ?? last;
      const now = performance.now();
      if (h > last) {
        if (Number.isNaN(first)) first = now - t0;
        worst = Math.max(worst, now - lastAt);
        last = h;
        lastAt = now;
      }
      await sleep(10);
    }
    worst = Math.max(worst, performance.now() - lastAt);
    toCommit.push(first);
    gaps.push(worst);
    log(`    kill #${k + 1}: validator ${victim}; first commit on validator ${watch} after ${first.toFixed(0)} ms, longest gap in 6 s ${worst.toFixed(0)} ms`);
    net.start(victim);
    for (let j = 0; j < 2; j++) {
      const top = Math.max(...(await net.healthAll()).map((h) => h?.height ?? 0));
      await net.waitFor({ which: [victim], minHeight: top + 2 * j, timeoutMs: 90_000 });
    }
  }
  return { toCommit, gaps };
}

const log = (s: string): void => void process.stderr.write(s + '\n');

async function runCase(name: string, delayMs: number | null, make: () => Promise<{ net: Net; flood: Parameters<typeof floodOnce>[1]; relayStats: () => Promise<RelayStats | null> }>): Promise<Case> {
  log(`  ${name}: flood ${RATE} tx/s for ${FLOOD_S} s, then ${KILLS} leader kills...`);
  const c: Case = { name, delayMs, summary: null, error: '', killToCommit: [], killGap: [], relay: null };
  const { net, flood, relayStats } = await make();
  try {
    await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
    const r0 = await relayStats();
    const r = await floodOnce(net, flood);
    const r1 = await relayStats();
    c.summary = r.summary;
    c.error = r.error;
    if (r0 && r1) c.relay = { cpuPct: (100 * (r1.cpuS - r0.cpuS)) / (r1.wallS - r0.wallS), mb: (r1.bytes - r0.bytes) / 1e6, loopP99Ms: r1.loopDelayP99Ms };
    const s = c.summary;
    log(s ? `    committed ${s.committed}/${s.sent} at ${s.committedTps.toFixed(0)} tx/s, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms` : `    flood failed: ${r.error}`);
    await sleep(2000);
    const k = await leaderKills(net, log);
    c.killToCommit = k.toCommit;
    c.killGap = k.gaps;
  } finally {
    await net.close(2000);
  }
  return c;
}

async function localnet(): Promise<Case> {
  return runCase('loopback localnet', null, async () => {
    const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 1000, maxTxsPerBlock: 2000 });
    net.startAll();
    return { net, flood: (o) => startFlood({ ...o, rpcUrls: net.rpcUrls }), relayStats: async () => null };
  });
}

async function hosts(delayMs: number | null): Promise<Case> {
  const name = delayMs === null ? 'netns, direct links' : `netns, ${delayMs} ms one-way`;
  return runCase(name, delayMs, async () => {
    const topo = readCompose();
    const dir = mkdtempSync(join(tmpdir(), 'numchain-bench-hosts-'));
    // The homes compose.yaml's header describes (genesis defaults: 50 ms blocks, 1000 ms base timeout, 2000 txs a block).
    const made = spawnSync(process.execPath, [BIN, 'testnet', '--hosts', topo.services.map((s) => s.address).join(','), '--rpc-listen-host', '0.0.0.0', '--out', join(dir, 'testnet')], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`numchain testnet failed: ${made.stderr}`);
    const [client, relay] = freeAddresses(topo, 2);
    const hn = await HostsNet.create({ hosts: hostsFromCompose(topo, dir), prefixLen: topo.prefixLen, clientAddress: client!, relayAddress: relay!, relay: delayMs === null ? undefined : { delayMs }, dir: join(dir, 'run'), keep: true });
    hn.startAll();
    const net: Net = {
      size: hn.size,
      clients: hn.clients,
      dir: hn.dir,
      health: (i) => hn.health(i),
      healthAll: () => hn.healthAll(),
      waitFor: (o) => hn.waitFor(o),
      kill: (i, sig) => hn.kill(i, sig),
      start: (i) => hn.start(i),
      close: async (g) => {
        await hn.close(g);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return { net, flood: (o) => hn.flood(o), relayStats: () => hn.relayStats() };
  });
}

const why = netnsUnavailable();
if (why !== null) {
  console.log(`bench/hosts: cannot run here: ${why}`);
  console.log(jsonLine('hosts', { skipped: why }));
  process.exit(0);
}
const t0 = Date.now();
const cases: Case[] = [await localnet()];
if (process.env.BENCH_HOSTS_DIRECT !== '0') cases.push(await hosts(null));
for (const d of DELAYS) cases.push(await hosts(d));

const fmt = (x: number | undefined | null): string => (x !== undefined && x !== null && Number.isFinite(x) ? x.toFixed(0) : '-');
console.log(`4 validators, flood ${RATE} tx/s for ${FLOOD_S} s (64 senders), ${KILLS} leader kills per case; ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
console.log(
  table(
    ['case', 'committed tx/s', 'p50 ms', 'p99 ms', 'uncommitted', 'kill → next commit ms', 'longest gap after kill ms', 'relay CPU', 'relay MB', 'relay loop p99 ms'],
    cases.map((c) => [
      c.name,
      c.summary ? c.summary.committedTps.toFixed(0) : 'failed',
      fmt(c.summary?.latencyMs.p50),
      fmt(c.summary?.latencyMs.p99),
      c.summary ? String(c.summary.uncommitted) : '-',
      c.killToCommit.map(fmt).join(', '),
      c.killGap.map(fmt).join(', '),
      c.relay ? `${c.relay.cpuPct.toFixed(1)} %` : '-',
      c.relay ? c.relay.mb.toFixed(1) : '-',
      c.relay ? c.relay.loopP99Ms.toFixed(1) : '-',
    ]),
  ),
);
for (const c of cases) if (!c.summary) console.log(`${c.name}: flood failed: ${c.error.slice(0, 300)}`);
console.log(
  jsonLine('hosts', {
    rate: RATE,
    floodSeconds: FLOOD_S,
    cases: cases.map((c) => ({
      name: c.name,
      delayMs: c.delayMs,
      committedTps: c.summary ? sig(c.summary.committedTps) : null,
      p50: c.summary?.latencyMs.p50 ?? null,
      p99: c.summary?.latencyMs.p99 ?? null,
      uncommitted: c.summary?.uncommitted ?? null,
      killToCommitMs: c.killToCommit.map((x) => (Number.isFinite(x) ? Math.round(x) : null)),
      killGapMs: c.killGap.map((x) => Math.round(x)),
      killGapMedianMs: Math.round(median(c.killGap)),
      relay: c.relay ? { cpuPct: sig(c.relay.cpuPct, 3), mb: sig(c.relay.mb, 3), loopP99Ms: sig(c.relay.loopP99Ms, 3) } : null,
    })),
  }),
);
