// Typed errors for everything the consensus layer rejects. Bad input never crashes the core: the
// core catches these, counts them and emits a `log` action instead.

export type ConsensusErrorCode =
  | 'bad_encoding'
  | 'bad_field'
  | 'bad_tag'
  | 'bad_chain'
  | 'bad_signature'
  | 'bad_quorum'
  | 'bad_qc'
  | 'bad_tc'
  | 'bad_block'
  | 'bad_proposer'
  | 'bad_evidence'
  | 'bad_poc'
  | 'bad_config'
  | 'bad_state'
  | 'unknown_validator';

export class ConsensusError extends Error {
  override readonly name = 'ConsensusError';
  constructor(
    readonly code: ConsensusErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function fail(code: ConsensusErrorCode, field: string, message: string): never {
  throw new ConsensusError(code, field, message);
}
