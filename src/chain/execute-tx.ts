// One transaction of a block, executed on the engine's live state: decoding (or the verified
// decoding admission kept), the in-block checks, the signature, the validity window, replay, then
// the engine. A transaction the block carries but execution refuses gets a rejected receipt and
// changes nothing, so every node's answer depends only on the block and the state before it.
import { decodeCanonical, CanonicalError } from '../codec/canonical.ts';
import type { Verifier } from '../crypto/ed25519.ts';
import { sha256, toHex } from '../crypto/sha256.ts';
import { MaError } from '../engine/types.ts';
import type { ChainEngine } from './app.ts';
import type { Receipt } from './receipts.ts';
import { checkWindow, type ReplayIndex } from './replay.ts';
import { decodeTx, TxError, type SignedTx, type TxLimits } from './tx.ts';
import type { VerifiedTxs } from './verified-cache.ts';

export interface TxContext {
  readonly chainId: string;
  readonly txWindow: number;
  readonly limits: TxLimits;
  readonly engine: ChainEngine;
  readonly verifier: Verifier;
  readonly verified: VerifiedTxs;
  readonly replay: ReplayIndex;
  /** counters the executor reports in its stats */
  readonly counters: { verifiedCacheHits: number; executionVerified: number };
}

export interface TxOutcome {
  readonly receipt: Receipt;
  /** null when the bytes are not even an envelope (no body, so no txid) */
  readonly txidHex: string | null;
  /** 0 unless applied */
  readonly validUntil: number;
}

/**
 * Execute the transaction at `index` of the block at `height`. `ancestorsApplied` holds the txids
 * applied by uncommitted ancestors (they count as applied for replay), `inBlock` the txids seen
 * earlier in this block (updated here).
 */
export function executeTx(ctx: TxContext, bytes: Uint8Array, index: number, height: number, ancestorsApplied: ReadonlySet<string>, inBlock: Set<string>): TxOutcome {
  // A tx verified at admission was decoded then; decoding depends only on the bytes and the limits,
  // so the cached result is exactly what decoding again would give.
  const cached = ctx.verified.lookup(bytes);
  let tx: SignedTx;
  if (cached) tx = cached;
  else try {
    tx = decodeTx(bytes, ctx.limits);
  } catch (e) {
    if (!(e instanceof TxError)) throw e;
    return rejected(height, index, envelopeTxid(bytes, ctx.limits.maxTxBytes), e.code, e.field);
  }
  const id = tx.txidHex;
  if (tx.body.chainId !== ctx.chainId) return rejected(height, index, id, 'wrong_chain', 'chainId');
  if (inBlock.has(id)) return rejected(height, index, id, 'duplicate', 'txid');
  inBlock.add(id);
  if (cached) {
    ctx.counters.verifiedCacheHits++;
  } else {
    ctx.counters.executionVerified++;
    if (!ctx.verifier.verifyConsensus(tx.body.sender, tx.bodyBytes, tx.signature)) return rejected(height, index, id, 'bad_signature', 'signature');
    ctx.verified.remember(tx);
  }
  const w = checkWindow(tx.body.validUntil, height, ctx.txWindow);
  if (w) return rejected(height, index, id, w.code, w.field);
  if (ctx.replay.has(id) || ancestorsApplied.has(id)) return rejected(height, index, id, 'replayed', 'txid');
  const op = tx.body.op;
  const err = ctx.engine.check(op);
  if (err) return rejected(height, index, id, err.code, err.field);
  try {
    ctx.engine.apply(op);
  } catch (e) {
    // apply() leaves the state unchanged when it throws MaError; anything else is a bug.
    if (e instanceof MaError && e.code !== 'bad_wasm') return rejected(height, index, id, e.code, e.field);
    throw e;
  }
  const row = ctx.engine.rowIndex(op);
  // The leaf from the row itself: engine.leafHash() would also rehash the path to the root, which
  // is wasted work for every transaction but the last.
  return { receipt: { txid: id, height, index, status: 'applied', row, leaf: ctx.engine.rowLeafHexOf(op) }, txidHex: id, validUntil: tx.body.validUntil };
}

/** The txid of bytes that are an envelope but not a valid transaction; null if not even that. */
function envelopeTxid(bytes: Uint8Array, maxTxBytes: number): string | null {
  try {
    const env = decodeCanonical(bytes, maxTxBytes);
    if (Array.isArray(env) && env.length === 2 && env[0] instanceof Uint8Array) return toHex(sha256(env[0]));
  } catch (e) {
    if (!(e instanceof CanonicalError)) throw e;
  }
  return null;
}

function rejected(height: number, index: number, txid: string | null, reason: string, field: string): TxOutcome {
  return { receipt: { txid, height, index, status: 'rejected', reason, field }, txidHex: txid, validUntil: 0 };
}
