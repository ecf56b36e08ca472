// A deterministic stand-in for the chain: the state root is a hash chain over the transaction roots,
// transactions are random bytes. Enough to check that every node reaches the same root per height.
import { encodeCanonical } from '../codec/canonical.ts';
import { sha256, sha256Concat, toHex } from '../crypto/sha256.ts';
import { AppError, type ConsensusApp, type ExecResult } from '../consensus/app.ts';
import type { Prng } from './prng.ts';

export class FakeApp implements ConsensusApp {
  private readonly roots = new Map<string, Uint8Array>();
  private readonly execs = new Map<string, ExecResult>();

  constructor(
    genesisHash: Uint8Array,
    genesisRoot: Uint8Array,
    private readonly rng: Prng,
    private readonly maxTxs = 3,
  ) {
    this.roots.set(toHex(genesisHash), genesisRoot);
  }

  selectTxs(_parent: Uint8Array, _height: number, maxTxs: number, maxBytes: number): Uint8Array[] {
    const n = Math.min(maxTxs, this.rng.int(0, this.maxTxs));
    const txs: Uint8Array[] = [];
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const t = this.rng.bytes(this.rng.int(8, 32));
      if (bytes + t.length > maxBytes) break;
      bytes += t.length;
      txs.push(t);
    }
    return txs;
  }

  execute(parent: Uint8Array, height: number, txs: readonly Uint8Array[]): ExecResult {
    const root = this.roots.get(toHex(parent));
    if (root === undefined) throw new AppError('unknown_parent', `no state for parent ${toHex(parent).slice(0, 16)}`, 'parent');
    const txRoot = sha256Concat(...txs.map((t) => sha256(t)));
    const stateRoot = sha256(encodeCanonical(['fake-state', root, height, txRoot]));
    const id = `${toHex(parent)}/${height}/${toHex(txRoot)}`;
    const r: ExecResult = { id, stateRoot, txRoot };
    this.execs.set(id, r);
    return r;
  }

  attach(id: string, blockHash: Uint8Array): void {
    const r = this.execs.get(id);
    if (r === undefined) throw new AppError('unknown_execution', `no execution ${id}`, 'id');
    this.roots.set(toHex(blockHash), r.stateRoot);
  }

  rootOf(blockHash: Uint8Array): Uint8Array | undefined {
    return this.roots.get(toHex(blockHash));
  }
}
