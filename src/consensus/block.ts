// Canonical encodings of blocks, certificates and evidence, the block hash, and the exact bytes
// every consensus signature covers. All are fixed-order arrays (src/codec/canonical.ts); every signed
// payload starts with its own domain tag so a signature can never be replayed as another kind.
import { encodeCanonical, type Canon } from '../codec/canonical.ts';
import { sha256 } from '../crypto/sha256.ts';
import { arr, ascending, bytes, bytesOrNull, str, uint } from './decode-util.ts';
import { fail } from './errors.ts';
import type { Block, BlockHeader, Evidence, QC, RandaoField, SignedBlockRef, TC, Validator } from './types.ts';

export const TAG_BLOCK = 'numchain/block/v1';
export const TAG_GENESIS = 'numchain/genesis/v1';
export const TAG_VOTE = 'numchain/vote/v1';
export const TAG_PROPOSAL = 'numchain/proposal/v1';
export const TAG_TIMEOUT = 'numchain/timeout/v1';
export const TAG_RANDAO = 'numchain/randao/v1';

const MAX_SIG = 128;
const MAX_SIGNERS = 64;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// ---- signed payloads -------------------------------------------------------------------------

export function voteSignBytes(chainId: string, round: number, height: number, blockHash: Uint8Array): Uint8Array {
  return encodeCanonical([TAG_VOTE, chainId, round, height, blockHash]);
}

export function proposalSignBytes(chainId: string, round: number, height: number, blockHash: Uint8Array): Uint8Array {
  return encodeCanonical([TAG_PROPOSAL, chainId, round, height, blockHash]);
}

export function timeoutSignBytes(chainId: string, round: number, highQcRound: number): Uint8Array {
  return encodeCanonical([TAG_TIMEOUT, chainId, round, highQcRound]);
}

/** Ed25519 is deterministic, so this signature is a per-epoch secret only the key holder can produce. */
export function randaoSignBytes(chainId: string, epoch: number): Uint8Array {
  return encodeCanonical([TAG_RANDAO, chainId, epoch]);
}

// ---- QC / TC ---------------------------------------------------------------------------------

export function qcToCanon(qc: QC): Canon {
  return [qc.round, qc.height, qc.blockHash, [...qc.signers], [...qc.sigs]];
}

export function qcFromCanon(v: Canon | undefined, field: string): QC {
  const a = arr(v, field, 5);
  const signers = arr(a[3], `${field}.signers`, undefined, MAX_SIGNERS).map((x, i) => uint(x, `${field}.signers[${i}]`, MAX_SIGNERS - 1));
  ascending(signers, `${field}.signers`);
  const sigs = arr(a[4], `${field}.sigs`, signers.length).map((x, i) => bytes(x, `${field}.sigs[${i}]`, undefined, MAX_SIG));
  return { round: uint(a[0], `${field}.round`), height: uint(a[1], `${field}.height`), blockHash: bytes(a[2], `${field}.blockHash`, 32), signers, sigs };
}

export function tcToCanon(tc: TC): Canon {
  return [tc.round, [...tc.signers], [...tc.highQcRounds], [...tc.sigs], qcToCanon(tc.highQC)];
}

export function tcFromCanon(v: Canon | undefined, field: string): TC {
  const a = arr(v, field, 5);
  const signers = arr(a[1], `${field}.signers`, undefined, MAX_SIGNERS).map((x, i) => uint(x, `${field}.signers[${i}]`, MAX_SIGNERS - 1));
  ascending(signers, `${field}.signers`);
  const round = uint(a[0], `${field}.round`);
  const highQcRounds = arr(a[2], `${field}.highQcRounds`, signers.length).map((x, i) => uint(x, `${field}.highQcRounds[${i}]`));
  highQcRounds.forEach((r, i) => {
    if (r >= round) fail('bad_tc', `${field}.highQcRounds[${i}]`, 'must be below the TC round');
  });
  const sigs = arr(a[3], `${field}.sigs`, signers.length).map((x, i) => bytes(x, `${field}.sigs[${i}]`, undefined, MAX_SIG));
  return { round, signers, highQcRounds, sigs, highQC: qcFromCanon(a[4], `${field}.highQC`) };
}

