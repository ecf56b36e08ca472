// Shared fixtures for consensus tests: fake keys, validators, and a tiny synchronous cluster.
import { genesisBlock, genesisQC } from '../../src/consensus/block.ts';
import { ConsensusCore } from '../../src/consensus/core.ts';
import type { Note, Ready } from '../../src/consensus/ready.ts';
import type { Block, ConsensusConfig, QC, SafetyState, UnsafeSwitches, Validator } from '../../src/consensus/types.ts';
import { FakeApp } from '../../src/sim/fake-app.ts';
import { fakeKey, fakeVerifier, type SimKey } from '../../src/sim/keys.ts';
import { Prng } from '../../src/sim/prng.ts';

export const ROOT0 = new Uint8Array(32);

export function setup(powers: readonly number[], seed = 7): { keys: SimKey[]; validators: Validator[]; chainId: string } {
  const keys = powers.map((_, i) => fakeKey(seed, i));
  return { keys, validators: keys.map((k, i) => ({ publicKey: k.publicKey, power: powers[i]! })), chainId: `test-${seed}` };
}

export function config(validators: Validator[], chainId: string, self: number, extra: Partial<ConsensusConfig> = {}): ConsensusConfig {
  return { chainId, validators, self, genesis: { timeMs: 0, stateRoot: ROOT0 }, epochLength: 8, timeoutBaseMs: 1000, ...extra };
}

export function makeCore(powers: readonly number[], self: number, opts: { seed?: number; safety?: SafetyState | null; unsafe?: UnsafeSwitches; extra?: Partial<ConsensusConfig> } = {}) {
  const { keys, validators, chainId } = setup(powers, opts.seed ?? 7);
  const genesis = genesisBlock(chainId, 0, ROOT0, validators);
  const app = new FakeApp(genesis.hash, ROOT0, new Prng(100 + self));
  const core = new ConsensusCore(config(validators, chainId, self, { unsafe: opts.unsafe, ...opts.extra }), app, self >= 0 ? keys[self]!.signer : null, fakeVerifier, opts.safety ?? null, { block: genesis, qc: genesisQC(genesis.hash) });
  return { core, app, keys, validators, chainId, genesis };
}

/** One element of a Ready batch, for tests that look at a node's output over time as one list. */
export type Action =
  | { readonly type: 'persistBlock'; readonly block: Block }
  | { readonly type: 'persist'; readonly safety: SafetyState }
  | { readonly type: 'send'; readonly to: number | 'all'; readonly kind: string; readonly bytes: Uint8Array }
  | { readonly type: 'commit'; readonly block: Block; readonly qc: QC }
  | { readonly type: 'setTimer'; readonly at: number }
  | Note;

/** A Ready batch as a list, in the order the driver contract performs it. */
export function flat(r: Ready): Action[] {
  const out: Action[] = [];
  for (const block of r.blocks) out.push({ type: 'persistBlock', block });
  if (r.safety !== null) out.push({ type: 'persist', safety: r.safety });
  for (const m of r.messages) out.push({ type: 'send', ...m });
  for (const c of r.commits) out.push({ type: 'commit', ...c });
  if (r.timerAt !== null) out.push({ type: 'setTimer', at: r.timerAt });
  out.push(...r.notes);
  return out;
}

export function sends(r: Ready | Action[], kind?: string) {
  const actions = Array.isArray(r) ? r : flat(r);
  return actions.filter((a): a is Extract<Action, { type: 'send' }> => a.type === 'send' && (kind === undefined || a.kind === kind));
}

export function commits(r: Ready | Action[]): Block[] {
  const actions = Array.isArray(r) ? r : flat(r);
  return actions.filter((a): a is Extract<Action, { type: 'commit' }> => a.type === 'commit').map((a) => a.block);
}

/**
 * A lossless in-order cluster: every send is delivered FIFO. `filter` may drop messages.
 * Returns all actions per node for inspection.
 */
export class Cluster {
  readonly nodes: ReturnType<typeof makeCore>[];
  readonly queue: { from: number; to: number; bytes: Uint8Array; kind: string }[] = [];
  readonly actions: Action[][];
  now = 0;
  filter: (m: { from: number; to: number; kind: string }) => boolean = () => true;
  readonly timers: number[];

  constructor(powers: readonly number[], opts: { seed?: number; extra?: Partial<ConsensusConfig> } = {}) {
    this.nodes = powers.map((_, i) => makeCore(powers, i, opts));
    this.actions = powers.map(() => []);
    this.timers = powers.map(() => Number.POSITIVE_INFINITY);
  }

  readonly batches: Action[][][] = [];

  handle(i: number, ready: Ready | Action[]): void {
    const acts = Array.isArray(ready) ? ready : flat(ready);
    this.actions[i]!.push(...acts);
    (this.batches[i] ??= []).push(acts);
    for (const a of acts) {
      if (a.type === 'setTimer') this.timers[i] = a.at;
      if (a.type !== 'send') continue;
      const targets = a.to === 'all' ? this.nodes.map((_, j) => j).filter((j) => j !== i) : [a.to];
      for (const t of targets) if (this.filter({ from: i, to: t, kind: a.kind })) this.queue.push({ from: i, to: t, bytes: a.bytes, kind: a.kind });
    }
  }

  start(): void {
    this.nodes.forEach((n, i) => this.handle(i, n.core.start(this.now)));
  }

  /** Deliver queued messages, fire due timers; advance time by `step` when idle. */
  run(untilMs: number, step = 10, maxMessages = 100_000): void {
    let delivered = 0;
    while (this.now <= untilMs && delivered < maxMessages) {
      const m = this.queue.shift();
      if (m !== undefined) {
        delivered++;
        this.handle(m.to, this.nodes[m.to]!.core.onMessage(m.from, m.bytes, this.now));
        continue;
      }
      let fired = false;
      this.nodes.forEach((n, i) => {
        if (this.timers[i]! <= this.now) {
          this.timers[i] = Number.POSITIVE_INFINITY;
          this.handle(i, n.core.onTimer(this.now));
          fired = true;
        }
      });
      if (!fired) this.now += step;
    }
  }

  committed(i: number): Block[] {
    return commits(this.actions[i]!);
  }
}
