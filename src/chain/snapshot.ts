// Committed chain state as one canonical byte string, so a node can restart (or a new node can
// start) from a snapshot instead of replaying every block. ChainApp.exportState/importState produce
// and consume the structured form; the store persists the bytes.
import { encodeCanonical, decodeCanonical, CanonicalError, type Canon } from '../codec/canonical.ts';

export const SNAPSHOT_DOMAIN = 'numchain/snapshot/v1';

/** Committed state written to and read from a snapshot. */
export interface ChainSnapshot {
  readonly chainId: string;
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly stateRoot: Uint8Array;
  /** rows × dim int32 little-endian */
  readonly tensor: Uint8Array;
  /** ReplayIndex.export() */
  readonly replay: Canon;
}

/** Canonical bytes of a snapshot: [domain, chainId, height, blockHash, stateRoot, tensor, replay]. */
export function encodeSnapshot(s: ChainSnapshot): Uint8Array {
  return encodeCanonical([SNAPSHOT_DOMAIN, s.chainId, s.height, s.blockHash, s.stateRoot, s.tensor, s.replay]);
}

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly code = 'bad_snapshot';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parse snapshot bytes (structure only; ChainApp.importState checks the root and the index). */
export function decodeSnapshot(bytes: Uint8Array, maxBytes: number): ChainSnapshot {
  let v: Canon;
  try {
    v = decodeCanonical(bytes, maxBytes);
  } catch (e) {
    if (e instanceof CanonicalError) throw new SnapshotError('snapshot', e.message);
    throw e;
  }
  if (!Array.isArray(v) || v.length !== 7) throw new SnapshotError('snapshot', 'snapshot must be an array of 7 fields');
  const [domain, chainId, height, blockHash, stateRoot, tensor, replay] = v as readonly Canon[];
  if (domain !== SNAPSHOT_DOMAIN) throw new SnapshotError('domain', `domain tag must be '${SNAPSHOT_DOMAIN}'`);
  if (typeof chainId !== 'string') throw new SnapshotError('chainId', 'chainId must be a string');
  if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) throw new SnapshotError('height', 'height must be an integer ≥ 0');
  if (!(blockHash instanceof Uint8Array) || blockHash.length !== 32) throw new SnapshotError('blockHash', 'blockHash must be 32 bytes');
  if (!(stateRoot instanceof Uint8Array) || stateRoot.length !== 32) throw new SnapshotError('stateRoot', 'stateRoot must be 32 bytes');
  if (!(tensor instanceof Uint8Array)) throw new SnapshotError('tensor', 'tensor must be bytes');
  return { chainId, height, blockHash, stateRoot, tensor, replay: replay ?? null };
}
