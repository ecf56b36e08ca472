// Typed errors for the transport. Every refusal the transport makes maps to one `code`, so counters,
// logs and tests can tell an oversize frame from a forged signature without parsing messages.

export type NetErrorCode =
  | 'oversize_frame' // length prefix above the cap (checked before any body is buffered)
  | 'empty_frame' // length prefix of 0: there is no valid empty envelope
  | 'malformed_frame' // body is not msgpack, or has trailing bytes, or nests too deep
  | 'unknown_type' // envelope type number not in MsgType
  | 'bad_field' // envelope decoded but a field has the wrong type or range
  | 'protocol' // a valid message arrived in a state where it is not allowed
  | 'auth_failed' // handshake refused: wrong chain, unknown index, bad signature, ...
  | 'handshake_timeout'
  | 'unknown_peer' // send() to an index that is not a validator (or is ourselves)
  | 'bad_argument' // programming error in a call to the public API
  | 'payload_too_large' // send() of a payload that could never fit in a frame
  | 'stopped'; // call after stop()

export class NetError extends Error {
  override readonly name = 'NetError';
  readonly code: NetErrorCode;
  /** The field (or option) the error is about, when there is one. */
  readonly field: string | undefined;
  constructor(code: NetErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
