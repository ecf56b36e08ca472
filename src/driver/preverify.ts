// Signatures of a block's transactions, checked on the worker pool before the block reaches the
// consensus core. A proposal often arrives before the gossip that carried its transactions has been
// verified (the leader gossips and proposes at once); executing it would then verify those
// signatures again, one by one, on the consensus thread, which is the thread every round waits for.
// Here a transaction whose verification is already in flight is awaited, and the rest go to the
// pool in one batch, so each signature is checked once per node and off the consensus thread.
// Only a fast-path `true` is remembered; anything else is left to execution's ZIP-215 check, so this
// changes when a signature is checked, never what a block executes to.
import type { ChainApp } from '../chain/app.ts';
import { verifiedKey } from '../chain/verified-cache.ts';
import type { SignedTx } from '../chain/tx.ts';
import type { SignaturePool } from './world.ts';

/** Verifications on the pool right now, by transaction cache key. Bounded by the admission gate. */
export class InflightVerifications {
  private readonly byKey = new Map<number, Promise<unknown>>();

  get size(): number {
    return this.byKey.size;
  }

  /** `txs` are being verified until `done` settles. */
  track(txs: readonly SignedTx[], done: Promise<unknown>): void {
    const keys = txs.map((tx) => verifiedKey(tx.bytes));
    for (const k of keys) this.byKey.set(k, done);
    const clear = (): void => {
      for (const k of keys) if (this.byKey.get(k) === done) this.byKey.delete(k);
    };
    done.then(clear, clear);
  }

  /** The verification in flight for these bytes (or for others with the same key: then a wasted wait, never a wrong answer). */
  pending(bytes: Uint8Array): Promise<unknown> | undefined {
    return this.byKey.get(verifiedKey(bytes));
  }
}

export interface PreverifyResult {
  /** transactions sent to the pool by this call */
  readonly verified: number;
  /** transactions whose verification was already in flight */
  readonly awaited: number;
}

/**
 * Make sure every transaction in `txs` that can be verified off-thread has been, before the caller
 * hands the block to the core. Never throws: a saturated or closed pool just leaves the work to
 * execution.
 */
export async function preverifyTxs(app: ChainApp, pool: SignaturePool, inflight: InflightVerifications, txs: readonly Uint8Array[]): Promise<PreverifyResult> {
  const waits = new Set<Promise<unknown>>();
  const fresh: SignedTx[] = [];
  let awaited = 0;
  for (const bytes of txs) {
    if (app.verified.has(bytes)) continue;
    const w = inflight.pending(bytes);
    if (w) {
      waits.add(w);
      awaited++;
      continue;
    }
    const d = app.admission.decodeForAdmission(bytes);
    if (!('ok' in d)) fresh.push(d); // undecodable: execution rejects it without a signature check
  }
  // Started before waiting on the others, so both run at once.
  const answers = fresh.length > 0 ? verifyOnPool(app, pool, inflight, fresh) : null;
  await Promise.all([...waits].map((w) => w.catch(() => undefined)));
  const said = answers ? await answers : null;
  return { verified: said ? fresh.length : 0, awaited };
}

/**
 * Fast-path answers from the pool for `txs` (null when it is saturated or closed). The batch is
 * visible as in flight from the call on, and accepted signatures are remembered as soon as the
 * answer comes (not only once the mempool takes them), so a block or a gossip batch carrying the
 * same transactions waits for this answer instead of verifying them again.
 */
export function verifyOnPool(app: ChainApp, pool: SignaturePool, inflight: InflightVerifications, txs: readonly SignedTx[]): Promise<boolean[] | null> {
  const answered = pool
    .verify(txs.map((tx) => ({ publicKey: tx.body.sender, message: tx.bodyBytes, signature: tx.signature })))
    .catch(() => null)
    .then((said) => {
      if (said) txs.forEach((tx, k) => said[k] && app.verified.remember(tx));
      return said;
    });
  // What waiters see settles only after the remembering, so they find these verified.
  inflight.track(txs, answered);
  return answered;
}
