// Cross-node checks over the HTTP API: state roots at a common height, whole-chain comparison
// (same block hash and state root at every height, no txid twice), receipts that must never move or vanish, and a
// few /metrics series for stall evidence.
import type { BlockJson, HealthJson } from '../../rpc/api.ts';
import type { NumchainClient } from '../../rpc/client.ts';

export interface RootComparison {
  /** the lowest height among the answering nodes (the height compared) */
  readonly height: number;
  /** stateRoot of /block/{height} per node (null: node did not answer) */
  readonly roots: readonly (string | null)[];
  readonly agree: boolean;
}

/**
 * Compare /block/{h}.stateRoot at h = the minimum height of the given nodes. At height 0 every node
 * has the genesis state, so they agree by definition. Nodes that do not answer are skipped (null)
 * but at least two answers are needed for agreement to mean anything.
 */
export async function compareRootsAtCommonHeight(clients: readonly NumchainClient[], healths?: readonly (HealthJson | null)[]): Promise<RootComparison> {
  const hs = healths ?? (await Promise.all(clients.map((c) => c.health().catch(() => null))));
  const live = hs.map((h, i) => (h ? i : -1)).filter((i) => i >= 0);
  if (live.length === 0) return { height: 0, roots: hs.map(() => null), agree: false };
  const height = Math.min(...live.map((i) => hs[i]!.height));
  if (height === 0) return { height, roots: hs.map((h) => (h ? h.stateRoot : null)), agree: true };
  const roots = await Promise.all(
    clients.map(async (c, i) => {
      if (!hs[i]) return null;
      try {
        return (await c.block(height, { waitMs: 2000 }))?.stateRoot ?? null;
      } catch {
        return null;
      }
    }),
  );
  const present = roots.filter((r): r is string => r !== null);
  return { height, roots, agree: present.length === live.length && present.every((r) => r === present[0]) };
}

export interface TxPosition {
  readonly height: number;
  readonly index: number;
}

export interface ChainScan {
  readonly toHeight: number;
  readonly blocks: number;
  readonly txs: number;
  /** heights where nodes returned different block hashes or state roots (or a block was missing) */
  readonly divergent: { height: number; hashes: (string | null)[]; stateRoots: (string | null)[] }[];
  /** txids found at more than one position */
  readonly duplicates: string[];
  /** txid → position in the (agreed) chain */
  readonly positions: Map<string, TxPosition>;
}

/** Fetch blocks fromHeight..toHeight from every node and compare them. */
export async function scanChains(clients: readonly NumchainClient[], toHeight: number, fromHeight = 1, parallel = 8): Promise<ChainScan> {
  const divergent: ChainScan['divergent'] = [];
  const duplicates: string[] = [];
  const positions = new Map<string, TxPosition>();
  let txs = 0;
  // A busy node (e.g. one still replaying synced blocks) may fail a request now and then: retry a
  // missing block a few times before calling it missing, so a slow answer is not reported as a fork.
  const fetchOne = async (c: NumchainClient, h: number): Promise<BlockJson | null> => {
    for (let attempt = 0; ; attempt++) {
      const b = await c.block(h).catch(() => null);
      if (b !== null || attempt >= 4) return b;
      await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
    }
  };
  const fetchAt = (h: number): Promise<(BlockJson | null)[]> => Promise.all(clients.map((c) => fetchOne(c, h)));
  for (let h0 = fromHeight; h0 <= toHeight; h0 += parallel) {
    const hs: number[] = [];
    for (let h = h0; h < Math.min(toHeight + 1, h0 + parallel); h++) hs.push(h);
    const rows = await Promise.all(hs.map(fetchAt));
    rows.forEach((blocks, k) => {
      const h = hs[k]!;
      const hashes = blocks.map((b) => b?.hash ?? null);
      const stateRoots = blocks.map((b) => b?.stateRoot ?? null);
      if (hashes.some((x) => x === null || x !== hashes[0]) || stateRoots.some((x) => x !== stateRoots[0])) divergent.push({ height: h, hashes, stateRoots });
      const b = blocks.find((x) => x !== null);
      if (!b) return;
      (b.receipts ?? []).forEach((r, i) => {
        if (r.txid === null) return;
        txs++;
        const index = typeof r.index === 'number' ? r.index : i;
        if (positions.has(r.txid)) duplicates.push(r.txid);
        else positions.set(r.txid, { height: h, index });
      });
    });
  }
  return { toHeight, blocks: toHeight - fromHeight + 1, txs, divergent, duplicates, positions };
}

