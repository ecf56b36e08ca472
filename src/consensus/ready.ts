// What one input to the consensus core produced, as one typed batch (etcd raft's `Ready`). Its
// fields are in the order a driver must make them happen, so the order is the shape of the data,
// not a convention: `blocks` and then `safety` must be durable before any of `messages` leaves
// (they are what forbids signing a conflicting message after a crash); `commits` are applied and
// logged after; the rest is bookkeeping. Persisting earlier than the core produced a state is always
// safe (safety states only grow), so one batch per input loses nothing against a list of actions.
import type { SlashingEvent } from './chain-state.ts';
import type { PocOutcome } from './poc-state.ts';
import type { MessageType } from './messages.ts';
import type { Block, Evidence, QC, SafetyState } from './types.ts';

export interface OutMessage {
  /** A validator index, or every other validator. */
  readonly to: number | 'all';
  readonly kind: MessageType;
  readonly bytes: Uint8Array;
}

export interface Commit {
  readonly block: Block;
  /** The QC certifying `block` (its child's justify). */
  readonly qc: QC;
}

export interface StateRootMismatch {
  readonly height: number;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly proposer: number;
  readonly ours: Uint8Array;
  readonly theirs: Uint8Array;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Things the driver reports (logs, metrics); none of them changes what it must persist or send. */
export type Note =
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  | { readonly type: 'slashing'; readonly event: SlashingEvent }
  /** A validator's proof-of-capacity result for an epoch, decided by a committed block. */
  | { readonly type: 'poc_outcome'; readonly outcome: PocOutcome }
  | ({ readonly type: 'state_root_mismatch' } & StateRootMismatch)
  | { readonly type: 'log'; readonly level: LogLevel; readonly msg: string };

export interface Ready {
  /** Uncommitted blocks to store durably, first (restore them with restoreBlocks() after a restart). */
  readonly blocks: readonly Block[];
  /** Then the safety state to store durably (the latest of this input; null: unchanged). */
  readonly safety: SafetyState | null;
  /** Only once both are durable: messages to send, in order. */
  readonly messages: readonly OutMessage[];
  /** Blocks committed by this input, in height order: apply them to the app, then log them. */
  readonly commits: readonly Commit[];
  /** The new deadline for onTimer(now ≥ timerAt), or null if it did not change. */
  readonly timerAt: number | null;
  readonly notes: readonly Note[];
}

/** Collects one input's output. Mutable while the core runs; handed out as a `Ready`. */
export class ReadyBuilder {
  blocks: Block[] = [];
  safety: SafetyState | null = null;
  messages: OutMessage[] = [];
  commits: Commit[] = [];
  timerAt: number | null = null;
  notes: Note[] = [];

  take(): Ready {
    const r: Ready = { blocks: this.blocks, safety: this.safety, messages: this.messages, commits: this.commits, timerAt: this.timerAt, notes: this.notes };
    this.blocks = [];
    this.safety = null;
    this.messages = [];
    this.commits = [];
    this.timerAt = null;
    this.notes = [];
    return r;
  }
}

/** Nothing happened. */
export const EMPTY_READY: Ready = Object.freeze({ blocks: [], safety: null, messages: [], commits: [], timerAt: null, notes: [] });
