// Live per-node view of a localnet: height, committed TPS (from the txs-committed counter) and a
// short state root, once per tick — a redrawn table on a TTY, one line per tick otherwise.
import type { HealthJson } from '../../rpc/api.ts';
import { metricValues } from './checks.ts';
import type { Localnet } from './localnet.ts';

const COMMITTED = 'numchain_consensus_txs_committed_total';

export interface LiveRow {
  readonly index: number;
  readonly health: HealthJson | null;
  readonly tps: number | null;
}

export class LiveView {
  private last: (number | null)[];
  private lastAt = Date.now();
  private drawnLines = 0;
  private readonly t0 = Date.now();

  constructor(
    private readonly net: Localnet,
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
  ) {
    this.last = net.clients.map(() => null);
  }

  async sample(): Promise<LiveRow[]> {
    const now = Date.now();
    const dt = Math.max(1, now - this.lastAt) / 1000;
    this.lastAt = now;
    return Promise.all(
      this.net.clients.map(async (c, i): Promise<LiveRow> => {
        const [health, committed] = await Promise.all([
          c.health().catch(() => null),
          c
            .metricsText()
            .then((t) => metricValues(t, [COMMITTED])[COMMITTED]!)
            .catch(() => null),
        ]);
        const prev = this.last[i];
        this.last[i] = committed;
        const tps = committed !== null && prev !== null && prev !== undefined ? (committed - prev) / dt : null;
        return { index: i, health, tps };
      }),
    );
  }

  async tick(extra = ''): Promise<void> {
    const rows = await this.sample();
    const t = ((Date.now() - this.t0) / 1000).toFixed(0).padStart(3);
    const cell = (r: LiveRow): string => {
      if (!r.health) return `n${r.index} ${this.net.isRunning(r.index) ? 'no answer' : 'down'}`;
      const tps = r.tps === null ? '-' : r.tps.toFixed(0);
      return `n${r.index} h=${r.health.height} tps=${tps} root=${r.health.stateRoot.slice(0, 8)}`;
    };
    if (!this.tty) {
      this.write(`t=${t}s  ${rows.map(cell).join(' | ')}${extra ? '  ' + extra : ''}\n`);
      return;
    }
    const lines = [
      `t=${t}s ${extra}`,
      'node  height   round  tps     mempool  peers  root',
      ...rows.map((r) => {
        const h = r.health;
        if (!h) return `n${r.index}    ${this.net.isRunning(r.index) ? 'no answer' : 'down'}`;
        const round = typeof h.round === 'number' ? String(h.round) : '-';
        const mem = typeof h.mempool === 'number' ? String(h.mempool) : '-';
        return `n${String(r.index).padEnd(4)}${String(h.height).padEnd(9)}${round.padEnd(7)}${(r.tps === null ? '-' : r.tps.toFixed(0)).padEnd(8)}${mem.padEnd(9)}${String(h.peers).padEnd(7)}${h.stateRoot.slice(0, 16)}`;
      }),
    ];
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawnLines = lines.length;
  }
}
