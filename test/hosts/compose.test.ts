// compose.yaml is the topology the namespace tests run: its four services, each with its command,
// environment and address, each in its own network namespace, from the homes `numchain testnet`
// made; they commit under a flood with equal state roots, every service's health check passes in
// its namespace, and the run leaves no namespace or rule behind. Containers themselves cannot run on
// these machines (docs/operators.md, "Containers").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { compareRootsAtCommonHeight, ReceiptWitness } from '../../src/cli/cluster/checks.ts';
import type { FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { evidence, finishScenario, say, waitUntil } from '../cluster/harness.ts';
import { DOCKERFILE, dockerfileExec, localArgv, readCompose } from './compose.ts';
import { skipReason, startHosts, type HostsRun } from './harness.ts';

let run: HostsRun | null = null;
let flood: FloodRun | null = null;
let witness: ReceiptWitness | null = null;
let passed = false;

test.after(async () => {
  witness?.stop();
  flood?.stop();
  if (run && !passed) console.log(await evidence(run.net));
  await run?.close();
});

test('compose.yaml: four validators, each its own service, address, data volume, health check and published API/metrics port', () => {
  const topo = readCompose();
  assert.equal(topo.services.map((s) => s.name), ['v0', 'v1', 'v2', 'v3']);
  assert.is(new Set(topo.services.map((s) => s.address)).size, 4, 'distinct addresses');
  topo.services.forEach((s, i) => {
    assert.equal(s.argv, ['node', '/app/bin/numchain.js', 'run', '--home', '/data'], `${s.name}: entrypoint + command`);
    assert.equal(s.volumes, [{ source: `./testnet/node-${i}`, target: '/data' }], `${s.name}: its own home as its data volume`);
    assert.ok(s.healthcheck?.some((a) => a.includes('http://127.0.0.1:26657/health')), `${s.name}: health check on /health`);
    assert.equal(s.ports, [`127.0.0.1:${26660 + i}:26657`], `${s.name}: API and /metrics published on the host's loopback`);
  });
  const df = readFileSync(DOCKERFILE, 'utf8');
  assert.match(df, /^FROM node:20-slim\b/m);
  assert.equal(dockerfileExec(df, 'ENTRYPOINT'), ['node', '/app/bin/numchain.js']);
  assert.equal(dockerfileExec(df, 'CMD'), ['run', '--home', '/data']);
  assert.match(df, /^EXPOSE 26656 26657$/m);
});

test('compose services in their own namespaces: commit under a flood, equal state roots, health checks pass', async () => {
  if (skipReason('compose')) return;
  const t0 = Date.now();
  run = await startHosts();
  const { net, topo } = run;
  say('compose', `4 validators up past height 2 in ${Date.now() - t0} ms; ${topo.services[0]!.name} runs: ${net.hosts[0]!.command.join(' ')}\n${net.describe()}`);

  // Every validator runs in its own namespace, with the service's environment.
  for (let i = 0; i < net.size; i++) {
    const pid = net.pid(i)!;
    const ns = spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim();
    assert.is(ns, net.fabric.ns(topo.services[i]!.name), `${topo.services[i]!.name}: pid ${pid} runs in its namespace`);
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(topo.services[i]!.environment)) assert.ok(env.includes(`${k}=${v}`), `${topo.services[i]!.name}: ${k} set`);
  }
  // The hosts' addresses exist only inside the namespaces.
  const rootAddrs = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
  for (const s of topo.services) assert.not.ok(rootAddrs.includes(`inet ${s.address}/`), `${s.address} is not an address of the root namespace`);

  witness = new ReceiptWitness(net.clients);
  witness.start(300);
  flood = net.flood({ rate: 300, durationS: 12, senders: 32, drainS: 5 });
  await waitUntil(async () => witness!.seen.size > 50, 30_000, 'the first committed transactions');

  // Each service's own health check, run in its namespace as the container runtime would run it.
  for (let i = 0; i < net.size; i++) {
    const s = topo.services[i]!;
    const r = await net.execIn(i, localArgv(s.healthcheck!, s, run.dir));
    assert.is(r.code, 0, `${s.name}: health check exit code (${r.output.trim()})`);
  }
  say('compose', 'every service health check passed inside its namespace');

  const { summary, txs } = await finishScenario(net, flood, witness, 'compose');
  assert.ok(summary.committed > 0, 'the flood committed transactions');
  assert.ok(txs >= summary.committed, `chain holds ${txs} txs, flood saw ${summary.committed} committed`);
  const roots = await compareRootsAtCommonHeight(net.clients);
  assert.ok(roots.agree, `roots differ at height ${roots.height}: ${roots.roots.join(' ')}`);
  say('compose', `committed ${summary.committed} at ${summary.committedTps.toFixed(0)} tx/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms; state roots equal at height ${roots.height}`);
  passed = true;
});

test('the run leaves no namespace, link or nft rule behind', async () => {
  if (!run || !passed) return; // on a failure the after hook prints the logs first, then closes
  await run.close();
});

test.run();
