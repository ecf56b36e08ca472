// The metrics scraped by a real Prometheus server (Debian package prometheus), not only linted: a
// generated scrape configuration against a running 4-validator localnet under load, then the HTTP
// API of the server is asked for `up`, the rate of committed transactions and the height of each
// node, the CometBFT-style series with their chain_id label, and every query of the Grafana
// dashboard in docs/grafana/numchain.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { Localnet } from '../../src/cli/cluster/localnet.ts';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import { background, say, sleep, startLocalnet } from '../cluster/harness.ts';
import { freePort } from '../helpers/node-process.ts';

const PROMETHEUS = '/usr/bin/prometheus';

let net: Localnet;
let flood: FloodRun;
let prom: ChildProcess | null = null;
let promOut = '';
let dir = '';
let api = '';
const t0 = performance.now();
const secs = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

interface Series {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(q: string): Promise<Series[]> {
  const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Series[] } };
  assert.is(body.status, 'success', `${q}: ${body.error}`);
  return body.data!.result;
}

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; prometheus said: ${promOut.slice(-1500)}`);
    await sleep(500);
  }
}

test.before(async () => {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is needed (Debian package prometheus)`);
  net = await startLocalnet();
  flood = background(net, 200, 60, undefined, 16);
  dir = mkdtempSync(join(tmpdir(), 'numchain-prometheus-'));
  const targets = net.rpcUrls.map((u) => `'${new URL(u).host}'`).join(', ');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s', 'scrape_configs:', '  - job_name: numchain', '    metrics_path: /metrics', '    static_configs:', `      - targets: [${targets}]`, ''].join('\n'),
  );
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const take = (d: Buffer): void => {
    promOut = (promOut + d.toString()).slice(-20_000);
  };
  prom.stdout!.on('data', take);
  prom.stderr!.on('data', take);
  await until('prometheus to be ready', 30_000, async () => ((await fetch(`${api}/-/ready`)).ok ? true : null));
  say('prometheus', `ready after ${secs(t0)} (config ${join(dir, 'prometheus.yml')})`);
});

test.after(async () => {
  flood?.stop();
  if (prom && prom.exitCode === null) {
    const exited = new Promise((r) => prom!.once('exit', r));
    prom.kill('SIGTERM');
    const t = setTimeout(() => prom!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  say('prometheus', `${secs(t0)} in all`);
});

test('the real server scrapes every validator: up, committed transaction rate, height of each node', async () => {
  const chainId = net.genesis.chainId;
  const up = await until('all 4 targets up', 30_000, async () => {
    const r = await query('up{job="numchain"}');
    return r.length === 4 && r.every((s) => s.value[1] === '1') ? r : null;
  });
  assert.equal(up.map((s) => s.metric.instance).sort(), net.rpcUrls.map((u) => new URL(u).host).sort());
  const rate = await until('a committed-transaction rate on every node', 45_000, async () => {
    const r = await query(`rate(numchain_consensus_txs_committed_total{chain_id="${chainId}"}[10s])`);
    return r.length === 4 && r.every((s) => Number(s.value[1]) > 0) ? r : null;
  });
  const heights = await query(`numchain_consensus_height{chain_id="${chainId}"}`);
  assert.is(heights.length, 4);
  for (const s of heights) {
    assert.ok(Number(s.value[1]) > 0, `height of ${s.metric.instance}`);
    assert.is(s.metric.chain_id, chainId);
    assert.is(s.metric.job, 'numchain');
  }
  say('prometheus', `up: ${up.map((s) => `${s.metric.instance}=${s.value[1]}`).join(' ')}`);
  say('prometheus', `committed tx/s: ${rate.map((s) => `${s.metric.instance}=${Number(s.value[1]).toFixed(0)}`).join(' ')}`);
  say('prometheus', `height: ${heights.map((s) => `${s.metric.instance}=${s.value[1]}`).join(' ')}`);
});

test('the CometBFT-style series: validators, power, missing and byzantine validators, block interval and size', async () => {
  const c = `{chain_id="${net.genesis.chainId}"}`;
  const one = async (q: string): Promise<number[]> => (await query(q)).map((s) => Number(s.value[1]));
  assert.equal(await one(`max(numchain_consensus_validators${c})`), [4]);
  assert.equal(await one(`max(numchain_consensus_validators_power${c})`), [400]);
  assert.equal(await one(`count(numchain_consensus_validator_power${c}) by (instance)`), [4, 4, 4, 4]);
  const missing = await one(`numchain_consensus_missing_validators${c}`);
  assert.is(missing.length, 4);
  assert.ok(missing.every((m) => m >= 0 && m <= 1), `missing validators ${missing}: at most one vote is left out of a quorum of 3 of 4`);
  assert.equal(await one(`numchain_consensus_byzantine_validators${c}`), [0, 0, 0, 0]);
  const size = await until('block sizes', 20_000, async () => {
    const v = await one(`max(numchain_consensus_block_size_bytes${c})`);
    return v.length === 1 && v[0]! > 0 ? v[0]! : null;
  });
  const interval = await until('block intervals', 20_000, async () => {
    const v = await one(`histogram_quantile(0.5, sum by (le) (rate(numchain_consensus_block_interval_seconds_bucket${c}[10s])))`);
    return v.length === 1 && v[0]! > 0 ? v[0]! : null;
  });
  say('prometheus', `block size ${size} bytes, block interval p50 ${(interval * 1000).toFixed(0)} ms`);
});

test('every query of the Grafana dashboard (docs/grafana/numchain.json) returns series from the real server', async () => {
  const dash = JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'grafana', 'numchain.json'), 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[]; templating: { list: { name: string }[] } };
  assert.equal(dash.templating.list.map((v) => v.name), ['datasource', 'chain_id', 'instance']);
  let n = 0;
  for (const p of dash.panels) {
    for (const t of p.targets ?? []) {
      const q = t.expr.replaceAll('$chain_id', net.genesis.chainId).replaceAll('$instance', '.*').replaceAll('$__rate_interval', '10s');
      const r = await query(q);
      assert.ok(r.length > 0, `panel "${p.title}": ${q} returned nothing`);
      n++;
    }
  }
  say('prometheus', `${n} dashboard queries over ${dash.panels.filter((p) => p.type !== 'row').length} panels answered`);
});

test.run();
