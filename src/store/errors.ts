/** Machine-readable reasons a store operation refused or failed. */
export type StoreErrorCode =
  | 'log_corrupt'        // a bad line with good lines after it, or a bad record found on read
  | 'height_gap'         // log heights must be contiguous from 1
  | 'height_repeat'
  | 'line_too_large'
  | 'bad_record'         // caller gave something that cannot be logged
  | 'out_of_range'       // read/readRange outside 1..lastHeight
  | 'log_poisoned'       // an earlier write or fsync failed; the process must restart and recover
  | 'closed'
  | 'bad_snapshot_input'
  | 'snapshot_corrupt'
  | 'safety_corrupt'
  | 'dir_locked'         // another live process holds the data directory
  | 'dir_lock_failed';   // the lock could not be taken or checked (path too long, permissions)

/** Typed store error. `path`, `offset` (bytes) and `line` (1-based) are set when they help an operator. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly path?: string;
  readonly offset?: number;
  readonly line?: number;

  constructor(
    code: StoreErrorCode,
    message: string,
    where: { path?: string; offset?: number; line?: number; cause?: unknown } = {},
  ) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'StoreError';
    this.code = code;
    if (where.path !== undefined) this.path = where.path;
    if (where.offset !== undefined) this.offset = where.offset;
    if (where.line !== undefined) this.line = where.line;
  }
}
