// A simulated validator running the real replica driver (src/driver/replica.ts) with the real
// ChainApp, mempool and MA engine (ma.wasm), restarted through the real recovery code. Only the
// world is fake: its disk (sim-disk.ts, surviving crashes), its clock and timers (the simulator's
// virtual time, skewed per node), its network (the simulator's router), and a signature pool that
// answers late, or not at all.
import { ChainApp, type ChainParams } from '../chain/app.ts';
import { Mempool } from '../chain/mempool.ts';
import { ConsensusCore } from '../consensus/core.ts';
import type { MessageType } from '../consensus/messages.ts';
import type { Block, ConsensusConfig, SigVerifier, Signer } from '../consensus/types.ts';
import { Verifier } from '../crypto/ed25519.ts';
import { loadSnapshot, replayLog } from '../driver/recovery.ts';
import { Replica } from '../driver/replica.ts';
import type { ReplicaClock, SigItem, SignaturePool, TimerHandle } from '../driver/world.ts';
import { MaEngine } from '../engine/engine.ts';
import type { MaParams } from '../engine/types.ts';
import type { ReplicaReader } from '../driver/poc-prover.ts';
import { encodeChainState } from '../consensus/chain-state.ts';
import { sha256, toHex } from '../crypto/sha256.ts';
import { fakeTxVerifier } from './keys.ts';
import { proverMisbehaviour, type PocSimBehaviour } from './poc-world.ts';
import { Crash, SimDisk } from './sim-disk.ts';
import type { SimClock, SimHost, SimNode } from './sim-node.ts';

export interface ReplicaNodeSpec {
  readonly id: number;
  readonly index: number;
  readonly honest: boolean;
  readonly clock: SimClock;
  readonly config: ConsensusConfig;
  readonly signer: Signer;
  readonly verifier: SigVerifier;
  readonly validators: number;
  readonly wasm: WebAssembly.Module;
  readonly ma: MaParams;
  readonly chain: ChainParams;
  readonly genesisHash: Uint8Array;
  readonly snapshotEvery: number;
  /** Longest a pool verification takes (ms of virtual time); some answers never come (null). */
  readonly poolLateMs: number;
  /** With PoC in the config: this validator's replica and what it does wrong (if anything). */
  readonly poc?: { readonly replica: ReplicaReader | null; readonly behaviour: PocSimBehaviour };
}

export class ReplicaNode implements SimNode {
  readonly asynchronous = true;
  readonly disk: SimDisk;
  alive = true;
  incarnation = 0;
  private replica!: Replica;
  private engine!: MaEngine;
  private application!: ChainApp;
  /** World operations left before an armed crash strikes (null: none armed). */
  private crashIn: number | null = null;
  private restartAfter = 0;

  constructor(
    private readonly spec: ReplicaNodeSpec,
    private readonly host: SimHost,
  ) {
    this.disk = new SimDisk((fire) => host.schedule(host.now() + host.rng.int(1, 50), fire));
    this.disk.gate = { step: () => this.step() };
  }

  get id(): number { return this.spec.id; }
  get index(): number { return this.spec.index; }
  get honest(): boolean { return this.spec.honest; }
  get clock(): SimClock { return this.spec.clock; }
  get core(): ConsensusCore { return this.replica.core; }
  get app(): ChainApp { return this.application; }
  get committedHeight(): number { return this.application.height; }
  get durableHeight(): number { return this.disk.log.length; }

  localNow(): number {
    return this.spec.clock.offset + Math.floor((this.host.now() * this.spec.clock.rate) / 1000);
  }

