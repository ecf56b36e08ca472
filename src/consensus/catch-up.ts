// Catch-up between cores: which requests are outstanding (and so which responses are accepted),
// what a response to a request holds, and which part of a response is certified. A response is only
// accepted from the peer that was asked, and nothing in it is executed or stored before the whole
// range is known to be certified from the top (docs/consensus.md, Catch-up).
import { toHex } from '../crypto/sha256.ts';
import { bytesEqual } from './block.ts';
import { fail } from './errors.ts';
import { syncBlockBytes, syncResponseBudget, type DecodeLimits, type SyncRequestMsg, type SyncResponseMsg } from './messages.ts';
import type { Block, QC } from './types.ts';

export class SyncRequests {
  /** The request in flight for the current gap. */
  private current: { readonly toHash: string; readonly fromHeight: number; readonly at: number } | null = null;
  /** The height the latest request to each peer started at (bounded by the number of validators). */
  private readonly asked = new Map<number, number>();

  /**
   * Record a request to `peer` unless one for the same gap went out less than `retryMs` ago: while
   * catching up every incoming certificate names a newer block, and a request for each would fetch
   * the same range many times over. Returns whether to send it.
   */
  request(peer: number, toHash: string, fromHeight: number, now: number, retryMs: number): boolean {
    const c = this.current;
    if (c !== null && (c.toHash === toHash || c.fromHeight === fromHeight) && now - c.at < retryMs) return false;
    this.current = { toHash, fromHeight, at: now };
    // A late answer to an earlier request still counts, so each peer keeps its latest request.
    this.asked.set(peer, fromHeight);
    return true;
  }

  /**
   * Whether a response from `peer` starting at `firstHeight` answers the latest request to it (which
   * is then forgotten). The answer to an older or retried request, arriving after a newer request
   * went to the same peer, does not: it is dropped as unsolicited and leaves the newer request
   * outstanding, so the newer answer is still accepted when it comes.
   */
  answered(peer: number, firstHeight: number | undefined): boolean {
    if (firstHeight === undefined || this.asked.get(peer) !== firstHeight) return false;
    this.asked.delete(peer);
    return true;
  }

  /** A response brought new blocks: the next request (if any) need not wait for the retry time. */
  progressed(): void {
    this.current = null;
  }
}

/** Consecutive blocks from `msg.fromHeight` up to `msg.toHash`, bounded in count and bytes, with the QC of the last one sent. */
export function serveSync(msg: SyncRequestMsg, block: (hash: string) => Block | undefined, qcOf: (hash: Uint8Array) => QC | undefined, maxBlocks: number, scanLimit: number, limits: DecodeLimits): SyncResponseMsg | null {
  const chain: Block[] = [];
  let k = toHex(msg.toHash);
  for (;;) {
    const b = block(k);
    if (b === undefined || b.header.height < msg.fromHeight) break;
    chain.push(b);
    if (b.header.height === msg.fromHeight || chain.length > scanLimit) break;
    k = toHex(b.header.parentHash);
  }
  if (chain.length === 0) return null;
  chain.reverse();
  if (chain[0]!.header.height !== msg.fromHeight) return null;
  const budget = syncResponseBudget(limits);
  const blocks: Block[] = [];
  let bytes = 0;
  for (const b of chain) {
    if (blocks.length >= maxBlocks) break;
    bytes += syncBlockBytes(b);
    if (blocks.length > 0 && bytes > budget) break;
    blocks.push(b);
  }
  const qc = blocks.length < chain.length ? chain[blocks.length]!.header.justify : qcOf(blocks[blocks.length - 1]!.hash) ?? null;
  return { type: 'sync_response', blocks, qc };
}

/**
 * How many blocks of a response (from its first) are certified, and the QC on top of them, still to
 * be verified: the last block by the QC sent with it (or `known` for it), else the block below it by
 * the last block's justify. Below the top every block is certified by the justify of the block above
 * it; hashes are computed locally, so a certified header certifies its parent's hash. Throws when
 * the blocks are not one chain from `fromHeight`.
 */
export function certifiedPrefix(msg: SyncResponseMsg, fromHeight: number, known: (hash: Uint8Array) => QC | undefined): { readonly count: number; readonly topQC: QC | null } {
  const blocks = msg.blocks;
  if (blocks.length === 0) return { count: 0, topQC: null };
  if (blocks[0]!.header.height !== fromHeight) fail('bad_block', 'sync_response.blocks[0].height', `must be the height asked for, ${fromHeight}`);
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i]!.header.height !== blocks[i - 1]!.header.height + 1 || !bytesEqual(blocks[i]!.header.justify.blockHash, blocks[i - 1]!.hash)) {
      fail('bad_block', `sync_response.blocks[${i}].justify`, 'does not certify the previous block');
    }
  }
  const last = blocks[blocks.length - 1]!;
  const sent = msg.qc !== null && bytesEqual(msg.qc.blockHash, last.hash) && msg.qc.height === last.header.height ? msg.qc : null;
  const lastQC = sent ?? known(last.hash) ?? null;
  const count = lastQC === null ? blocks.length - 1 : blocks.length;
  if (count === 0) return { count, topQC: null };
  const topQC = lastQC ?? last.header.justify;
  if (topQC.round !== blocks[count - 1]!.header.round) fail('bad_qc', 'sync_response.qc.round', 'does not match the certified block');
  return { count, topQC };
}
