/*
 * Layout of a node's data directory and the lock that keeps two processes out of it.
 *
 *   <root>/LOCK          who holds the directory: one JSON line {pid, host, since, id}, for people
 *                        and error messages only; never read to decide whether the lock is free
 *   <root>/LOCK.d/       the lock itself: <id>.sock, a Unix socket its holder listens on
 *   <root>/blocks.log    block log (see block-log.ts)
 *   <root>/snapshots/    snap-<height>.bin (see snapshot.ts)
 *   <root>/safety.bin    consensus safety state (see safety-store.ts)
 *
 * The lock is a listening Unix socket (lock-socket.ts). The kernel closes it the moment its holder
 * dies, so a restart right after kill -9 finds it refusing connections, however long the dead
 * process stays an unreaped zombie and whichever process later gets its pid. A pid, which answers
 * kill(pid, 0) as a zombie and can be reused, is recorded but never trusted. To acquire:
 *   1. Listen on LOCK.d/<id>.tmp (id: 64 random bits), then rename it to LOCK.d/<id>.sock. So a
 *      .sock name only ever names a listening socket or a dead one, never one that is bound but
 *      not listening yet (which a prober would take for dead).
 *   2. List LOCK.d and connect to every other entry. One that refuses is dead and is removed: its
 *      name is unique and a dead socket never listens again, so the removal cannot hit a live lock.
 *      (With one fixed socket name it could: two starters both find it dead, both unlink and bind,
 *      and the second unlinks the first one's fresh socket.) A .tmp that refuses may be a starter
 *      between bind and listen; removing it makes that starter's rename() fail with ENOENT, and it
 *      starts over with a new id. One that answers is live. If it holds the lock (or does not say),
 *      give up, naming it. If it is another starter, the smaller id goes first: a larger id gives
 *      up; a smaller one waits a moment for the larger ones to give up and lists again.
 *   3. A listing in which nothing answered: the directory is ours. Answer as holder; write LOCK.
 * Two live processes never both pass step 3: each publishes its socket (step 1) before it lists,
 * and the socket of a live process stays listed (only refusing ones are removed). Of two starters,
 * the one that lists last sees the other's socket, so its listing is never empty. The ids only
 * decide which of two starters that see each other goes on; they play no part in that argument.
 *
 * Scope: processes on one host, in any pid or network namespace (containers sharing a volume find
 * each other's socket through the file system). Hosts sharing the directory over NFS are not kept
 * apart: a socket made on another host always refuses.
 *
 * release() removes LOCK and the socket, and so does a normal exit without release ('exit' hook).
 * kill -9 leaves both behind; the next start removes them (step 2) and logs one warning.
 */
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { StoreError } from './errors.ts';
import { consoleStoreLogger, type StoreLogger } from './logger.ts';
import { encodeHolder, HolderServer, parseHolder, probe, SocketDir, type HolderInfo } from './lock-socket.ts';

export type { HolderInfo } from './lock-socket.ts';

export interface DataDirLayout {
  readonly root: string;
  readonly lockFile: string;
  readonly lockDir: string;
  readonly blockLog: string;
  readonly snapshotsDir: string;
  readonly safetyFile: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    lockFile: join(root, 'LOCK'),
    lockDir: lockDirOf(join(root, 'LOCK')),
    blockLog: join(root, 'blocks.log'),
    snapshotsDir: join(root, 'snapshots'),
    safetyFile: join(root, 'safety.bin'),
  };
}

/** The directory of lock sockets that belongs to the holder file `lockFile`. */
export function lockDirOf(lockFile: string): string {
  return `${lockFile}.d`;
}

export interface LockOptions {
  readonly logger?: StoreLogger;
  /** ms to wait for an entry of LOCK.d to connect and say who it is (default 1000) */
  readonly probeTimeoutMs?: number;
}

