// The peer links of a chaos run, each through a relay the runner owns, so partitions and slow links
// need no root and no network namespaces. Validator i dials validator j at relay (i, j), which
// forwards to j's real gossip port (i's --peers names the relays), so every byte between two
// validators, in either direction and whoever dialed, passes a relay of that pair. A cut relay resets
// its open connections and every new one; a slow relay holds each chunk delayMs (order kept).
import { DelayRelay, parseEndpoint } from '../hosts/relay.ts';
import { findFreePortBlock } from '../cluster/ports.ts';

export class ChaosLinks {
  private constructor(
    private readonly n: number,
    private readonly host: string,
    private readonly base: number,
    /** relays[i * n + j]: the link validator i dials validator j on; null on the diagonal */
    private readonly relays: (DelayRelay | null)[],
  ) {}

  /** gossip[j]: validator j's real gossip address (host:port). */
  static async start(gossip: readonly string[], host = '127.0.0.1'): Promise<ChaosLinks> {
    const n = gossip.length;
    const base = await findFreePortBlock(n * n, host);
    const relays: (DelayRelay | null)[] = [];
    const links = new ChaosLinks(n, host, base, relays);
    try {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (i === j) {
            relays.push(null);
            continue;
          }
          const r = new DelayRelay([{ listen: { host, port: base + i * n + j }, target: parseEndpoint(gossip[j]!) }]);
          relays.push(r);
          await r.start();
        }
      }
    } catch (e) {
      await links.close();
      throw e;
    }
    return links;
  }

  /** `numchain run` arguments of validator i: dial every peer through its relay. */
  runArgs(i: number): string[] {
    const peers: string[] = [];
    for (let j = 0; j < this.n; j++) if (j !== i) peers.push(`${j}=${this.host}:${this.base + i * this.n + j}`);
    return ['--peers', peers.join(',')];
  }

  private pair(i: number, j: number): DelayRelay[] {
    return [this.relays[i * this.n + j], this.relays[j * this.n + i]].filter((r): r is DelayRelay => r !== null && r !== undefined);
  }

  /** Cut every link between side a and side b (both directions). */
  cut(a: readonly number[], b: readonly number[]): void {
    for (const i of a) for (const j of b) for (const r of this.pair(i, j)) r.block();
  }

  /** Hold every byte on node's links delayMs each way. */
  slow(node: number, delayMs: number): void {
    for (let j = 0; j < this.n; j++) if (j !== node) for (const r of this.pair(node, j)) r.delayMs = delayMs;
  }

  /** Every link open and fast again. */
  heal(): void {
    for (const r of this.relays) {
      if (r === null) continue;
      r.unblock();
      r.delayMs = 0;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.relays.map((r) => r?.close()));
  }
}
