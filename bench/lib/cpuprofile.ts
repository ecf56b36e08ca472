// Summarise a V8 .cpuprofile (node --cpu-prof): self time per function, highest first, so a bench
// can say where a process spent its time without opening DevTools.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  readonly name: string;
  /** file:line, shortened to the part after the project root or node_modules */
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

function shorten(url: string): string {
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const src = u.search(/\/(src|bench|test)\//);
  return src >= 0 ? u.slice(src + 1) : u;
}

/** Top `n` functions by self time (samples × interval), idle and GC rows included as V8 names them. */
export function hotFunctions(path: string, n = 15): { totalMs: number; top: HotFunction[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const agg = new Map<string, { name: string; where: string; ms: number }>();
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shorten(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const e = agg.get(key) ?? { name, where, ms: 0 };
    e.ms += ms;
    agg.set(key, e);
  }
  const top = [...agg.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.ms, selfPct: (100 * e.ms) / Math.max(total, 1e-9) }));
  return { totalMs: total, top };
}

/**
 * Top `n` functions by inclusive time (self + callees), counting a function once per sample even
 * when it recurses. `filter` keeps only some call frames (e.g. the project's own files).
 */
export function inclusiveFunctions(path: string, n = 25, filter: (where: string) => boolean = () => true): { totalMs: number; top: HotFunction[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const keyOf = new Map<number, { key: string; name: string; where: string } | null>();
  for (const x of p.nodes) {
    const cf = x.callFrame;
    const where = cf.url ? `${shorten(cf.url)}:${cf.lineNumber + 1}` : '';
    const name = cf.functionName || '(anonymous)';
    keyOf.set(x.id, cf.url && filter(where) ? { key: `${name}@${where}`, name, where } : null);
  }
  const agg = new Map<string, { name: string; where: string; ms: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = p.samples[i]; id !== undefined; id = parent.get(id)) {
      const k = keyOf.get(id);
      if (!k || seen.has(k.key)) continue;
      seen.add(k.key);
      const e = agg.get(k.key) ?? { name: k.name, where: k.where, ms: 0 };
      e.ms += dt;
      agg.set(k.key, e);
    }
  }
  const top = [...agg.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.ms, selfPct: (100 * e.ms) / Math.max(total, 1e-9) }));
  return { totalMs: total, top };
}