export function tcOrNullFromCanon(v: Canon | undefined, field: string): TC | null {
  return v === null ? null : tcFromCanon(v, field);
}

export function maxHighQcRound(tc: TC): number {
  let m = 0;
  for (const r of tc.highQcRounds) if (r > m) m = r;
  return m;
}

// ---- evidence --------------------------------------------------------------------------------

function refToCanon(r: SignedBlockRef): Canon {
  return [r.height, r.blockHash, r.sig];
}

function refFromCanon(v: Canon | undefined, field: string): SignedBlockRef {
  const a = arr(v, field, 3);
  return { height: uint(a[0], `${field}.height`), blockHash: bytes(a[1], `${field}.blockHash`, 32), sig: bytes(a[2], `${field}.sig`, undefined, MAX_SIG) };
}

export function evidenceToCanon(e: Evidence): Canon {
  return [e.kind, e.validator, e.round, refToCanon(e.a), refToCanon(e.b)];
}

export function evidenceFromCanon(v: Canon | undefined, field: string): Evidence {
  const a = arr(v, field, 5);
  const kind = str(a[0], `${field}.kind`);
  if (kind !== 'vote' && kind !== 'proposal') fail('bad_evidence', `${field}.kind`, `must be 'vote' or 'proposal'`);
  const ea = refFromCanon(a[3], `${field}.a`);
  const eb = refFromCanon(a[4], `${field}.b`);
  if (compareBytes(ea.blockHash, eb.blockHash) >= 0) fail('bad_evidence', `${field}.b.blockHash`, 'must be bytewise greater than a.blockHash');
  return { kind, validator: uint(a[1], `${field}.validator`, MAX_SIGNERS - 1), round: uint(a[2], `${field}.round`), a: ea, b: eb };
}

/** Identity of an equivocation for de-duplication: one item per (kind, validator, round). */
export function evidenceKey(e: Evidence): string {
  return `${e.kind}/${e.validator}/${e.round}`;
}

// ---- block header ----------------------------------------------------------------------------

function randaoToCanon(r: RandaoField): Canon {
  return [r.commit, r.reveal];
}

/** PoC items one header may carry, and their size (an answer is at most a few hundred KiB). */
export const MAX_POC_ITEMS = 64;
export const MAX_POC_ITEM_BYTES = 4 << 20;

export function headerToCanon(h: BlockHeader): Canon {
  const v: Canon[] = [
    TAG_BLOCK, h.chainId, h.height, h.round, h.parentHash, h.proposer, h.timestamp, h.txRoot, h.stateRoot,
    qcToCanon(h.justify), h.tc === null ? null : tcToCanon(h.tc), h.epoch, randaoToCanon(h.randao), h.evidence.map(evidenceToCanon),
  ];
  if (h.poc !== undefined && h.poc.length > 0) v.push([...h.poc]);
  return v;
}

