import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirLock, dataDirLayout, lockDirOf, openDataDir } from '../../src/store/data-dir.ts';
import { StoreError } from '../../src/store/errors.ts';
import { MAX_SOCKET_PATH_BYTES, parseHolder } from '../../src/store/lock-socket.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import { captureLogger, tempDir } from './helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

async function refusedWith(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, StoreError);
    assert.is((e as StoreError).code, code, (e as Error).message);
    return (e as Error).message;
  }
  assert.unreachable(`must be refused with ${code}`);
  return '';
}

/** What a holder killed with -9 leaves in LOCK.d: a socket file nobody listens on. */
async function deadSocket(lockDir: string): Promise<string> {
  await mkdir(lockDir, { recursive: true });
  const id = randomBytes(8).toString('hex');
  const tmp = join(lockDir, `${id}.tmp`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(tmp, r));
  await rename(tmp, join(lockDir, `${id}.sock`)); // libuv unlinks the bound name (tmp) on close, not this one
  await new Promise<void>((r) => server.close(() => r()));
  return join(lockDir, `${id}.sock`);
}

/** Spawn the lock fixture; resolves once it printed `held` (rejects if it exits first). */
function holderChild(dataDir: string, args: string[]): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  child.stderr!.on('data', (d) => (out += String(d)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('held\n')) resolve({ child, exited });
    });
    void exited.then((code) => reject(new Error(`lock fixture exited (${code}) before holding: ${out}`)));
  });
}

test('openDataDir creates the layout and takes the lock; a second opener is refused, naming the holder, until release', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const root = join(dir, 'node0');
    const cap = captureLogger();
    const { layout, lock } = await openDataDir(root, { logger: cap.logger });
    assert.equal(layout, dataDirLayout(root));
    assert.ok((await stat(layout.snapshotsDir)).isDirectory());
    const noted = parseHolder(await readFile(layout.lockFile, 'utf8'));
    assert.equal(noted, lock.holder, 'LOCK names the holder');
    assert.is(noted!.pid, process.pid);
    assert.is(noted!.host, hostname());
    assert.ok((await stat(lock.socketPath)).isSocket());
    assert.is(cap.warnings.length, 0, 'a fresh directory takes no lock over');

    const msg = await refusedWith(openDataDir(root, { logger: silentStoreLogger }), 'dir_locked');
    assert.match(msg, `data directory is in use: ${root} is held by running process ${process.pid} on host ${hostname()} (this process)`);
    assert.equal(await readdir(layout.lockDir), [`${lock.holder.id}.sock`], 'the refused opener removed its own socket and nothing else');

    await lock.release();
    await lock.release(); // idempotent
    assert.not.ok(lock.isHeld);
    assert.not.ok(existsSync(layout.lockFile));
    assert.equal(await readdir(layout.lockDir), []);
    const again = await openDataDir(root, { logger: cap.logger });
    assert.is(cap.warnings.length, 0, 'a released lock is not a stale one');
    await again.lock.release();
  } finally {
    await cleanup();
  }
});

test('a lock whose holder is gone is taken over with one warning, whatever LOCK says (a dead pid, a live unrelated pid, this pid, garbage)', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const lockFile = join(dir, 'LOCK');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const unrelatedJson = JSON.stringify({ pid: 1, host: hostname(), since: new Date().toISOString(), id: 'ab'.repeat(8) }) + '\n';
    const contents = [`${dead}\n`, '1\n', `${process.ppid}\n`, `${process.pid}\n`, unrelatedJson, '', 'garbage'];
    for (const content of contents) {
      for (const sockets of [0, 2]) {
        await writeFile(lockFile, content);
        const stale = await Promise.all(Array.from({ length: sockets }, () => deadSocket(lockDirOf(lockFile))));
        const cap = captureLogger();
        const lock = await DataDirLock.acquire(lockFile, { logger: cap.logger });
        const what = `LOCK ${JSON.stringify(content)} with ${sockets} dead socket(s)`;
        assert.is(parseHolder(await readFile(lockFile, 'utf8'))?.id, lock.holder.id, what);
        assert.is(cap.warnings.length, 1, `one warning for ${what}`);
        assert.is(cap.warnings[0]!.data?.staleSockets, sockets);
        for (const s of stale) assert.not.ok(existsSync(s), `dead socket removed (${what})`);
        await lock.release();
      }
    }
  } finally {
    await cleanup();
  }
});

test('a live holder is refused by its socket, not by LOCK: a LOCK naming a dead pid does not free it', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const lockFile = join(dir, 'LOCK');
    const held = await DataDirLock.acquire(lockFile, { logger: silentStoreLogger });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(lockFile, `${dead}\n`);
    const msg = await refusedWith(DataDirLock.acquire(lockFile, { logger: silentStoreLogger }), 'dir_locked');
    assert.match(msg, `process ${process.pid} on host`, 'named by what the live socket says');
    // release() leaves a LOCK that names someone else alone
    await held.release();
    assert.is(await readFile(lockFile, 'utf8'), `${dead}\n`);
  } finally {
    await cleanup();
  }
});

