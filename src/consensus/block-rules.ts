// The rules a block header must keep that need no parent: checked on every proposal, synced and
// restored block before anything about it is looked up or executed.
import { bytesEqual } from './block.ts';
import { epochOf } from './chain-state.ts';
import { fail } from './errors.ts';
import type { Block, ConsensusLimits } from './types.ts';

export function checkHeader(b: Block, chainId: string, validators: number, epochLength: number, limits: Pick<ConsensusLimits, 'maxTxsPerBlock' | 'maxBlockBytes'>): void {
  const h = b.header;
  if (h.chainId !== chainId) fail('bad_chain', 'block.chainId', `expected ${chainId}`);
  if (h.height < 1) fail('bad_block', 'block.height', 'must be at least 1');
  if (h.proposer >= validators) fail('bad_block', 'block.proposer', 'unknown validator');
  if (!bytesEqual(h.justify.blockHash, h.parentHash)) fail('bad_block', 'block.justify', 'must certify the parent');
  if (h.justify.height !== h.height - 1) fail('bad_block', 'block.justify.height', 'must be height − 1');
  if (h.justify.round >= h.round) fail('bad_block', 'block.justify.round', 'must be below the block round');
  if (h.tc !== null && h.tc.round !== h.round - 1) fail('bad_block', 'block.tc.round', 'must be round − 1');
  if (h.epoch !== epochOf(h.height, epochLength)) fail('bad_block', 'block.epoch', `must be ${epochOf(h.height, epochLength)}`);
  if (b.txs.length > limits.maxTxsPerBlock) fail('bad_block', 'block.txs', `more than ${limits.maxTxsPerBlock} transactions`);
  let size = 0;
  for (const t of b.txs) size += t.length;
  if (size > limits.maxBlockBytes) fail('bad_block', 'block.txs', `more than ${limits.maxBlockBytes} bytes`);
}
