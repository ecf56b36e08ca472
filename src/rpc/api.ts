// What the HTTP layer needs from a running node. The node implements it; the RPC server only
// translates HTTP to these calls and back, so the server can be tested against a fake node.
import type { RowTarget } from '../engine/types.ts';

export type SubmitResult =
  | { readonly accepted: true; readonly txid: string }
  | {
      readonly accepted: false;
      readonly txid: string | null;
      /** machine-readable reason, e.g. bad_signature, duplicate, mempool_full, sender_rate, busy, bad_vec_value */
      readonly code: string;
      /** the offending field ('' when the transaction as a whole is refused) */
      readonly field: string;
      readonly message: string;
      /** 400 malformed, 409 duplicate/replay, 422 invalid, 429 rate or budget, 503 full or unavailable */
      readonly status: number;
    };

/** Committed receipt (from src/chain/receipts.ts), as JSON. */
export type ReceiptJson = Readonly<Record<string, unknown>> & { readonly txid: string | null; readonly height: number; readonly status: 'applied' | 'rejected' };

/** A committed block as JSON: header fields in hex, the txids in order, and the receipts. */
export interface BlockJson {
  readonly height: number;
  readonly hash: string;
  readonly parent: string;
  readonly stateRoot: string;
  readonly txRoot: string;
  /** proposer's clock, ms since epoch; never used by execution */
  readonly timestamp: number;
  readonly txids: readonly (string | null)[];
  readonly receipts?: readonly ReceiptJson[];
  readonly [extra: string]: unknown;
}

export interface HealthJson {
  /** false while the node is paused (a full disk); `reason` then says why (absent from older nodes) */
  readonly ok?: boolean;
  readonly reason?: string;
  readonly chainId: string;
  readonly nodeIndex: number;
  readonly height: number;
  readonly stateRoot: string;
  /** proposer timestamp of the latest committed block, ms; null at genesis */
  readonly lastBlockTime: number | null;
  readonly syncing: boolean;
  readonly peers: number;
  readonly validators: number;
  readonly version: string;
  readonly engineSha256: string;
  readonly [extra: string]: unknown;
}

/** What a client needs to build valid transactions. */
export interface ParamsJson {
  readonly chainId: string;
  readonly ma: { readonly shards: number; readonly layers: number; readonly slots: number; readonly dim: number; readonly q: number; readonly decay: number; readonly clip: number };
  readonly bound: number;
  readonly txWindow: number;
  readonly maxTxBytes: number;
  readonly maxBatch: number;
}

export interface StateJson {
  readonly height: number;
  readonly stateRoot: string;
  readonly shard: number;
  readonly layer: number;
  readonly slot: number;
  readonly index: number;
  readonly rows: number;
  readonly values: readonly number[];
  /** RFC 6962 audit path, bottom-up, hex */
  readonly path: readonly string[];
}

/** GET /genesis: the genesis document every node started from (a light client's trust root). */
export interface GenesisJson {
  readonly version: number;
  readonly chainId: string;
  readonly genesisTime: number;
  readonly engine: { readonly sha256: string };
  readonly ma: ParamsJson['ma'];
  readonly chain: { readonly txWindow: number; readonly maxTxsPerBlock: number; readonly maxBlockBytes: number; readonly maxTxBytes: number };
  readonly consensus: Readonly<Record<string, number>>;
  readonly validators: readonly { readonly index: number; readonly name: string; readonly publicKey: string; readonly bond: number; readonly gossip: string; readonly rpc: string }[];
}

/** One committed block as canonical bytes, for light clients (GET /blocks). */
export interface RawBlockJson {
  readonly height: number;
  /** base64 of the canonical block [header, txs] (src/consensus/block.ts); its hash is recomputed by the reader */
  readonly block: string;
  /** base64 of the canonical QC certifying this block (votes for it, a quorum of bonded power) */
  readonly qc: string;
  /** the receipts the node's execution produced (a replaying client compares its own) */
  readonly receipts: readonly ReceiptJson[];
}

export interface RawBlocksJson {
  /** the node's committed (fsynced) height when it answered */
  readonly height: number;
  /** consecutive blocks from the height asked for; empty when it is not committed (within ?wait) */
  readonly blocks: readonly RawBlockJson[];
}

/** GET /snapshot/latest: the node's newest snapshot, as written to disk. */
export interface SnapshotJson {
  readonly height: number;
  /** base64 of the chain state: encodeSnapshot() of src/chain/snapshot.ts (tensor, root, replay index) */
  readonly chain: string;
  /** base64 of canonical [block, qc]: the committed block at `height` and the QC certifying it */
  readonly tip: string;
}

export interface NodeApi {
  /** Admission to the mempool (not commit). `tx` is the JSON form or the canonical wire bytes. */
  submit(tx: unknown | Uint8Array, clientKey: string): SubmitResult;
  /** Optional batch admission (e.g. signatures verified on worker threads); results in order. */
  submitBatch?(txs: readonly unknown[], clientKey: string): Promise<SubmitResult[]>;
  health(): HealthJson;
  params(): ParamsJson;
  /** null when that height is not committed (yet). */
  block(height: number | 'latest'): Promise<BlockJson | null>;
  /** Resolves with the block once committed, or null after `timeoutMs` (bounded number of waiters). */
  waitBlock(height: number, timeoutMs: number): Promise<BlockJson | null>;
  /** null until committed (or if pruned from the bounded receipt index). */
  receipt(txid: string): ReceiptJson | null;
  /** Resolves with the receipt once committed, or null after `timeoutMs`. */
  waitReceipt(txid: string, timeoutMs: number): Promise<ReceiptJson | null>;
  /** The committed row and its proof; throws MaError for a bad target. */
  state(t: RowTarget): StateJson | Promise<StateJson>;
  /** Committed evidence and current voting powers. */
  evidence(): unknown;
  /** Every validator: bond, effective power, leader weight and, with PoC, its proofs (ValidatorsJson). */
  validators?(): ValidatorsJson;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  /** The genesis document (GET /genesis). */
  genesis?(): GenesisJson;
  /** Up to `count` committed blocks from `from` on, as canonical bytes, stopping once `maxBytes` of base64 is exceeded (at least one). */
  rawBlocks?(from: number, count: number, maxBytes: number): Promise<RawBlockJson[]>;
  /** The newest valid snapshot, or null when none was written yet. */
  latestSnapshot?(): Promise<SnapshotJson | null>;
}

/** GET /validators: who leads how often, and why (docs/poc-pop.md, "Weight"). */
export interface ValidatorsJson {
  readonly epoch: number;
  readonly height: number;
  /** false: the chain has no proof of capacity (leader weight = effective power) */
  readonly poc: boolean;
  readonly validators: readonly ValidatorJson[];
}

export interface ValidatorJson {
  readonly index: number;
  readonly name: string;
  readonly publicKey: string;
  /** bonded power: what QCs and TCs count; never changes */
  readonly votingPower: number;
  /** bond after slashing and RANDAO penalties */
  readonly effectivePower: number;
  /** this epoch's leader weight (effective power × the PoC factor) */
  readonly leaderWeight: number;
  readonly poc?: {
    /** commitment challenged this epoch (null: none in force) */
    readonly active: { readonly root: string; readonly chunks: number } | null;
    /** commitment in force from the next epoch */
    readonly pending: { readonly root: string; readonly chunks: number } | null;
    readonly capacityPermille: number;
    readonly reliabilityPermille: number;
    readonly answeredThisEpoch: boolean;
    /** recent epoch outcomes committed, newest last */
    readonly history: readonly { readonly epoch: number; readonly outcome: string; readonly reliability: number }[];
  };
}

