// One chaos run on real processes: a 4-validator localnet under a flood, its peer links through
// relays the runner owns (links.ts), the seeded fault schedule injected with signals and on the
// relays, everything healed, then the history checked (checker.ts).
import type { BlockJson } from '../../rpc/api.ts';
import { startFlood, type FloodRun } from '../cluster/flood-proc.ts';
import { Localnet } from '../cluster/localnet.ts';
import { checkHistory, type CheckResult, type HeightRow, type Observation, type Violation } from './checker.ts';
import { ChaosLinks } from './links.ts';
import { describeFault, makeSchedule, partitionSides, type Fault, type FaultKind } from './schedule.ts';

export interface ChaosOptions {
  readonly seed: number;
  readonly durationS: number;
  /** node data and logs */
  readonly dataDir: string;
  readonly rate: number;
  readonly resumeBoundMs: number;
  readonly log: (line: string) => void;
  /** set when the run must stop early (SIGINT): faults stop, everything is healed and closed */
  readonly aborted: () => boolean;
}

export interface ChaosReport {
  readonly seed: number;
  readonly schedule: readonly string[];
  readonly faults: Record<FaultKind, number>;
  readonly check: CheckResult;
  readonly violations: readonly Violation[];
  readonly flood: { sent: number; committed: number } | null;
  readonly resumeMs: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records what clients see committed: each live node's latest block, a few times a second. */
class Observer {
  readonly observed: Observation[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly lastHeight: number[];

  constructor(private readonly net: Localnet) {
    this.lastHeight = net.clients.map(() => 0);
  }

  private record(node: number, b: BlockJson): void {
    if (b.height <= this.lastHeight[node]!) return;
    this.lastHeight[node] = b.height;
    b.txids.forEach((txid, index) => {
      if (txid !== null) this.observed.push({ txid, node, height: b.height, index });
    });
  }

  async sample(): Promise<void> {
    await Promise.all(
      this.net.clients.map(async (c, i) => {
        // A stopped process answers nothing; asking it would only wait out the client timeout.
        if (!this.net.isRunning(i) || this.net.isPaused(i)) return;
        const b = await c.block('latest', { receipts: 'none' }).catch(() => null);
        if (b) this.record(i, b);
      }),
    );
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.sample().finally(() => (this.busy = false));
    }, everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

async function inject(net: Localnet, links: ChaosLinks, f: Fault, aborted: () => boolean): Promise<void> {
  const hold = async (): Promise<void> => {
    for (let t = 0; t < f.holdMs && !aborted(); t += 100) await sleep(Math.min(100, f.holdMs - t));
  };
  switch (f.kind) {
    case 'kill':
    case 'two-down':
      await Promise.all(f.nodes.map((n) => net.kill(n, 'SIGKILL')));
      await hold();
      for (const n of f.nodes) net.start(n);
      return;
    case 'pause':
      for (const n of f.nodes) net.pause(n);
      await hold();
      for (const n of f.nodes) net.resume(n);
      return;
    case 'restart':
      for (const n of f.nodes) await net.restart(n, 'SIGTERM');
      return;
    case 'partition': {
      const [a, b] = partitionSides(f, net.size);
      links.cut(a, b);
      await hold();
      links.heal();
      return;
    }
    case 'slow':
      for (const n of f.nodes) links.slow(n, f.delayMs ?? 100);
      await hold();
      links.heal();
      return;
  }
}

function healAll(net: Localnet, links: ChaosLinks): void {
  links.heal();
  for (let i = 0; i < net.size; i++) {
    if (net.isPaused(i)) net.resume(i);
    if (!net.isRunning(i)) net.start(i);
  }
}

async function maxHeight(net: Localnet): Promise<number> {
  const hs = await net.healthAll();
  return Math.max(0, ...hs.map((h) => h?.height ?? 0));
}

async function fetchRows(net: Localnet, toHeight: number, parallel = 8): Promise<HeightRow[]> {
  const one = async (i: number, h: number): Promise<BlockJson | null> => {
    // A node still replaying may miss a request: retry before calling the block missing.
    for (let attempt = 0; ; attempt++) {
      const b = await net.clients[i]!.block(h, { receipts: 'none' }).catch(() => null);
      if (b !== null || attempt >= 4) return b;
      await sleep(250 * (attempt + 1));
    }
  };
  const rows: HeightRow[] = [];
  for (let h0 = 1; h0 <= toHeight; h0 += parallel) {
    const hs: number[] = [];
    for (let h = h0; h <= Math.min(toHeight, h0 + parallel - 1); h++) hs.push(h);
    const got = await Promise.all(hs.map((h) => Promise.all(net.clients.map((_, i) => one(i, h)))));
    got.forEach((blocks, k) => {
      const ref = blocks.find((b) => b !== null);
      rows.push({
        height: hs[k]!,
        hashes: blocks.map((b) => b?.hash ?? null),
        stateRoots: blocks.map((b) => b?.stateRoot ?? null),
        txids: (ref?.txids ?? []).filter((t): t is string => t !== null),
      });
    });
  }
  return rows;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const durationMs = o.durationS * 1000;
  const schedule = makeSchedule({ seed: o.seed, durationMs, nodes: 4 });
  const faults: Record<FaultKind, number> = { kill: 0, pause: 0, restart: 0, 'two-down': 0, partition: 0, slow: 0 };
  let links: ChaosLinks | null = null;
  const net = await Localnet.create({
    nodes: 4,
    blockIntervalMs: 50,
    timeoutBaseMs: 500,
    dataDir: o.dataDir,
    keep: true,
    keySeed: o.seed,
    runArgsFor: (i) => links!.runArgs(i),
  });
  let flood: FloodRun | null = null;
  const observer = new Observer(net);
  try {
    links = await ChaosLinks.start(net.genesis.validators.map((v) => v.gossip));
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 60_000 });
    o.log(`localnet up in ${net.dir}; flood ${o.rate} tx/s; ${schedule.length} faults scheduled over ${o.durationS} s`);
    flood = startFlood({ rpcUrls: net.rpcUrls, rate: o.rate, durationS: o.durationS + 5, senders: 16, drainS: 5, logPath: `${net.dir}/flood.log` });
    observer.start(250);
    const t0 = Date.now();
    for (const f of schedule) {
      while (!o.aborted() && Date.now() - t0 < f.atMs) await sleep(Math.min(100, f.atMs - (Date.now() - t0)));
      if (o.aborted()) break;
      o.log(describeFault(f));
      await inject(net, links, f, o.aborted);
      faults[f.kind]++;
    }
    while (!o.aborted() && Date.now() - t0 < durationMs) await sleep(100);

    healAll(net, links);
    const healedAt = Date.now();
    const base = await maxHeight(net);
    let resumeMs: number | null = null;
    // Resumed means every validator, the restarted ones too, commits past the height at healing.
    while (Date.now() - healedAt < o.resumeBoundMs + 5_000) {
      const hs = await net.healthAll();
      if (hs.every((h) => h !== null && h.height > base)) {
        resumeMs = Date.now() - healedAt;
        break;
      }
      await sleep(200);
    }
    o.log(resumeMs === null ? `healed: commits did not resume on every node` : `healed: every node committed past height ${base} ${resumeMs} ms later`);

    // The flood ends by itself just after the faults (its summary is printed then); stop it only if it hangs.
    const fr = await Promise.race([flood.done, sleep(60_000).then(() => (flood!.stop(), flood!.done))]);
    observer.stop();
    await observer.sample();
    const top = await maxHeight(net);
    await net.waitFor({ minHeight: top, timeoutMs: 60_000 }).catch(() => undefined);
    const hs = await net.healthAll();
    const common = Math.min(...hs.map((h) => h?.height ?? 0));
    o.log(`checking heights 1..${common} on every node, ${observer.observed.length} observations`);
    const rows = await fetchRows(net, common);
    const check = checkHistory({ observed: observer.observed, rows, resumeMs, resumeBoundMs: o.resumeBoundMs });
    const crashed: Violation[] = net.exits.filter((e) => !e.expected).map((e) => ({ kind: 'crashed', detail: `v${e.index} (pid ${e.pid}) exited code=${e.code} signal=${e.signal}` }));
    return {
      seed: o.seed,
      schedule: schedule.map(describeFault),
      faults,
      check,
      violations: [...check.violations, ...crashed],
      flood: fr.summary ? { sent: fr.summary.sent, committed: fr.summary.committed } : null,
      resumeMs,
    };
  } finally {
    observer.stop();
    flood?.stop();
    await net.close(3000);
    await links?.close();
  }
}
