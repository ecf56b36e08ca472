/*
 * Layout of a node's data directory and the lock that keeps two processes out of it.
 *
 *   <root>/LOCK          pid lock: decimal pid + "\n", created with O_EXCL
 *   <root>/blocks.log    block log (see block-log.ts)
 *   <root>/snapshots/    snap-<height>.bin (see snapshot.ts)
 *   <root>/safety.bin    consensus safety state (see safety-store.ts)
 *
 * The lock is removed by release() and, as a fallback, on process 'exit'. After kill -9 it is
 * left behind; the next start sees that its pid is not running and takes it over.
 */
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { unlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors.ts';
import { consoleStoreLogger, type StoreLogger } from './logger.ts';
import { fsyncDir } from './fs-util.ts';

export interface DataDirLayout {
  readonly root: string;
  readonly lockFile: string;
  readonly blockLog: string;
  readonly snapshotsDir: string;
  readonly safetyFile: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    lockFile: join(root, 'LOCK'),
    blockLog: join(root, 'blocks.log'),
    snapshotsDir: join(root, 'snapshots'),
    safetyFile: join(root, 'safety.bin'),
  };
}

export interface LockOptions {
  readonly logger?: StoreLogger;
  /** Injected for tests; default checks with process.kill(pid, 0). */
  readonly isAlive?: (pid: number) => boolean;
  /** pid written into the lock. Default process.pid. */
  readonly pid?: number;
}

export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLock {
  readonly path: string;
  readonly pid: number;
  private held = true;
  private readonly onExit: () => void;

  private constructor(path: string, pid: number) {
    this.path = path;
    this.pid = pid;
    this.onExit = () => {
      // Last resort on a normal exit; only remove the lock if it is still ours.
      try {
        if (readFileSync(this.path, 'utf8').trim() === String(this.pid)) unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    };
    process.once('exit', this.onExit);
  }

  /**
   * Create the lock file exclusively. If it exists and names a live pid (including this process),
   * throw `dir_locked`; if the pid is dead or the file is empty/garbled (crash while creating it),
   * take it over.
   */
  static async acquire(path: string, opts: LockOptions = {}): Promise<DataDirLock> {
    const pid = opts.pid ?? process.pid;
    const isAlive = opts.isAlive ?? pidIsAlive;
    const logger = opts.logger ?? consoleStoreLogger;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(path, 'wx', 0o644);
        try {
          await fh.writeFile(`${pid}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsyncDir(join(path, '..'));
        return new DataDirLock(path, pid);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw e;
      }
      const owner = /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
      if (owner !== null && isAlive(owner)) {
        throw new StoreError(
          'dir_locked',
          `data directory is in use: ${path} is held by running process ${owner}` +
            (owner === pid ? ' (this process)' : '') +
            '. If no numchain process is running, delete the lock file',
          { path },
        );
      }
      // Stale: move it aside (rename is atomic, so only one contender wins it) and retry.
      const aside = `${path}.stale-${pid}`;
      try {
        await rename(path, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = await readFile(aside, 'utf8').catch(() => text);
      if (moved !== text) {
        // A contender took the stale lock over between our read and our rename: what we moved is
        // its live lock. Put it back (link fails if the name was taken again) and give way.
        await link(aside, path).catch(() => {});
        await unlink(aside).catch(() => {});
        throw new StoreError('dir_locked', `data directory is in use: ${path} was just taken by another process`, { path });
      }
      await unlink(aside).catch(() => {});
      logger.warn('data dir: took over stale lock', { path, stalePid: owner ?? text.slice(0, 32) });
    }
    throw new StoreError('dir_locked', `could not acquire ${path}: it keeps changing hands`, { path });
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Remove the lock (only if it still names this pid). Idempotent. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    process.removeListener('exit', this.onExit);
    try {
      if ((await readFile(this.path, 'utf8')).trim() === String(this.pid)) await unlink(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

export interface OpenedDataDir {
  readonly layout: DataDirLayout;
  readonly lock: DataDirLock;
}

/** Create the directory tree if needed and take the lock. Call `lock.release()` on shutdown. */
export async function openDataDir(root: string, opts: LockOptions = {}): Promise<OpenedDataDir> {
  const layout = dataDirLayout(root);
  await mkdir(layout.snapshotsDir, { recursive: true });
  const lock = await DataDirLock.acquire(layout.lockFile, opts);
  return { layout, lock };
}