export function headerFromCanon(v: Canon | undefined, field: string): BlockHeader {
  const a = arr(v, field, undefined, 15);
  if (a.length !== 14 && a.length !== 15) fail('bad_field', field, `must have 14 or 15 elements, got ${a.length}`);
  if (a[0] !== TAG_BLOCK) fail('bad_tag', `${field}.tag`, `expected ${TAG_BLOCK}`);
  // An empty trailing list would be a second encoding of the same header: refused, like any non-canonical form.
  const poc = a.length === 15 ? arr(a[14], `${field}.poc`, undefined, MAX_POC_ITEMS).map((x, i) => bytes(x, `${field}.poc[${i}]`, undefined, MAX_POC_ITEM_BYTES)) : [];
  if (a.length === 15 && poc.length === 0) fail('bad_field', `${field}.poc`, 'present but empty (omit it instead)');
  const rnd = arr(a[12], `${field}.randao`, 2);
  return {
    chainId: str(a[1], `${field}.chainId`),
    height: uint(a[2], `${field}.height`),
    round: uint(a[3], `${field}.round`),
    parentHash: bytes(a[4], `${field}.parentHash`, 32),
    proposer: uint(a[5], `${field}.proposer`, MAX_SIGNERS - 1),
    timestamp: uint(a[6], `${field}.timestamp`),
    txRoot: bytes(a[7], `${field}.txRoot`, 32),
    stateRoot: bytes(a[8], `${field}.stateRoot`, 32),
    justify: qcFromCanon(a[9], `${field}.justify`),
    tc: tcOrNullFromCanon(a[10], `${field}.tc`),
    epoch: uint(a[11], `${field}.epoch`),
    randao: { commit: bytesOrNull(rnd[0], `${field}.randao.commit`, 32), reveal: bytesOrNull(rnd[1], `${field}.randao.reveal`, undefined) },
    evidence: arr(a[13], `${field}.evidence`, undefined, 64).map((x, i) => evidenceFromCanon(x, `${field}.evidence[${i}]`)),
    ...(poc.length > 0 ? { poc } : {}),
  };
}

export function hashHeader(h: BlockHeader): Uint8Array {
  return sha256(encodeCanonical(headerToCanon(h)));
}

export function makeBlock(header: BlockHeader, txs: readonly Uint8Array[]): Block {
  return { header, hash: hashHeader(header), txs };
}

export function blockToCanon(b: Block): Canon {
  return [headerToCanon(b.header), [...b.txs]];
}

/** Decodes and re-hashes: the hash is always computed locally, never taken from the wire. */
export function blockFromCanon(v: Canon | undefined, field: string, maxTxs = 100_000, maxTxBytes = 1 << 20): Block {
  const a = arr(v, field, 2);
  const header = headerFromCanon(a[0], `${field}.header`);
  const txs = arr(a[1], `${field}.txs`, undefined, maxTxs).map((x, i) => bytes(x, `${field}.txs[${i}]`, undefined, maxTxBytes));
  return makeBlock(header, txs);
}

/**
 * Canonical bytes of a block. Blocks are immutable, and a node encodes the same block for its
 * pending-block file and again for the block log at commit (~1 MB at 2,000 transactions), so the
 * encoding is remembered per block object. Callers must not modify the returned bytes.
 */
export function encodeBlock(b: Block): Uint8Array {
  let e = encoded.get(b);
  if (e === undefined) {
    e = encodeCanonical(blockToCanon(b));
    encoded.set(b, e);
  }
  return e;
}
const encoded = new WeakMap<Block, Uint8Array>();

// ---- genesis ---------------------------------------------------------------------------------

export const ZERO_HASH = new Uint8Array(32);

/** The genesis hash is defined by the genesis document alone: chain id, time, state root, validators. */
export function genesisHash(chainId: string, timeMs: number, stateRoot: Uint8Array, validators: readonly Validator[]): Uint8Array {
  return sha256(encodeCanonical([TAG_GENESIS, chainId, timeMs, stateRoot, validators.map((v) => [v.publicKey, v.power])]));
}

/**
 * The genesis block: height 0, round 0, certified by the "genesis QC" (round 0, no signatures), which
 * every node accepts for exactly this hash. Its header is a placeholder; its hash is genesisHash().
 */
export function genesisBlock(chainId: string, timeMs: number, stateRoot: Uint8Array, validators: readonly Validator[]): Block {
  const hash = genesisHash(chainId, timeMs, stateRoot, validators);
  const header: BlockHeader = {
    chainId, height: 0, round: 0, parentHash: ZERO_HASH, proposer: 0, timestamp: timeMs, txRoot: ZERO_HASH, stateRoot,
    justify: genesisQC(hash), tc: null, epoch: 0, randao: { commit: null, reveal: null }, evidence: [],
  };
  return { header, hash, txs: [] };
}

export function genesisQC(hash: Uint8Array): QC {
  return { round: 0, height: 0, blockHash: hash, signers: [], sigs: [] };
}