  /** Build this incarnation from the disk, exactly as a node process recovers. */
  async start(): Promise<void> {
    const s = this.spec;
    this.engine = await MaEngine.instantiate(s.wasm, s.ma);
    const mempool = new Mempool({ maxTxs: 5_000, maxBytes: 8 << 20, maxPerSender: 1_000, senderRate: { perSecond: 10_000, burst: 10_000 }, txWindow: s.chain.txWindow, maxTxBytes: s.chain.maxTxBytes });
    // Fake transaction signatures pass the fast path; anything else (a forgery) still meets ZIP-215.
    const verifier = new Verifier({ fast: fakeTxVerifier, global: { perSecond: 1_000_000, burst: 1_000_000 }, perClient: { perSecond: 1_000_000, burst: 1_000_000 } });
    const pocParams = s.config.poc?.params;
    const app = new ChainApp({ engine: this.engine, chain: s.chain, genesisHash: s.genesisHash, verifier, mempool, keepCommittedStates: pocParams === undefined ? 0 : pocParams.popWindow + 2 });
    this.application = app;
    const bounds = { maxTxsPerBlock: s.chain.maxTxsPerBlock, maxTxBytes: s.chain.maxTxBytes };
    const start = await loadSnapshot(this.disk, app, bounds);
    // The PoC rules read two chain facts (which row a transaction writes, and its leaf index) from the app.
    const config: ConsensusConfig = s.config.poc === undefined ? s.config : { ...s.config, poc: { ...s.config.poc, targetOf: (tx) => app.targetOf(tx), rowIndex: (t) => app.rowIndex(t) } };
    const core = new ConsensusCore(config, app, s.signer, s.verifier, this.disk.safety, start.tip);
    if (start.consensusState) core.importState(start.consensusState);
    const replay = await replayLog(this.disk, app, core, start.fromHeight, bounds, () => undefined);
    const incarnation = this.incarnation;
    const live = () => this.alive && this.incarnation === incarnation;
    const clock: ReplicaClock = {
      now: () => this.localNow(),
      setTimer: (localAt, fire) => this.host.schedule(this.globalAt(localAt), () => live() && fire(), this),
      clearTimer: (h: TimerHandle) => this.host.cancel(h as number),
    };
    this.replica = new Replica({
      config: { index: s.index, validators: s.validators, maxTxsPerBlock: s.chain.maxTxsPerBlock, maxTxBytes: s.chain.maxTxBytes, snapshotEvery: s.snapshotEvery, snapshotTxs: 1_000_000 },
      core, app, storage: this.disk, clock, pool: this.pool(live),
      tipQc: replay.tipQc ?? start.tip?.qc ?? core.highestQC,
      logger: { debug() {}, info() {}, warn() {}, error: (msg) => live() && this.host.note(this, { type: 'log', level: 'error', msg }) },
      network: {
        send: (to, kind, bytes) => this.wire(to, kind, bytes),
        broadcast: (kind, bytes) => this.wire('all', kind, bytes),
      },
      observer: {
        committed: (commits) => {
          for (const c of commits) {
            const applied = c.result.receipts.filter((r) => r.status === 'applied' && r.txid !== null).map((r) => r.txid!);
            this.host.committed(this, c.block, c.qc, c.result.stateRoot, applied);
          }
          const last = commits[commits.length - 1];
          if (last !== undefined && this.host.consensusState !== undefined) this.host.consensusState(this, last.block.header.height, toHex(sha256(encodeChainState(core.committedState))));
        },
        note: (n) => live() && this.host.note(this, n),
      },
      ...(pocParams !== undefined && s.poc !== undefined ? {
        poc: {
          chainId: s.chain.chainId, self: s.index, epochLength: s.config.epochLength, params: pocParams, sign: (m: Uint8Array) => s.signer.sign(m),
          replica: () => s.poc!.replica, ...(proverMisbehaviour(s.poc.behaviour) !== undefined ? { misbehave: proverMisbehaviour(s.poc.behaviour)! } : {}),
        },
      } : {}),
      onFatal: (e) => {
        if (e instanceof Crash || !live()) return;
        // What makes a real validator exit: a bug the simulation must report, and a crash.
        this.host.note(this, { type: 'log', level: 'error', msg: `fatal: ${e.message}` });
        this.die();
      },
    });
    // A validator down from the start is built (its core answers the stats) but never runs.
    if (this.alive) await this.replica.start([...this.disk.pending.values()] as Block[]);
  }

  deliver(from: number, kind: MessageType | 'txs', bytes: Uint8Array): void {
    if (this.alive) this.replica.receive(from, kind, bytes);
  }

  submit(txs: readonly Uint8Array[]): void {
    // A crash point may be reached while the admitted transactions are gossiped.
    if (this.alive) this.replica.admission.admitBatch(txs, 'sim-client').catch((e: unknown) => { if (!(e instanceof Crash)) throw e; });
  }

  armCrash(restartAfter: number): void {
    this.crashIn = this.host.rng.int(0, 3);
    this.restartAfter = restartAfter;
  }

  crash(): void {
    this.alive = false;
    this.crashIn = null;
    this.disk.crashed();
  }

  async restart(): Promise<void> {
    if (this.alive) return;
    this.alive = true;
    this.incarnation++;
    await this.start();
  }

  /** An armed crash that no world operation reached: it strikes at the end of the input. */
  settleCrash(): void {
    if (this.crashIn !== null && this.alive) this.die();
  }

  private die(): void {
    this.crash();
    this.host.died(this, this.restartAfter);
  }

  /** Every world operation passes here: a dead node does nothing, an armed crash strikes before one. */
  private step(): void {
    if (!this.alive) throw new Crash('node is down');
    if (this.crashIn === null) return;
    if (this.crashIn-- > 0) return;
    this.die();
    throw new Crash('crash point reached');
  }

  private wire(to: number | 'all', kind: MessageType | 'txs', bytes: Uint8Array): void {
    this.step();
    this.host.send(this, to, kind, bytes);
  }

  private globalAt(localAt: number): number {
    return Math.max(this.host.now(), Math.ceil(((localAt - this.spec.clock.offset) * 1000) / this.spec.clock.rate));
  }

  /** A pool that answers after up to poolLateMs, and 1 time in 20 not at all (the replica verifies itself). */
  private pool(live: () => boolean): SignaturePool {
    return {
      verify: (items: readonly SigItem[]) => new Promise<boolean[] | null>((resolve) => {
        const unanswered = this.host.rng.chance(0.05);
        this.host.schedule(this.host.now() + this.host.rng.int(0, this.spec.poolLateMs), () => {
          if (!live() || unanswered) return resolve(null);
          resolve(items.map((i) => fakeTxVerifier.verify(i.publicKey, i.message, i.signature)));
        });
      }),
    };
  }
}