/**
 * Remembers every receipt the nodes report while a scenario runs (by sampling their latest blocks),
 * so that after recovery we can check none of them moved or vanished.
 */
export class ReceiptWitness {
  readonly seen = new Map<string, TxPosition & { node: number }>();
  readonly conflicts: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly clients: readonly NumchainClient[]) {}

  record(node: number, b: BlockJson): void {
    (b.receipts ?? []).forEach((r, i) => {
      if (r.txid === null) return;
      const pos = { height: b.height, index: typeof r.index === 'number' ? r.index : i, node };
      const prev = this.seen.get(r.txid);
      if (prev === undefined) this.seen.set(r.txid, pos);
      else if (prev.height !== pos.height || prev.index !== pos.index) {
        this.conflicts.push(`${r.txid}: node ${prev.node} reported ${prev.height}/${prev.index}, node ${node} ${pos.height}/${pos.index}`);
      }
    });
  }

  /** Record the latest committed block of each node in `which` (all by default). */
  async sample(which?: readonly number[]): Promise<void> {
    const idx = which ?? this.clients.map((_, i) => i);
    await Promise.all(
      idx.map(async (i) => {
        try {
          const b = await this.clients[i]!.block('latest');
          if (b) this.record(i, b);
        } catch {
          /* node down: nothing reported */
        }
      }),
    );
  }

  start(everyMs = 300): void {
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

  /** Receipts seen earlier that the final chain lost or moved (positions from scanChains). */
  lostOrMoved(positions: Map<string, TxPosition>, upTo: number): string[] {
    const bad: string[] = [];
    for (const [txid, p] of this.seen) {
      if (p.height > upTo) continue;
      const now = positions.get(txid);
      if (!now) bad.push(`${txid}: reported at ${p.height}/${p.index} by node ${p.node}, missing now`);
      else if (now.height !== p.height || now.index !== p.index) bad.push(`${txid}: reported at ${p.height}/${p.index}, now at ${now.height}/${now.index}`);
    }
    return bad;
  }
}

/** Ask every node for the receipts of `txids` and report any that differ between nodes or are missing. */
export async function receiptsAgree(clients: readonly NumchainClient[], txids: readonly string[], expected: Map<string, TxPosition>): Promise<string[]> {
  const bad: string[] = [];
  for (const txid of txids) {
    const want = expected.get(txid);
    const got = await Promise.all(clients.map((c) => c.receipt(txid).catch(() => null)));
    got.forEach((r, i) => {
      if (!r) bad.push(`${txid}: node ${i} has no receipt`);
      else if (want && (r.height !== want.height || r.index !== want.index)) bad.push(`${txid}: node ${i} says ${r.height}/${String(r.index)}, chain says ${want.height}/${want.index}`);
    });
  }
  return bad;
}

/** Sum of every sample of the named series in a Prometheus text exposition. */
export function metricValues(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !(m[1]! in out)) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out[m[1]!]! += v;
  }
  return out;
}

export const STALL_METRICS = [
  'numchain_consensus_height',
  'numchain_consensus_rounds',
  'numchain_consensus_round_timeouts_total',
  'numchain_consensus_timeout_certificates_total',
  'numchain_consensus_view_changes_total',
  'numchain_consensus_proposals_total',
  'numchain_consensus_txs_committed_total',
  'numchain_mempool_size',
  'numchain_p2p_peers',
  'numchain_p2p_messages_retried_total',
  'numchain_blocksync_syncing',
] as const;

/** A few consensus/mempool series per node, for evidence when a cluster stalls. */
export async function stallEvidence(clients: readonly NumchainClient[]): Promise<(Record<string, number> | null)[]> {
  return Promise.all(clients.map(async (c) => metricValues(await c.metricsText(), STALL_METRICS)).map((p) => p.catch(() => null)));
}