/** Entries of LOCK.d that the protocol made; anything else there is left alone. */
const ENTRY = /^([0-9a-f]{16})\.(sock|tmp)$/;
/** Fresh ids to try when another starter keeps removing our .tmp (see step 2 above). */
const ATTEMPTS = 3;
/** How long a starter waits for starters with larger ids to give way, and how often it looks. */
const CONTEND_MS = 2000;
const CONTEND_POLL_MS = 20;

export class DataDirLock {
  /** the holder file, LOCK */
  readonly path: string;
  readonly pid: number;
  readonly holder: HolderInfo;
  /** LOCK.d/<id>.sock: the socket that is the lock */
  readonly socketPath: string;
  private held = true;
  private readonly onExit: () => void;

  private constructor(
    path: string,
    holder: HolderInfo,
    private readonly server: HolderServer,
  ) {
    this.path = path;
    this.pid = holder.pid;
    this.holder = holder;
    this.socketPath = join(lockDirOf(path), `${holder.id}.sock`);
    this.onExit = () => {
      // A normal exit that skipped release(): leave nothing behind. (The socket itself closes
      // with the process either way; this only removes its file and LOCK.)
      removeHolderFileSync(this.path, holder.id);
      try {
        unlinkSync(this.socketPath);
      } catch {
        /* already gone */
      }
    };
    process.once('exit', this.onExit);
  }

  /**
   * Take the lock of the directory holding `path` (the LOCK file), as described at the top of this
   * file. Throws `dir_locked` naming the holder when a live process has it, `dir_lock_failed` when
   * the lock cannot be taken or checked.
   */
  static async acquire(path: string, opts: LockOptions = {}): Promise<DataDirLock> {
    const logger = opts.logger ?? consoleStoreLogger;
    const probeTimeoutMs = opts.probeTimeoutMs ?? 1000;
    const dir = lockDirOf(path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const sockets = SocketDir.open(dir, '0123456789abcdef.sock'.length);
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const holder: HolderInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), id: randomBytes(8).toString('hex') };
        const tmp = join(dir, `${holder.id}.tmp`);
        const sock = join(dir, `${holder.id}.sock`);
        let server: HolderServer;
        try {
          server = await HolderServer.listen(sockets.address(`${holder.id}.tmp`), holder, (e) =>
            logger.warn('data dir: lock socket error', { path: sock, error: e.message }),
          );
        } catch (e) {
          throw new StoreError('dir_lock_failed', `cannot lock ${dirname(path)}: listening on a Unix socket in ${dir} failed: ${(e as Error).message}`, { path: dir, cause: e });
        }
        try {
          try {
            await rename(tmp, sock);
          } catch (e) {
            // Another starter found our .tmp before we listened and removed it: start over.
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
              await server.close();
              continue;
            }
            throw e;
          }
          const stale = await contend(path, sockets, holder.id, probeTimeoutMs);
          server.markHolding();
          const previous = await readFile(path, 'utf8').catch(() => null);
          await writeHolderFile(path, holder);
          if (stale > 0 || previous !== null) {
            const was = previous === null ? null : parseHolder(previous);
            logger.warn('data dir: took over a lock whose holder is gone', {
              path,
              previous: was ? `pid ${was.pid} on ${was.host} since ${was.since}` : previous?.slice(0, 64) ?? null,
              staleSockets: stale,
            });
          }
          return new DataDirLock(path, holder, server);
        } catch (e) {
          await unlink(sock).catch(() => undefined);
          await unlink(tmp).catch(() => undefined);
          await server.close();
          if (e instanceof StoreError) throw e;
          throw new StoreError('dir_lock_failed', `cannot lock ${dirname(path)}: ${(e as Error).message}`, { path: dir, cause: e });
        }
      }
      throw new StoreError('dir_lock_failed', `cannot lock ${dirname(path)}: other starters kept removing this one's socket ${ATTEMPTS} times`, { path: dir });
    } finally {
      sockets.close();
    }
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Give the directory up: remove LOCK (if it still names this holder) and the socket. Idempotent. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    process.removeListener('exit', this.onExit);
    // LOCK first, while the socket still keeps every other starter out. The socket is closed
    // whatever fails before: a lock must never outlive its release.
    try {
      await removeHolderFile(this.path, this.holder.id);
      await unlink(this.socketPath).catch(ignoreMissing);
    } finally {
      await this.server.close();
    }
  }
}

