// Fast mode: a bare consensus core with a fake app (a hash chain for a state root), performing its
// Ready batches itself in the batch's order. Several times faster than the real replica, for long
// offline sweeps and the consensus-rule tests; CI's sweep runs replica-node.ts.
import { genesisQC } from '../consensus/block.ts';
import { ConsensusCore } from '../consensus/core.ts';
import type { MessageType } from '../consensus/messages.ts';
import type { Ready } from '../consensus/ready.ts';
import type { Block, ConsensusConfig, QC, SafetyState } from '../consensus/types.ts';
import type { SigVerifier, Signer } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import { FakeApp } from './fake-app.ts';
import type { Prng } from './prng.ts';
import type { SimClock, SimHost, SimNode } from './sim-node.ts';

export interface CoreNodeSpec {
  readonly id: number;
  readonly index: number;
  readonly honest: boolean;
  readonly clock: SimClock;
  readonly config: ConsensusConfig;
  readonly signer: Signer;
  readonly verifier: SigVerifier;
  readonly genesis: Block;
  readonly genesisRoot: Uint8Array;
}

export class CoreNode implements SimNode {
  readonly asynchronous = false;
  core: ConsensusCore;
  app: FakeApp;
  alive = true;
  incarnation = 0;
  private durableSafety: SafetyState | null = null;
  private readonly log: { block: Block; qc: QC }[] = [];
  private syncedLen = 0;
  /** Durable store of uncommitted blocks (persistBlock), pruned up to the synced log height. */
  private readonly blockStore = new Map<string, Block>();
  private timer = -1;
  private crashAfter: number | null = null;

  constructor(
    private readonly spec: CoreNodeSpec,
    private readonly host: SimHost,
  ) {
    const { core, app } = this.build(host.rng.fork());
    this.core = core;
    this.app = app;
  }

  get id(): number { return this.spec.id; }
  get index(): number { return this.spec.index; }
  get honest(): boolean { return this.spec.honest; }
  get clock(): SimClock { return this.spec.clock; }
  get committedHeight(): number { return this.core.committedHeight; }
  get durableHeight(): number { return this.log.length; }

  localNow(): number {
    return this.spec.clock.offset + Math.floor((this.host.now() * this.spec.clock.rate) / 1000);
  }

  private build(appRng: Prng): { core: ConsensusCore; app: FakeApp } {
    const s = this.spec;
    const app = new FakeApp(s.genesis.hash, s.genesisRoot, appRng);
    const core = new ConsensusCore(s.config, app, s.signer, s.verifier, this.durableSafety, { block: s.genesis, qc: genesisQC(s.genesis.hash) });
    for (const { block, qc } of this.log) {
      const r = app.execute(block.header.parentHash, block.header.height, block.txs);
      app.attach(r.id, block.hash);
      core.replayCommitted(block, qc);
    }
    return { core, app };
  }

  async start(): Promise<void> {
    if (this.alive) this.perform(this.core.start(this.localNow()));
  }

  deliver(from: number, _kind: MessageType | 'txs', bytes: Uint8Array): void {
    if (this.alive) this.perform(this.core.onMessage(from, bytes, this.localNow()));
  }

  armCrash(restartAfter: number): void {
    this.crashAfter = restartAfter;
  }

  crash(): void {
    this.alive = false;
    this.host.cancel(this.timer);
    this.log.length = this.syncedLen; // commit-log writes that were never fsynced are lost
  }

  async restart(): Promise<void> {
    if (this.alive) return;
    const { core, app } = this.build(this.host.rng.fork());
    this.core = core;
    this.app = app;
    this.alive = true;
    this.incarnation++;
    this.perform(core.restoreBlocks([...this.blockStore.values()], this.localNow()));
    if (this.alive) this.perform(core.start(this.localNow()));
  }

  /**
   * The batch in its order. An armed crash strikes between two of its steps (or after the last):
   * nothing after it happens, and a write it interrupts never became durable.
   */
  private perform(ready: Ready): void {
    const steps: (() => void)[] = [];
    for (const b of ready.blocks) steps.push(() => this.blockStore.set(toHex(b.hash), b));
    const safety = ready.safety;
    if (safety !== null) steps.push(() => { this.durableSafety = safety; });
    for (const m of ready.messages) steps.push(() => this.host.send(this, m.to, m.kind, m.bytes));
    for (const c of ready.commits) steps.push(() => this.commit(c.block, c.qc));
    const timerAt = ready.timerAt;
    if (timerAt !== null) steps.push(() => this.setTimer(timerAt));
    for (const n of ready.notes) steps.push(() => this.host.note(this, n));
    const cut = this.crashAfter === null ? -1 : this.host.rng.int(0, steps.length);
    for (let i = 0; i < steps.length; i++) {
      if (i === cut) return this.die();
      steps[i]!();
    }
    if (cut === steps.length) this.die();
  }

  private die(): void {
    const after = this.crashAfter ?? 0;
    this.crashAfter = null;
    this.crash();
    this.host.died(this, after);
  }

  private commit(block: Block, qc: QC): void {
    this.host.committed(this, block, qc, this.app.rootOf(block.hash), []);
    this.log.push({ block, qc });
    if (this.host.rng.chance(0.3)) {
      this.syncedLen = this.log.length;
      for (const [k, b] of this.blockStore) if (b.header.height <= this.syncedLen) this.blockStore.delete(k);
    }
  }

  private setTimer(localAt: number): void {
    this.host.cancel(this.timer);
    // The core's deadline is on its own clock: the first global ms at which that clock reaches it.
    const at = Math.ceil(((localAt - this.spec.clock.offset) * 1000) / this.spec.clock.rate);
    this.timer = this.host.schedule(Math.max(at, this.host.now()), () => {
      if (this.alive) this.perform(this.core.onTimer(this.localNow()));
    }, this);
  }
}
