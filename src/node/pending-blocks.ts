// Store for uncommitted blocks the consensus core asked to keep (`persistBlock`): after a crash of
// every node, someone must still hold the block behind the highest QC. One file a block, pruned once
// the block's height is in the durable commit log.
//
// The core emits `persistBlock` before the vote for the block, and the driver completes it before
// that vote leaves, so each file is fsynced (data, then the directory entry) here: after a power cut
// of the whole cluster, every block a quorum voted for is still on the disks of the honest voters,
// and the restarted nodes can certify and commit it (issue 17; the safety state alone does not
// bring back the block). A file torn anyway is skipped at load.
// Writes and unlinks are synchronous: they sit on the consensus path, where each async step would
// wait a full event-loop turn behind the RPC handlers (seconds per block under a flood).
import { closeSync, fdatasyncSync, openSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCanonical } from '../codec/canonical.ts';
import { blockFromCanon, encodeBlock } from '../consensus/block.ts';
import type { Block } from '../consensus/types.ts';
import { toHex } from '../crypto/sha256.ts';
import { fsyncDirSync, writeFullySync } from '../store/fs-util.ts';
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

  /** Durable when it returns. */
  put(block: Block): void {
    const name = `${block.header.height}-${toHex(block.hash)}.blk`;
    if (this.heights.has(name)) return;
    const bytes = encodeBlock(block);
    const path = join(this.dir, name);
    const fd = openSync(path, 'w');
    try {
      try {
        writeFullySync(fd, bytes, 0);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      // A partial file would hold space on a full disk and be read back as corrupt: remove it.
      try {
        unlinkSync(path);
      } catch {
        /* never created */
      }
      throw e;
    }
    fsyncDirSync(this.dir);
    this.heights.set(name, block.header.height);
    if (this.heights.size > this.max) {
      const lowest = [...this.heights.entries()].sort((a, b) => a[1] - b[1])[0];
      this.remove(lowest[0]);
    }
  }

  /** Drop every stored block at or below the committed height. */
  prune(committedHeight: number): void {
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
