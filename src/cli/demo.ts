// `numchain demo`: a 4-validator localnet on loopback, flooded for a fixed time, with a live view
// and a summary that checks every node reached the same state root. Always stops by itself and
// always takes its child processes down (also on Ctrl-C).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FloodSummary } from './flood.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import { compareRootsAtCommonHeight, type RootComparison } from './cluster/checks.ts';
import { startFlood, type FloodRun } from './cluster/flood-proc.ts';
import { portsFree } from './cluster/ports.ts';
import { LiveView } from './cluster/live.ts';
import { Localnet } from './cluster/localnet.ts';
import type { Command } from './main.ts';

const FLAGS = {
  nodes: { type: 'number', help: 'validators', default: 4 },
  duration: { type: 'number', help: 'seconds of flooding', default: 30 },
  rate: { type: 'number', help: 'target transactions per second', default: 500 },
  senders: { type: 'number', help: 'sender keys used by the flood', default: 64 },
  'data-dir': { type: 'string', help: 'where genesis, keys, node data and logs go (must be empty or new; default: a fresh temp dir)' },
  keep: { type: 'boolean', help: 'keep the data dir at the end (a given --data-dir is always kept)' },
  'base-port': { type: 'number', help: 'gossip port of validator 0; RPC ports start at base + 10, and validator 0 serves the dashboard there (default: 26650 when 26650–26669 are free, so the dashboard is http://127.0.0.1:26660/; else free ports)' },
  'block-interval': { type: 'number', help: 'ms a leader waits before proposing', default: 50 },
  'timeout-base': { type: 'number', help: 'base round timeout, ms', default: 1000 },
  json: { type: 'boolean', help: 'print the summary as one JSON line on stdout (live view goes to stderr)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain demo [--nodes 4] [--duration 30] [--rate 500] [--senders 64] [--data-dir DIR] [--keep] [--json]';
const SUMMARY = `Start a localnet of --nodes validators on 127.0.0.1 (genesis and keys generated in --data-dir), flood it with
signed transactions for --duration seconds (the code of \`numchain flood\`), show per-node height, committed TPS and
state root every second (and a dashboard in the browser at validator 0's RPC address, by default
http://127.0.0.1:26660/, which verifies and replays the chain itself), then print committed transactions, TPS, submit-to-commit latency percentiles and the final
height and state root of every node. The state roots are compared at the lowest height any node reached: exit 0 when
they agree, 1 on MISMATCH or when nothing committed, 130 when interrupted, 2 on usage errors.`;

export interface DemoSummary {
  nodes: number;
  durationS: number;
  rate: number;
  dataDir: string | null;
  flood: FloodSummary | null;
  committed: number;
  committedTps: number;
  latencyMs: FloodSummary['latencyMs'] | null;
  final: { index: number; height: number | null; stateRoot: string | null }[];
  commonHeight: number;
  rootsAgree: boolean;
  rootsAtCommonHeight: (string | null)[];
  unexpectedExits: { index: number; code: number | null; signal: string | null }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Gossip port of validator 0 by default: RPC (and the dashboard) then start at 26660, as in genesis/localnet-4. */
const DEFAULT_BASE_PORT = 26650;

export const command: Command = {
  summary: 'start a 4-validator localnet, flood it, show live heights/TPS/roots and a checked summary',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    if (!Number.isInteger(f.nodes) || f.nodes < 1 || f.nodes > 10) throw new UsageError('--nodes must be an integer in [1, 10]');
    if (!(f.duration > 0 && f.duration <= 3600)) throw new UsageError('--duration must be in (0, 3600] seconds');
    if (!(f.rate > 0)) throw new UsageError('--rate must be > 0');
    if (!Number.isInteger(f.senders) || f.senders < 1) throw new UsageError('--senders must be a positive integer');
    const dataDir = f['data-dir'];
    if (dataDir !== undefined && existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new UsageError(`--data-dir ${dataDir} is not empty (the demo generates a new genesis; use \`numchain multi\` to reuse one)`);
    }
    const out = (s: string): void => void (f.json ? process.stderr : process.stdout).write(s);
    const tty = (f.json ? process.stderr : process.stdout).isTTY === true;

    // The README's dashboard address, when nothing else holds those ports.
    const basePort = f['base-port'] ?? ((await portsFree(DEFAULT_BASE_PORT, Math.max(10, f.nodes) + f.nodes)) ? DEFAULT_BASE_PORT : undefined);
    const net = await Localnet.create({
      nodes: f.nodes,
      dataDir,
      keep: f.keep || dataDir !== undefined,
      basePort,
      blockIntervalMs: f['block-interval'],
      timeoutBaseMs: f['timeout-base'],
    });
    let flood: FloodRun | null = null;
    let interrupted = false;
    const wake: (() => void)[] = [];
    const onSignal = (): void => {
      interrupted = true;
      flood?.stop();
      for (const w of wake.splice(0)) w();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const unexpected: DemoSummary['unexpectedExits'] = [];
    net.onUnexpectedExit = (e) => {
      unexpected.push({ index: e.index, code: e.code, signal: e.signal });
      out(`\nvalidator ${e.index} exited unexpectedly (code=${e.code} signal=${e.signal}); log: ${net.logPath(e.index)}\n`);
    };
    const pause = (ms: number): Promise<void> =>
      interrupted ? Promise.resolve() : new Promise((r) => {
        const t = setTimeout(r, ms);
        wake.push(() => (clearTimeout(t), r()));
      });

    try {
      net.startAll();
      out(`started ${net.size} validators\n${net.describe()}\n`);
      const waiting = net.waitFor({ minHeight: 1, timeoutMs: 90_000 });
      waiting.catch(() => {}); // after an interrupt nobody awaits it any more
      const ready = Promise.race([waiting, new Promise<null>((r) => wake.push(() => r(null)))]);
      if ((await ready) === null || interrupted) return 130;
      out(`all ${net.size} validators committing; flooding at ${f.rate} tx/s for ${f.duration} s from ${f.senders} senders\n`);
      out(`dashboard: ${net.rpcUrls[0]}/  (open it in a browser: live height, TPS, validators, tensor heat map, block explorer; the page checks every QC and replays every block itself)\n`);

      flood = startFlood({ rpcUrls: net.rpcUrls, rate: f.rate, durationS: f.duration, senders: f.senders, drainS: 10, logPath: join(net.dir, 'flood.log') });
      const live = new LiveView(net, out, tty);
      let floodDone = false;
      const result = flood.done.finally(() => {
        floodDone = true;
        for (const w of wake.splice(0)) w();
      });
      while (!floodDone && !interrupted) {
        await live.tick(`flooding ${f.rate} tx/s`);
        await pause(1000);
      }
      if (interrupted) {
        out('\ninterrupted; stopping validators\n');
        return 130;
      }
      const { summary: fs, error } = await result;
      if (!fs) out(`flood failed: ${error}\n`);

      // Let a laggard finish applying what the others committed before comparing.
      let cmp: RootComparison = await compareRootsAtCommonHeight(net.clients);
      for (let k = 0; k < 10 && !interrupted; k++) {
        const hs = await net.healthAll();
        const heights = hs.map((h) => h?.height ?? 0);
        cmp = await compareRootsAtCommonHeight(net.clients, hs);
        if (Math.max(...heights) - Math.min(...heights) <= 2 || hs.some((h) => h === null)) break;
        await sleep(500);
      }
      const finals = await net.healthAll();
      const s: DemoSummary = {
        nodes: net.size,
        durationS: f.duration,
        rate: f.rate,
        dataDir: net.kept ? net.dir : null,
        flood: fs,
        committed: fs?.committed ?? 0,
        committedTps: fs?.committedTps ?? 0,
        latencyMs: fs?.latencyMs ?? null,
        final: finals.map((h, i) => ({ index: i, height: h?.height ?? null, stateRoot: h?.stateRoot ?? null })),
        commonHeight: cmp.height,
        rootsAgree: cmp.agree,
        rootsAtCommonHeight: [...cmp.roots],
        unexpectedExits: unexpected,
      };
      if (f.json) process.stdout.write(JSON.stringify(s) + '\n');
      else {
        const ms = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(0)} ms` : '-');
        const lines = [
          '',
          `demo summary (${net.size} validators, ${f.duration} s at ${f.rate} tx/s target)`,
          fs
            ? `  transactions: sent ${fs.sent}, accepted ${fs.accepted}, committed ${fs.committed} (applied ${fs.applied}), rejected ${fs.rejectedTotal}, uncommitted ${fs.uncommitted}`
            : '  transactions: flood failed',
          `  committed TPS: ${s.committedTps.toFixed(1)}`,
          `  submit→commit latency: p50 ${ms(fs?.latencyMs.p50)}  p90 ${ms(fs?.latencyMs.p90)}  p99 ${ms(fs?.latencyMs.p99)}  max ${ms(fs?.latencyMs.max)}`,
          ...s.final.map((n) => `  node ${n.index}: height ${n.height ?? 'down'}  state root ${n.stateRoot ?? '-'}`),
          cmp.agree
            ? `  state roots agree at height ${cmp.height}: ${cmp.roots.find((r) => r !== null) ?? '-'}`
            : `  MISMATCH at height ${cmp.height}: ${cmp.roots.map((r, i) => `n${i}=${r ?? 'no answer'}`).join(' ')}`,
          net.kept ? `  data dir kept: ${net.dir}` : '',
        ].filter((l) => l !== '');
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!cmp.agree) return 1;
      return s.committed > 0 ? 0 : 1;
    } finally {
      flood?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await net.close();
      if (interrupted && net.kept) out(`data dir kept: ${net.dir}\n`);
    }
  },
};
