// Shared pieces of the real-process cluster tests: a 4-validator localnet with small timeouts,
// a background flood, and the end-of-scenario consistency check (same chain everywhere, no txid
// twice, no reported receipt lost or moved, receipts identical on every node).
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { receiptsAgree, ReceiptWitness, scanChains, stallEvidence } from '../../src/cli/cluster/checks.ts';
import { startFlood, type FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import type { FloodSummary } from '../../src/cli/flood.ts';
import { Localnet, type LocalnetOptions } from '../../src/cli/cluster/localnet.ts';
import type { HealthJson } from '../../src/rpc/api.ts';
import type { NumchainClient } from '../../src/rpc/client.ts';

/** What the checks below need of a network: a Localnet, or validators on namespaced hosts (src/cli/hosts/hostnet.ts). */
export interface Cluster {
  readonly size: number;
  readonly clients: readonly NumchainClient[];
  health(i: number): Promise<HealthJson | null>;
  waitFor(opts: { which?: readonly number[]; minHeight?: number; timeoutMs?: number }): Promise<HealthJson[]>;
  logPath(i: number): string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function say(tag: string, msg: string): void {
  process.stdout.write(`  [${tag}] ${msg}\n`);
}

export async function startLocalnet(opts: LocalnetOptions = {}): Promise<Localnet> {
  const net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 500, ...opts });
  net.startAll();
  await net.waitFor({ minHeight: 2, timeoutMs: 60_000 });
  return net;
}

/** A flood in the background, sent to validators `which` (default all). */
export function background(net: Localnet, rate: number, durationS: number, which?: readonly number[], senders = 32): FloodRun {
  // The first URL is where flood follows commits; put the one most likely to survive first.
  const rpcUrls = which === undefined ? net.rpcUrls : which.map((i) => net.rpcUrls[i]!);
  return startFlood({ rpcUrls, rate, durationS, senders, drainS: 5, logPath: `${net.dir}/flood.log` });
}

export async function heights(net: Cluster, which?: readonly number[]): Promise<number[]> {
  const idx = which ?? [...Array(net.size).keys()];
  const hs = await Promise.all(idx.map((i) => net.health(i)));
  return hs.map((h) => h?.height ?? -1);
}

/** Poll until `cond` holds; returns the elapsed ms. Throws with `what` after timeoutMs. */
export async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The last lines of every node log and a few metrics, for a failure report. */
export async function evidence(net: Cluster, lines = 15): Promise<string> {
  const out: string[] = [];
  const m = await stallEvidence(net.clients);
  for (let i = 0; i < net.size; i++) {
    out.push(`--- node ${i} metrics: ${JSON.stringify(m[i])}`);
    try {
      out.push(...readFileSync(net.logPath(i), 'utf8').trimEnd().split('\n').slice(-lines));
    } catch {
      /* no log */
    }
  }
  return out.join('\n');
}

/**
 * All nodes running reach a common height ≥ minHeight; then the chains are compared block by block
 * on every node: same hash at every height, no txid twice, every receipt the witness saw still at
 * the same height/index, and a sample of receipts identical on every node.
 */
export async function checkConsistent(net: Cluster, witness: ReceiptWitness, tag: string, minHeight = 1): Promise<{ height: number; txs: number }> {
  const maxH = Math.max(minHeight, ...(await heights(net)));
  await net.waitFor({ minHeight: maxH, timeoutMs: 60_000 });
  const h = Math.min(...(await heights(net)));
  const scan = await scanChains(net.clients, h);
  assert.equal(scan.divergent.slice(0, 3), [], `${tag}: block hashes or state roots differ between nodes`);
  assert.equal(scan.duplicates.slice(0, 3), [], `${tag}: a txid is committed twice`);
  assert.equal(witness.conflicts.slice(0, 3), [], `${tag}: nodes reported one txid at different positions`);
  const lost = witness.lostOrMoved(scan.positions, h);
  assert.equal(lost.slice(0, 3), [], `${tag}: receipts reported earlier are lost or moved`);
  const sample = [...witness.seen.keys()].filter((t) => witness.seen.get(t)!.height <= h);
  const picked = sample.filter((_, k) => k % Math.max(1, Math.floor(sample.length / 100)) === 0).slice(0, 100);
  const bad = await receiptsAgree(net.clients, picked, scan.positions);
  assert.equal(bad.slice(0, 3), [], `${tag}: receipts differ between nodes`);
  say(tag, `consistent up to height ${h}: ${scan.txs} txs, ${witness.seen.size} witnessed receipts (${picked.length} checked on every node), no duplicates`);
  return { height: h, txs: scan.txs };
}

/**
 * The end of a scenario: the flood must have finished with a summary; then the witness takes its
 * last sample and every node's chain is checked (checkConsistent).
 */
export async function finishScenario(net: Cluster, flood: FloodRun, witness: ReceiptWitness, tag: string): Promise<{ summary: FloodSummary; txs: number }> {
  const result = await flood.done;
  assert.ok(result.summary !== null, result.error);
  const s = result.summary;
  say(tag, `flood: sent ${s.sent}, committed ${s.committed}, rejected ${JSON.stringify(s.rejected)}, p99 ${s.latencyMs.p99} ms`);
  witness.stop();
  await witness.sample();
  const { txs } = await checkConsistent(net, witness, tag);
  return { summary: s, txs };
}
