// Every reason a transaction can be refused, in one table: the code a client sees, the `reason`
// label of numchain_mempool_tx_rejected_total (every series exists from the start, at 0, so a
// dashboard sees a kind of refusal before the first), and its kind, from which the HTTP API takes
// its status. What decoding, the replay window and the mempool can each refuse for are subsets of
// this table, so no stage can answer with a code the table (and so the metrics) does not know.

/**
 * unreadable (`malformed`), over a size limit (`too_large`), not valid on this chain (`invalid`),
 * in conflict with what the chain or the pool already holds (`conflict`), to be retried later
 * (`retry`), or meeting a full or closed pool (`full`)
 */
export type RejectKind = 'too_large' | 'malformed' | 'invalid' | 'conflict' | 'retry' | 'full';

/** What decoding a transaction can refuse it for (TxError codes, bar the client-side `bad_secret_key`). */
const DECODING = {
  too_large: 'too_large',
  malformed: 'malformed',
  non_canonical: 'malformed',
  bad_domain: 'malformed',
  bad_chain_id: 'invalid',
  bad_sender: 'invalid',
  bad_nonce: 'invalid',
  bad_valid_until: 'invalid',
  bad_op: 'invalid',
  bad_shard: 'invalid',
  bad_layer: 'invalid',
  bad_slot: 'invalid',
  bad_src: 'invalid',
  bad_vec_length: 'invalid',
  bad_vec_value: 'invalid',
  bad_factor: 'invalid',
  bad_alpha: 'invalid',
  bad_bound: 'invalid',
  bad_signature: 'invalid',
  bad_txid: 'invalid',
} as const satisfies Record<string, RejectKind>;

/** What admission refuses a decoded transaction for: its chain, the replay window, the signature budget, the mempool. */
const ADMISSION = {
  wrong_chain: 'invalid',
  busy: 'retry',
  duplicate: 'conflict',
  replayed: 'conflict',
  expired: 'invalid',
  too_far_ahead: 'invalid',
  mempool_full: 'full',
  sender_rate: 'retry',
  sender_queue_full: 'retry',
  no_mempool: 'full',
} as const satisfies Record<string, RejectKind>;

export type TxDecodeRejection = keyof typeof DECODING;
export type TxRejection = TxDecodeRejection | keyof typeof ADMISSION;

export const TX_REJECTIONS: Readonly<Record<TxRejection, RejectKind>> = Object.freeze({ ...DECODING, ...ADMISSION });

/** Every code, decoding's first: the label values of the rejection metric. */
export const REJECT_REASONS: readonly TxRejection[] = Object.freeze(Object.keys(TX_REJECTIONS) as TxRejection[]);

/** A subset of the table (a name outside it does not compile). */
type Subset<T extends TxRejection> = T;
export type ReplayRejection = Subset<'expired' | 'too_far_ahead' | 'replayed'>;
export type MempoolRejection = Subset<'duplicate' | 'mempool_full' | 'sender_rate' | 'sender_queue_full' | 'expired' | 'too_far_ahead' | 'too_large'>;

/** The kind of a refusal code (undefined for a code outside the table). */
export function rejectKind(code: string): RejectKind | undefined {
  return Object.hasOwn(TX_REJECTIONS, code) ? TX_REJECTIONS[code as TxRejection] : undefined;
}