test('another process holding the lock with a blocked event loop is refused; after its kill -9 the lock is free at once', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const { child, exited } = await holderChild(dir, ['block', '20000']);
    try {
      // It cannot answer (its loop is blocked), but the kernel accepts the connection for it.
      const msg = await refusedWith(openDataDir(dir, { logger: silentStoreLogger, probeTimeoutMs: 300 }), 'dir_locked');
      assert.match(msg, `LOCK names process ${child.pid} on host ${hostname()}`);
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    const cap = captureLogger();
    const { lock } = await openDataDir(dir, { logger: cap.logger });
    assert.is(cap.warnings.length, 1);
    assert.is(cap.warnings[0]!.data?.staleSockets, 1);
    assert.match(String(cap.warnings[0]!.data?.previous), `pid ${child.pid}`);
    await lock.release();
  } finally {
    await cleanup();
  }
});

test('the lock does not keep a process alive, and a normal exit without release() leaves nothing behind', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const { exited } = await holderChild(dir, ['return']);
    assert.is(await exited, 0);
    assert.not.ok(existsSync(dataDirLayout(dir).lockFile));
    assert.equal(await readdir(dataDirLayout(dir).lockDir), []);
  } finally {
    await cleanup();
  }
});

test('a data directory whose path is too long for a socket address still locks, inside itself', async () => {
  if (process.platform !== 'linux') return;
  const { dir, cleanup } = await tempDir('dd');
  try {
    const root = join(dir, 'a-rather-long-directory-name-'.repeat(4), 'node0');
    assert.ok(Buffer.byteLength(root) > MAX_SOCKET_PATH_BYTES + 8, `${root} is long`);
    const { layout, lock } = await openDataDir(root, { logger: silentStoreLogger });
    assert.is(lock.socketPath, join(layout.lockDir, `${lock.holder.id}.sock`));
    assert.ok((await stat(lock.socketPath)).isSocket(), 'the socket is where its long path says');
    await refusedWith(openDataDir(root, { logger: silentStoreLogger }), 'dir_locked');
    assert.equal(await readdir(dir), [root.slice(dir.length + 1).split('/')[0]], 'nothing was bound under a truncated name');
    await lock.release();
    // A holder killed with -9 in there: its dead socket is found and removed through the same route.
    const { child, exited } = await holderChild(root, ['block', '20000']);
    await refusedWith(openDataDir(root, { logger: silentStoreLogger, probeTimeoutMs: 300 }), 'dir_locked');
    child.kill('SIGKILL');
    await exited;
    const cap = captureLogger();
    const again = await openDataDir(root, { logger: cap.logger });
    assert.is(cap.warnings[0]?.data?.staleSockets, 1);
    assert.equal(await readdir(layout.lockDir), [`${again.lock.holder.id}.sock`]);
    await again.lock.release();
  } finally {
    await cleanup();
  }
});

test('starters racing over a dead lock: never two holders at once, and one of them gets it', async () => {
  const { dir, cleanup } = await tempDir('dd');
  try {
    const journal = join(dir, 'journal');
    await writeFile(journal, '');
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      await deadSocket(dataDirLayout(dir).lockDir);
      await writeFile(dataDirLayout(dir).lockFile, '1\n');
      const startAt = Date.now() + 2500; // time for every child to load, so they start within a few ms
      const runs = Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, 'race', String(startAt), '150', journal], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += String(d)));
        return new Promise<string>((resolve) => child.once('exit', () => resolve(out.trim())));
      });
      const results = await Promise.all(runs);
      assert.ok(results.includes('won'), `round ${round}: somebody wins (the smallest id goes on): ${results.join(', ')}`);
      outcomes.push(...results);
    }
    for (const o of outcomes) assert.match(o, /^(won|refused dir_locked)$/);
    const lines = (await readFile(journal, 'utf8')).trim().split('\n').filter(Boolean);
    for (let i = 0; i < lines.length; i += 2) {
      const enter = /^enter (\d+)$/.exec(lines[i]!);
      assert.ok(enter, `line ${i + 1} opens a holding: ${lines.join(' | ')}`);
      assert.is(lines[i + 1], `exit ${enter![1]}`, `the holder ${enter![1]} left before anyone else entered: ${lines.join(' | ')}`);
    }
    console.log(`  race: ${outcomes.filter((o) => o === 'won').length} of ${outcomes.length} starters held the lock, one at a time`);
    const { lock } = await openDataDir(dir, { logger: silentStoreLogger });
    await lock.release();
  } finally {
    await cleanup();
  }
});

test.run();
