// The consensus ↔ application boundary. The consensus core never touches application state directly:
// it asks the app for transactions, asks it to execute them speculatively on a parent's post-state,
// and tells it which block hash a given execution belongs to. Commit is *not* part of this interface:
// the core emits a `commit` action and the node driver calls the chain's commit, then persists.

export interface ExecResult {
  readonly id: string;
  readonly stateRoot: Uint8Array;
  readonly txRoot: Uint8Array;
}

export interface ConsensusApp {
  /** Transactions for a new block at `height` on top of `parent` (whose post-state the app has). */
  selectTxs(parent: Uint8Array, height: number, maxTxs: number, maxBytes: number): Uint8Array[];
  /** Execute txs speculatively on the post-state of block `parent`; deterministic on every node.
   *  Throws AppError('unknown_parent') if it has no state for `parent`. The result is remembered under `id`. */
  execute(parent: Uint8Array, height: number, txs: readonly Uint8Array[]): ExecResult;
  /** The block with hash `blockHash` has the post-state of execution `id` (called once the header hash is known). */
  attach(id: string, blockHash: Uint8Array): void;
  /**
   * Optional: whether at least `n` transactions wait that `parent` and its uncommitted ancestors do
   * not already carry. A leader with a full block waiting proposes at once instead of pacing.
   */
  hasBacklog?(parent: Uint8Array, n: number): boolean;
}

export type AppErrorCode = 'unknown_parent' | 'unknown_execution' | 'bad_tx' | 'bad_block' | 'limit';

/** Typed error thrown by ConsensusApp implementations; `field` names the offending input. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly field: string = '',
  ) {
    super(message);
  }
}
