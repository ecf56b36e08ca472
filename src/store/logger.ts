/** The logging surface the store needs; the node passes its own logger in. */
export interface StoreLogger {
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
}

/** Default: recovery actions (cut tails, skipped snapshots) must not vanish silently, so warnings go to stderr. */
export const consoleStoreLogger: StoreLogger = {
  info: () => {},
  warn: (msg, data) => console.warn(`[store] ${msg}`, data ?? ''),
};

export const silentStoreLogger: StoreLogger = { info: () => {}, warn: () => {} };
