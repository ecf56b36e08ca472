// What the simulator's event loop knows of a validator instance, whichever way it runs: the real
// replica driver with the real ChainApp and engine (replica-node.ts, what CI sweeps) or the bare
// consensus core with a fake app (core-node.ts, a fast mode for long offline sweeps).
import type { ConsensusCore } from '../consensus/core.ts';
import type { MessageType } from '../consensus/messages.ts';
import type { Note } from '../consensus/ready.ts';
import type { Block, QC } from '../consensus/types.ts';
import type { ExecResult } from '../consensus/app.ts';
import type { Prng } from './prng.ts';

/** A validator's local clock: offset + now × rate / 1000 (rate 1000: no skew). */
export interface SimClock {
  readonly offset: number;
  readonly rate: number;
}

/** What a node may ask of the simulated world. */
export interface SimHost {
  /** Global virtual time (ms). */
  now(): number;
  readonly rng: Prng;
  /** Route `bytes` from `from` through the simulated network. */
  send(from: SimNode, to: number | 'all', kind: MessageType | 'txs', bytes: Uint8Array): void;
  /**
   * Run `fire` at global time `at` (never before now); returns a handle for cancel(). `owner`: the
   * node whose input this is (it may crash during it, like during a delivery).
   */
  schedule(at: number, fire: () => void, owner?: SimNode): number;
  cancel(handle: number): void;
  /** A block this node committed (and, in replica mode, made durable), with the state root it reached. */
  committed(node: SimNode, block: Block, qc: QC, stateRoot: Uint8Array | undefined, appliedTxids: readonly string[]): void;
  note(node: SimNode, note: Note): void;
  /** The digest of the consensus state a node reached at `height` (replica mode). */
  consensusState?(node: SimNode, height: number, digest: string): void;
  /** The node died (a crash point was reached, or its power was cut); it restarts after `restartAfter` ms. */
  died(node: SimNode, restartAfter: number): void;
}

export interface SimNode {
  readonly id: number;
  readonly index: number;
  readonly honest: boolean;
  readonly clock: SimClock;
  readonly alive: boolean;
  /** Bumped at every restart. */
  readonly incarnation: number;
  /** The live core (the adversary and the targeted attacks read it). */
  readonly core: ConsensusCore;
  readonly app: { execute(parent: Uint8Array, height: number, txs: readonly Uint8Array[]): ExecResult };
  /** The node's local time now. */
  localNow(): number;
  start(): Promise<void>;
  deliver(from: number, kind: MessageType | 'txs', bytes: Uint8Array): void;
  /** Arm a crash: the node dies at one of its next few world operations (or at the end of this input). */
  armCrash(restartAfter: number): void;
  /** An armed crash that no world operation reached strikes now (replica mode; core mode settles within the input). */
  settleCrash?(): void;
  /** Power cut or kill: down now, with whatever was durable. */
  crash(): void;
  restart(): Promise<void>;
  /** Committed height of the current incarnation (what it recovered to, then commits). */
  readonly committedHeight: number;
  /** Height of the committed log that survives a crash now: where the next incarnation starts. */
  readonly durableHeight: number;
  /** Submit client transactions (replica mode only; a no-op in core mode). */
  submit?(txs: readonly Uint8Array[]): void;
  /** Whether async work may be waiting on the event loop (replica mode): the simulator then yields after its events. */
  readonly asynchronous: boolean;
}