interface Live {
  readonly holder: HolderInfo | null;
  readonly holding: boolean;
  readonly entry: string;
}

/** Step 2 until a listing has no live entry (returns how many dead ones it removed) or we give up. */
async function contend(path: string, sockets: SocketDir, ownId: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + CONTEND_MS;
  let stale = 0;
  for (;;) {
    const r = await sweep(sockets, ownId, timeoutMs);
    stale += r.stale;
    if (r.blocker) throw await refusal(path, r.blocker);
    if (!r.waitingFor) return stale;
    if (Date.now() > deadline) throw await refusal(path, r.waitingFor);
    await new Promise((resolve) => setTimeout(resolve, CONTEND_POLL_MS));
  }
}

/**
 * One listing of LOCK.d: remove dead entries; stop at a live one we must give way to (`blocker`);
 * note a live starter with a larger id (`waitingFor`), which is to give way to us.
 */
async function sweep(sockets: SocketDir, ownId: string, timeoutMs: number): Promise<{ blocker: Live | null; waitingFor: Live | null; stale: number }> {
  const dir = sockets.dir;
  let stale = 0;
  let waitingFor: Live | null = null;
  for (const name of await readdir(dir)) {
    const m = ENTRY.exec(name);
    if (!m || m[1] === ownId) continue;
    const p = await probe(sockets.address(name), timeoutMs);
    switch (p.state) {
      case 'live': {
        const live: Live = { holder: p.holder, holding: p.holding, entry: join(dir, name) };
        if (p.holding || m[1]! < ownId) return { blocker: live, waitingFor, stale };
        waitingFor ??= live;
        break;
      }
      case 'dead':
        await unlink(join(dir, name)).catch(ignoreMissing);
        stale++;
        break;
      case 'gone':
        break;
      case 'unknown':
        // Not knowing must not count as free: a live holder may be behind it.
        throw new StoreError('dir_lock_failed', `cannot tell whether ${join(dir, name)} is held by a running process (${p.code}); if no numchain process uses ${dirname(dir)}, remove that file`, { path: join(dir, name) });
    }
  }
  return { blocker: null, waitingFor, stale };
}

async function refusal(path: string, live: Live): Promise<StoreError> {
  const root = dirname(path);
  const said = live.holder;
  let who: string;
  if (said) {
    const self = said.pid === process.pid && said.host === hostname() ? ' (this process)' : '';
    who = live.holding ? `running process ${said.pid} on host ${said.host}${self}, since ${said.since}` : `running process ${said.pid} on host ${said.host}${self}, which is opening it at this same moment`;
  } else {
    // It answered the connect but not the question in time (its event loop is busy): LOCK most
    // likely names it, but LOCK is only a note, so say where the name comes from.
    const noted = parseHolder(await readFile(path, 'utf8').catch(() => ''));
    who = noted ? `a running process (LOCK names process ${noted.pid} on host ${noted.host}, since ${noted.since})` : `a running process (its socket ${live.entry} answers)`;
  }
  return new StoreError('dir_locked', `data directory is in use: ${root} is held by ${who}. Stop that process first; the lock frees itself the moment its holder exits`, { path });
}

/** Only the holder writes LOCK, so one fixed temp name cannot be shared by two writers. */
async function writeHolderFile(path: string, holder: HolderInfo): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, encodeHolder(holder), { mode: 0o644 });
  await rename(tmp, path);
}

async function removeHolderFile(path: string, id: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch(ignoreMissing);
  if (text !== undefined && parseHolder(text)?.id === id) await unlink(path).catch(ignoreMissing);
}

function removeHolderFileSync(path: string, id: string): void {
  try {
    if (parseHolder(readFileSync(path, 'utf8'))?.id === id) unlinkSync(path);
  } catch {
    /* already gone */
  }
}

function ignoreMissing(e: unknown): undefined {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw e;
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
