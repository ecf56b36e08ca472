// Store for uncommitted blocks the consensus core asked to keep (`persistBlock`): after a crash of
// every node, someone must still hold the block behind the highest QC. One file a block, pruned once
// the block's height is in the durable commit log.
//
// These blocks matter for liveness only, never for safety (the safety state is fsynced separately),
// so they are written without fsync: they survive a process crash (kill -9) through the page cache,
// and a file torn by a power cut is skipped at load. An fsync here cost ~25 ms a block under load.
// Writes and unlinks are synchronous: they sit on the consensus path, where each async step would
// wait a full event-loop turn behind the RPC handlers (seconds per block under a flood), while the
// page-cache write itself takes about a millisecond.
import { unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCanonical } from '../codec/canonical.ts';
import { blockFromCanon, encodeBlock } from '../consensus/block.ts';
import type { Block } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import type { Logger } from './logger.ts';

const NAME = /^(\d+)-([0-9a-f]{64})\.blk$/;

export class PendingBlockStore {
  private readonly heights = new Map<string, number>();

  private constructor(
    private readonly dir: string,
    private readonly max: number,
    private readonly log: Logger,
  ) {}

  static async open(dir: string, max: number, log: Logger): Promise<PendingBlockStore> {
    await mkdir(dir, { recursive: true });
    const s = new PendingBlockStore(dir, max, log);
    for (const f of await readdir(dir)) {
      const m = NAME.exec(f);
      if (m) s.heights.set(f, Number(m[1]));
    }
    return s;
  }

  get size(): number {
    return this.heights.size;
  }

  async put(block: Block): Promise<void> {
    const name = `${block.header.height}-${toHex(block.hash)}.blk`;
    if (this.heights.has(name)) return;
    writeFileSync(join(this.dir, name), encodeBlock(block));
    this.heights.set(name, block.header.height);
    if (this.heights.size > this.max) {
      const lowest = [...this.heights.entries()].sort((a, b) => a[1] - b[1])[0];
      this.remove(lowest[0]);
    }
  }

  /** Drop every stored block at or below the committed height. */
  async prune(committedHeight: number): Promise<void> {
    for (const [name, h] of [...this.heights]) if (h <= committedHeight) this.remove(name);
  }

  async loadAll(maxTxs: number, maxTxBytes: number): Promise<Block[]> {
    const out: Block[] = [];
    for (const name of this.heights.keys()) {
      try {
        const block = blockFromCanon(decodeCanonical(new Uint8Array(await readFile(join(this.dir, name))), 64 << 20), 'block', maxTxs, maxTxBytes);
        if (`${block.header.height}-${toHex(block.hash)}.blk` !== name) throw new Error('content does not match the file name');
        out.push(block);
      } catch (e) {
        // Uncommitted blocks are an optimisation for liveness, never needed for safety: skip a bad one.
        this.log.warn('ignoring unreadable pending block', { file: name, error: (e as Error).message });
      }
    }
    return out;
  }

  private remove(name: string): void {
    this.heights.delete(name);
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // already gone: nothing to drop
    }
  }
}
