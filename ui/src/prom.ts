// Reading a node's /metrics (Prometheus text exposition) in the page: counters for rates, histogram
// buckets for latency quantiles (the same interpolation as PromQL's histogram_quantile).

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type Scrape = Map<string, Sample[]>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    let list = out.get(m[1]!);
    if (!list) out.set(m[1]!, (list = []));
    list.push({ labels, value });
  }
  return out;
}

/** Sum of a metric's samples (over all label sets), or NaN when absent. */
export function total(s: Scrape, name: string): number {
  const list = s.get(name);
  if (!list) return NaN;
  return list.reduce((n, x) => n + x.value, 0);
}

/** Cumulative bucket counts of a histogram: [[le, count], ...] in ascending le. */
export function buckets(s: Scrape, name: string): [number, number][] {
  const list = s.get(`${name}_bucket`) ?? [];
  const by = new Map<number, number>();
  for (const x of list) {
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    by.set(le, (by.get(le) ?? 0) + x.value);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

/** The q-quantile of what was observed between two scrapes of a histogram, or NaN when nothing was. */
export function quantileBetween(q: number, before: [number, number][], after: [number, number][]): number {
  const prev = new Map(before);
  const delta = after.map(([le, c]) => [le, c - (prev.get(le) ?? 0)] as [number, number]);
  const count = delta.length ? delta[delta.length - 1]![1] : 0;
  if (!(count > 0)) return NaN;
  const rank = q * count;
  let lastLe = 0;
  let lastCount = 0;
  for (const [le, c] of delta) {
    if (c >= rank) {
      if (le === Infinity) return lastLe;
      return lastLe + ((le - lastLe) * (rank - lastCount)) / Math.max(1e-12, c - lastCount);
    }
    lastLe = le;
    lastCount = c;
  }
  return lastLe;
}
