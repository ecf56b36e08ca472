// Simulated clients: signed MA transactions (with the simulator's fake signatures) for replica-mode
// runs, so blocks carry real work that every node executes on its own engine.
import { assembleTx, encodeTxBody } from '../chain/tx.ts';
import { encodeCanonical } from '../codec/canonical.ts';
import { sha256 } from '../crypto/sha256.ts';
import type { MaParams } from '../engine/types.ts';
import { fakeTxSignature } from './keys.ts';
import type { Prng } from './prng.ts';

export class SimClients {
  private readonly senders: Uint8Array[];
  private nonce = 0;
  submitted = 0;

  constructor(
    private readonly chainId: string,
    private readonly ma: MaParams,
    private readonly rng: Prng,
    senders = 6,
  ) {
    this.senders = Array.from({ length: senders }, (_, i) => sha256(encodeCanonical(['sim-client', chainId, i])));
  }

  /** `count` transactions valid until `validUntil`. */
  batch(count: number, validUntil: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const sender = this.senders[this.rng.int(0, this.senders.length - 1)]!;
      const row = { shard: this.rng.int(0, this.ma.shards - 1), layer: this.rng.int(0, this.ma.layers - 1), slot: this.rng.int(0, this.ma.slots - 1) };
      const kind = this.rng.int(0, 9);
      const op = kind < 7
        ? { ...row, op: 'add' as const, vec: Array.from({ length: this.ma.dim }, () => this.rng.int(-this.ma.q, this.ma.q)) }
        : kind < 9 ? { ...row, op: 'decay' as const, factor: null } : { ...row, op: 'mix' as const, src: this.rng.int(0, this.ma.slots - 1), alpha: this.rng.int(0, this.ma.q) };
      const bodyBytes = encodeTxBody({ chainId: this.chainId, sender, nonce: this.nonce++ >>> 0, validUntil, op });
      out.push(assembleTx(bodyBytes, fakeTxSignature(sender, bodyBytes)));
    }
    this.submitted += count;
    return out;
  }
}
