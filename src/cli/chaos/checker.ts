// The Jepsen-style check of a chaos run, over plain data so it can be tested on fabricated
// histories: a checker that never fires on a real run proves nothing unless it is seen to fire.
//
// Inputs: what clients observed committed while faults were injected (txid at height/index, from
// which node), and after healing, each height's block hash and state root on every node plus the
// txids of the agreed block. Violations:
//   divergent  nodes disagree on a block hash or state root, or one lacks a block below the checked height
//   duplicate  one txid committed at two positions of the chain
//   conflict   two observations of one txid at different positions
//   lost       observed committed, absent from the final chain
//   moved      observed committed at one position, now at another
//   stalled    commits did not resume within the bound after healing
//   crashed    a validator exited that the run did not stop (added by the runner)

export interface Observation {
  readonly txid: string;
  readonly node: number;
  readonly height: number;
  readonly index: number;
}

export interface HeightRow {
  readonly height: number;
  /** per node; null when the node has no block at this height */
  readonly hashes: readonly (string | null)[];
  readonly stateRoots: readonly (string | null)[];
  /** the txids of the block, in order (from any node whose block agrees) */
  readonly txids: readonly string[];
}

export type ViolationKind = 'divergent' | 'duplicate' | 'conflict' | 'lost' | 'moved' | 'stalled' | 'crashed';

export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

export interface CheckInput {
  readonly observed: Iterable<Observation>;
  /** heights 1..checkedHeight, in order */
  readonly rows: readonly HeightRow[];
  /** ms from the last heal to the first new commit; null if none came */
  readonly resumeMs: number | null;
  readonly resumeBoundMs: number;
}

export interface CheckResult {
  readonly checkedHeight: number;
  /** txids in the agreed chain */
  readonly chainTxs: number;
  /** distinct txids observed committed */
  readonly observedTxs: number;
  readonly violations: readonly Violation[];
}

/** Violation lists are capped per kind (the counts are not): a broken run must not flood the output. */
const MAX_DETAILS = 20;

export function checkHistory(input: CheckInput): CheckResult {
  const violations: Violation[] = [];
  const counts = new Map<ViolationKind, number>();
  const add = (kind: ViolationKind, detail: string): void => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    violations.push({ kind, detail: n <= MAX_DETAILS ? detail : '' });
  };

  const positions = new Map<string, { height: number; index: number }>();
  let chainTxs = 0;
  for (const row of input.rows) {
    const h0 = row.hashes[0] ?? null;
    const r0 = row.stateRoots[0] ?? null;
    const bad = row.hashes.some((h) => h === null || h !== h0) || row.stateRoots.some((r) => r === null || r !== r0);
    if (bad) add('divergent', `height ${row.height}: hashes ${JSON.stringify(row.hashes)}, state roots ${JSON.stringify(row.stateRoots)}`);
    row.txids.forEach((txid, index) => {
      chainTxs++;
      const prev = positions.get(txid);
      if (prev !== undefined) add('duplicate', `${txid} at ${prev.height}/${prev.index} and ${row.height}/${index}`);
      else positions.set(txid, { height: row.height, index });
    });
  }
  const checkedHeight = input.rows.length === 0 ? 0 : input.rows[input.rows.length - 1]!.height;

  const firstSeen = new Map<string, Observation>();
  for (const o of input.observed) {
    const prev = firstSeen.get(o.txid);
    if (prev === undefined) firstSeen.set(o.txid, o);
    else if (prev.height !== o.height || prev.index !== o.index) {
      add('conflict', `${o.txid}: node ${prev.node} reported ${prev.height}/${prev.index}, node ${o.node} ${o.height}/${o.index}`);
    }
  }
  for (const o of firstSeen.values()) {
    // Above the checked height the chain was not read, so absence there proves nothing.
    if (o.height > checkedHeight) continue;
    const now = positions.get(o.txid);
    if (now === undefined) add('lost', `${o.txid}: node ${o.node} reported it at ${o.height}/${o.index}; not in the chain`);
    else if (now.height !== o.height || now.index !== o.index) add('moved', `${o.txid}: reported at ${o.height}/${o.index}, now at ${now.height}/${now.index}`);
  }

  if (input.resumeMs === null || input.resumeMs > input.resumeBoundMs) {
    add('stalled', input.resumeMs === null ? `no commit after healing (bound ${input.resumeBoundMs} ms)` : `first commit ${input.resumeMs} ms after healing (bound ${input.resumeBoundMs} ms)`);
  }
  return { checkedHeight, chainTxs, observedTxs: firstSeen.size, violations };
}

export function countByKind(vs: readonly Violation[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of vs) out[v.kind] = (out[v.kind] ?? 0) + 1;
  return out;
}
