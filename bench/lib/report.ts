// Small helpers every benchmark shares: robust summaries, a plain-text table, a verdict per target,
// and the single machine-readable JSON line a benchmark ends with.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Round to `digits` significant digits (for the JSON line: stable, readable numbers). */
export function sig(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

export function fmtRate(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)} M/s`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)} k/s`;
  return `${opsPerSecond.toFixed(0)} /s`;
}

export function fmtTime(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  return `${ms.toFixed(2)} ms`;
}

/** A left-aligned first column, right-aligned others, columns padded to the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly op: '>=' | '<=';
  readonly limit: number;
  readonly unit: string;
}

export function passes(t: Target): boolean {
  return t.op === '>=' ? t.value >= t.limit : t.value <= t.limit;
}

export function verdicts(targets: readonly Target[]): string {
  return table(
    ['target', 'measured', 'limit', 'verdict'],
    targets.map((t) => [t.name, `${sig(t.value, 3)} ${t.unit}`, `${t.op} ${t.limit} ${t.unit}`, passes(t) ? 'PASS' : 'FAIL']),
  );
}

/** The last line a benchmark prints: one JSON object, `bench` first. */
export function jsonLine(bench: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ bench, ...fields });
}
