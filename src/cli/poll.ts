// `numchain poll`: watch one or more nodes — height, state root, last block age, peers, syncing —
// one line per interval. Exit 0 if every node answered in the last round, 1 otherwise, 2 usage.
import type { HealthJson } from '../rpc/api.ts';
import { NumchainClient } from '../rpc/client.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';
import { requireRpc } from './tx.ts';

const FLAGS = {
  rpc: { type: 'string', help: 'comma-separated node HTTP API URLs' },
  interval: { type: 'number', help: 'ms between rounds', default: 1000 },
  count: { type: 'number', help: 'stop after this many rounds (0 = until interrupted)', default: 0 },
  timeout: { type: 'number', help: 'ms to wait for each node per round', default: 2000 },
  json: { type: 'boolean', help: 'one JSON object per round instead of text' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain poll --rpc URL[,URL...] [--interval ms] [--count N] [--json]';
const SUMMARY = `Poll /health on every node and print, per round, each node's height, state root (first 8 hex
digits), age of its last block, peer count and whether it is syncing. Nodes whose roots differ at the
same height are flagged with "ROOT MISMATCH".`;

type NodeLine = { url: string; ok: true; health: HealthJson } | { url: string; ok: false; error: string };

function formatAge(ms: number | null, now: number): string {
  if (ms === null) return 'genesis';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 100 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

function rootMismatch(lines: readonly NodeLine[]): boolean {
  const byHeight = new Map<number, string>();
  for (const l of lines) {
    if (!l.ok) continue;
    const seen = byHeight.get(l.health.height);
    if (seen !== undefined && seen !== l.health.stateRoot) return true;
    byHeight.set(l.health.height, l.health.stateRoot);
  }
  return false;
}

function formatText(lines: readonly NodeLine[], now: number): string {
  const time = new Date(now).toISOString().slice(11, 23);
  const parts = lines.map((l, i) => {
    if (!l.ok) return `n${i} DOWN (${l.error})`;
    const h = l.health;
    return `n${h.nodeIndex ?? i} h=${h.height} root=${h.stateRoot.slice(0, 8)} last=${formatAge(h.lastBlockTime, now)} peers=${h.peers}${h.syncing ? ' SYNCING' : ''}`;
  });
  return `${time}  ${parts.join(' | ')}${rootMismatch(lines) ? '  ROOT MISMATCH' : ''}`;
}

function formatJson(lines: readonly NodeLine[], now: number): string {
  return JSON.stringify({
    time: now,
    rootMismatch: rootMismatch(lines),
    nodes: lines.map((l) =>
      l.ok
        ? { url: l.url, height: l.health.height, stateRoot: l.health.stateRoot, lastBlockTime: l.health.lastBlockTime, peers: l.health.peers, syncing: l.health.syncing }
        : { url: l.url, error: l.error },
    ),
  });
}

export const command: Command = {
  summary: 'watch height, state root, peers and sync status of nodes',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    const urls = (f.rpc ?? '').split(',').filter((u) => u !== '').map((u) => requireRpc(u));
    if (urls.length === 0) throw new UsageError('--rpc URL is required');
    if (!Number.isSafeInteger(f.count) || f.count < 0) throw new UsageError('--count must be an integer ≥ 0');
    if (!(f.interval >= 10)) throw new UsageError('--interval must be at least 10 ms');
    const clients = urls.map((u) => new NumchainClient(u, { timeoutMs: f.timeout }));
    let stop = false;
    const onSignal = (): void => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    let allOk = true;
    try {
      for (let round = 0; !stop && (f.count === 0 || round < f.count); round++) {
        const started = Date.now();
        const lines = await Promise.all(
          clients.map(async (c, i): Promise<NodeLine> => {
            try {
              return { url: urls[i]!, ok: true, health: await c.health() };
            } catch (e) {
              return { url: urls[i]!, ok: false, error: (e as Error).message };
            }
          }),
        );
        const now = Date.now();
        allOk = lines.every((l) => l.ok);
        process.stdout.write((f.json ? formatJson(lines, now) : formatText(lines, now)) + '\n');
        const last = f.count !== 0 && round + 1 >= f.count;
        if (!last && !stop) await new Promise((r) => setTimeout(r, Math.max(0, f.interval - (Date.now() - started))));
      }
    } finally {
      process.off('SIGINT', onSignal);
    }
    return allOk ? 0 : 1;
  },
};
