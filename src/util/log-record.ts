// What the block log stores a line of: any JSON object with an integer height `h`. Shared by the log
// (src/store) and the code that builds its records (src/driver), which must not depend on each other.

/** A log record: any JSON-serialisable object with an integer height `h`. */
export interface LogRecord {
  readonly h: number;
  readonly [field: string]: unknown;
  /** The record's JSON.stringify, when its writer has it cheaper (see LOG_JSON). */
  readonly [LOG_JSON]?: string | readonly string[];
}

/**
 * Key under which a record may carry its own JSON text, exactly JSON.stringify(record), for
 * records whose writer can build it without the generic serializer (a block record is mostly one
 * base64 string that JSON.stringify would scan character by character). The text may come in
 * parts, written one after the other, so that a long part is never copied into a joined string.
 * It is checked like any other: an object whose first field is this height, on one line. A
 * symbol, so JSON ignores it.
 */
export const LOG_JSON: unique symbol = Symbol('numchain.logJson');
