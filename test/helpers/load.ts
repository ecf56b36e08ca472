// Load for real nodes: signed transactions from many test senders (node:crypto signing), and a block
// follower that records every committed block's root and receipts, so tests can compare what a
// node said before a crash with what it says after.
import type { TxFields } from '../../src/chain/tx.ts';
import type { BlockJson, ParamsJson } from '../../src/rpc/api.ts';
import type { NumchainClient } from '../../src/rpc/client.ts';
import { nodeSigner, signTxFast, type FastSigner } from '../../src/rpc/node-signer.ts';
import { testClientSeed } from '../../src/rpc/test-keys.ts';

export interface SignedTxBytes {
  readonly bytes: Uint8Array;
  readonly txid: string;
}

/** Signs `add` transactions round-robin over `senders` test keys (seeds seedBase..), unique nonces. */
export class TxSource {
  private readonly signers: FastSigner[];
  private k = 0;
  private nonce: number;

  constructor(
    private readonly params: ParamsJson,
    opts: { senders?: number; seedBase?: number; nonceBase?: number } = {},
  ) {
    const n = opts.senders ?? 16;
    const base = opts.seedBase ?? 5000;
    this.signers = Array.from({ length: n }, (_, i) => nodeSigner(testClientSeed(base + i)));
    this.nonce = opts.nonceBase ?? (Date.now() & 0x7fffffff);
  }

  /** One signed tx; `op` defaults to an add of small values to a row chosen by the counter. */
  next(validUntil: number, op?: TxFields['op']): SignedTxBytes {
    const { ma } = this.params;
    const i = this.k++;
    const signer = this.signers[i % this.signers.length]!;
    this.nonce = (this.nonce + 1) >>> 0;
    const o: TxFields['op'] = op ?? {
      op: 'add',
      shard: i % ma.shards,
      layer: (i >> 2) % ma.layers,
      slot: (i >> 4) % ma.slots,
      vec: Array.from({ length: ma.dim }, (_, d) => ((i + d) % 7) - 3),
    };
    const s = signTxFast({ chainId: this.params.chainId, nonce: this.nonce, validUntil, op: o }, signer);
    return { bytes: s.bytes, txid: s.txidHex };
  }

  batch(n: number, validUntil: number): SignedTxBytes[] {
    return Array.from({ length: n }, () => this.next(validUntil));
  }
}

const followers = new Set<BlockFollower>();

/** Stop every follower still running (for `after` hooks: a live follower keeps the process alive). */
export async function stopAllFollowers(): Promise<void> {
  await Promise.all([...followers].map((f) => f.stop()));
}

export interface SeenReceipt {
  readonly height: number;
  readonly index: number;
  readonly status: string;
}

/**
 * Follows committed blocks from `fromHeight` with long-polls until stop(); records each block's
 * state root and hash, and where every txid landed. A block seen here was committed and fsynced.
 */
export class BlockFollower {
  readonly roots = new Map<number, string>();
  readonly hashes = new Map<number, string>();
  readonly receipts = new Map<string, SeenReceipt>();
  /** txids seen more than once across blocks (must stay empty) */
  readonly duplicates: string[] = [];
  height: number;
  private running = true;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: NumchainClient,
    fromHeight = 1,
    private readonly onBlock?: (b: BlockJson) => void,
  ) {
    this.height = fromHeight - 1;
    followers.add(this);
    this.loop = this.run(fromHeight);
  }

  private async run(from: number): Promise<void> {
    let h = from;
    while (this.running) {
      try {
        const b = await this.client.block(h, { waitMs: 1000, signal: this.abort.signal });
        if (b === null) continue;
        this.record(b);
        h++;
      } catch {
        // node gone (killed) or restarting: the caller decides when to stop
        if (this.running) await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  record(b: BlockJson): void {
    this.roots.set(b.height, b.stateRoot);
    this.hashes.set(b.height, b.hash);
    this.height = Math.max(this.height, b.height);
    (b.receipts ?? []).forEach((r, i) => {
      if (r.txid === null) return;
      if (this.receipts.has(r.txid)) this.duplicates.push(r.txid);
      this.receipts.set(r.txid, { height: b.height, index: typeof r.index === 'number' ? r.index : i, status: r.status });
    });
    this.onBlock?.(b);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    followers.delete(this);
    await this.loop;
  }
}
