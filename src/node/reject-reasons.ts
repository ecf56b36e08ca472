// Every reason a transaction can be refused, as the `reason` label of numchain_tx_rejected_total:
// each label series exists from the start (at 0), so a dashboard sees a refusal kind before the first.
export const REJECT_REASONS = [
  'too_large', 'malformed', 'non_canonical', 'bad_domain', 'bad_chain_id', 'bad_sender', 'bad_nonce', 'bad_valid_until', 'bad_op',
  'bad_shard', 'bad_layer', 'bad_slot', 'bad_src', 'bad_vec_length', 'bad_vec_value', 'bad_factor', 'bad_alpha', 'bad_bound',
  'bad_signature', 'bad_txid', 'wrong_chain', 'busy', 'duplicate', 'replayed', 'expired', 'too_far_ahead', 'mempool_full',
  'sender_rate', 'sender_queue_full', 'no_mempool',
] as const;
