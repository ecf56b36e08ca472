// Per-transaction outcome of executing a block. Plain JSON-friendly objects (hex strings, integers)
// so the store can log them and the RPC can return them as they are.

export interface AppliedReceipt {
  readonly txid: string;
  readonly height: number;
  /** position of the tx in the block */
  readonly index: number;
  readonly status: 'applied';
  /** row index r = (shard·L + layer)·S + slot the op changed */
  readonly row: number;
  /** hex leaf hash of that row after the op (matches a RowProof leaf at this height) */
  readonly leaf: string;
}

export interface RejectedReceipt {
  /** hex txid, or null when the bytes do not even decode to a [body, signature] envelope */
  readonly txid: string | null;
  readonly height: number;
  readonly index: number;
  readonly status: 'rejected';
  /** machine-readable code: a TxError / MaError code, or duplicate, wrong_chain, bad_signature,
   *  expired, too_far_ahead, replayed, block_full */
  readonly reason: string;
  /** the field the reason is about */
  readonly field: string;
}

export type Receipt = AppliedReceipt | RejectedReceipt;
