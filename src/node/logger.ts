// Human-readable, grep-friendly log lines on stderr: `time level [node i] message key=value ...`.
// The clock here is for operators only; nothing consensus-critical reads it.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

export function createLogger(opts: { name: string; level?: LogLevel; write?: (line: string) => void }): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const kv = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${fmt(v)}`).join('') : '';
    write(`${new Date().toISOString()} ${level.padEnd(5)} [${opts.name}] ${msg}${kv}`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
