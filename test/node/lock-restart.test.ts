// The data-directory lock on real validator processes: a validator killed with -9 (its whole
// process group) and started again at once must start, however long the killed one stays an
// unreaped zombie; a second live validator on the same directory must still be refused, naming the
// holder; and what LOCK says about a pid (dead, or now someone else's) must never block a start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import { NumchainClient } from '../../src/rpc/client.ts';
import { dataDirLayout } from '../../src/store/data-dir.ts';
import { CLI, createLocalnet, killAllNodes, logFields, NodeProcess, runCli, sleep, waitFor, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

const RESTARTS = 20;
let net: Localnet;
const groups = new Set<number>();

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  groups.delete(pgid);
}

process.on('exit', () => {
  for (const g of groups) killGroup(g);
});

test.before(async () => {
  // A short round timeout: a restarted validator waits one before it proposes again.
  net = await createLocalnet({ nodes: 1, timeoutBaseMs: 200 });
});

test.after(async () => {
  for (const g of [...groups]) killGroup(g);
  await killAllNodes();
  await net?.cleanup();
});

/** State letter of a process (R, S, Z, …) from /proc, or null once it is gone (reaped). */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * A validator whose parent never reaps it: `sh` starts it in its own process group (setsid) and
 * becomes `sleep`. Killed, it stays a zombie for as long as that parent lives — what a supervisor
 * busy elsewhere, or a PID 1 that reaps lazily, does to a crashed validator.
 */
class UnreapedValidator {
  private readonly parent: ChildProcess;
  private out = '';
  pid: number | null = null;

  constructor(args: readonly string[]) {
    this.parent = spawn('sh', ['-c', 'setsid "$@" & echo "validator-pid $!"; exec sleep 600', 'sh', process.execPath, CLI, ...args], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    groups.add(this.parent.pid!);
    const take = (d: Buffer): void => {
      this.out += d.toString('utf8');
      if (this.out.length > 1 << 20) this.out = this.out.slice(-(1 << 19));
      this.pid ??= Number(/validator-pid (\d+)/.exec(this.out)?.[1]) || null;
    };
    this.parent.stdout!.on('data', take);
    this.parent.stderr!.on('data', take);
  }

  get log(): string {
    return this.out;
  }

  /** Wait for /health; returns what the validator says it recovered. */
  async ready(): Promise<{ height: number; root: string }> {
    const pid = await waitFor('the validator pid', () => this.pid, 10_000, 10);
    groups.add(pid);
    // Polled by hand: waitFor would keep polling a validator that already exited (refused).
    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (!(url = /rpc listening url=(http:\/\/\S+)/.exec(this.out)?.[1])) {
      const s = procState(pid);
      if (s === null || s === 'Z') throw new Error(`the validator exited:\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`no "rpc listening" within 30 s:\n${this.out}`);
      await sleep(20);
    }
    await waitFor('/health', () => new NumchainClient(url, { timeoutMs: 5000 }).health(), 10_000, 20);
    const f = logFields(this.out, 'recovered');
    assert.ok(f, `no "recovered" line:\n${this.out}`);
    return { height: Number(f!.height), root: f!.root! };
  }

  client(): NumchainClient {
    return new NumchainClient(/rpc listening url=(http:\/\/\S+)/.exec(this.out)![1]!, { timeoutMs: 5000 });
  }

  /** kill -9 its process group; resolves once it is dead (a zombie: nobody reaps it). */
  async kill9(): Promise<void> {
    const pid = this.pid!;
    killGroup(pid);
    await waitFor(`pid ${pid} to die`, () => procState(pid) === 'Z', 5000, 5);
  }

  /** Let the killed validator go to PID 1 (which reaps it whenever it does). */
  dropParent(): void {
    killGroup(this.parent.pid!);
  }
}

/**
 * Height and state root of the last intact block-log line: what a restart must recover. Lines are
 * `<crc32 hex> <json>\n` (log-line.ts); a torn tail (a line without LF or with a bad checksum) is
 * what recovery cuts.
 */
async function durableTip(blockLog: string): Promise<{ height: number; root: string | null }> {
  const text = await readFile(blockLog, 'utf8').catch(() => '');
  const lines = text.split('\n');
  lines.pop(); // the bytes after the last LF: a torn line, or nothing
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const json = line.slice(9);
    if (line[8] === ' ' && crc32(Buffer.from(json, 'utf8')).toString(16).padStart(8, '0') === line.slice(0, 8)) {
      const r = JSON.parse(json) as { h: number; root: string };
      return { height: r.h, root: r.root };
    }
  }
  return { height: 0, root: null };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test(`kill -9 of the process group and an immediate restart, ${RESTARTS} times: every restart starts and recovers the durable height and state root`, async () => {
  const dataDir = net.dataDir(0);
  const args = ['run', '--genesis', net.genesisPath, '--node-index', '0', '--data-dir', dataDir, '--rpc', '127.0.0.1:0', '--snapshot-every', '10'];
  let expect: { height: number; root: string | null } = { height: 0, root: null };
  let previous: UnreapedValidator | null = null;
  const restartMs: number[] = [];
  let killedAt = 0;
  for (let i = 0; i <= RESTARTS; i++) {
    const v = new UnreapedValidator(args);
    let got: { height: number; root: string };
    try {
      got = await v.ready();
    } catch (e) {
      throw new Error(`start ${i} (${i === 0 ? 'the first' : 'right after kill -9'}) failed: ${(e as Error).message}`);
    }
    if (i > 0) restartMs.push(Date.now() - killedAt);
    // The killed predecessor was still an unreaped zombie while this one took the lock.
    if (previous) {
      assert.is(procState(previous.pid!), 'Z', `start ${i}: the killed validator is a zombie still`);
      previous.dropParent();
    }
    assert.is(got.height, expect.height, `start ${i}: recovered height = last intact block on disk`);
    if (expect.root !== null) assert.is(got.root, expect.root, `start ${i}: recovered state root = root of block ${expect.height}`);
    if (i === RESTARTS) {
      await v.kill9();
      v.dropParent();
      break;
    }
    // New blocks on top, so that every restart has something new to recover.
    await waitFor(`start ${i}: height ${got.height + 3}`, async () => ((await v.client().health()).height >= got.height + 3 ? true : null), 20_000, 20);
    await v.kill9();
    killedAt = Date.now();
    expect = await durableTip(dataDirLayout(dataDir).blockLog);
    assert.ok(expect.height >= got.height + 3, `start ${i}: blocks were committed (${expect.height})`);
    previous = v;
  }
  assert.is(restartMs.length, RESTARTS);
  console.log(`  ${RESTARTS} restarts after kill -9, each over an unreaped zombie: all started; kill → /health median ${median(restartMs)} ms, max ${Math.max(...restartMs)} ms; final height ${expect.height}`);
});

test('a second live validator on the same data directory is refused, naming the holder', async () => {
  const dataDir = join(net.dir, 'data-second');
  const holder = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir });
  await withNodeLogs([holder], async () => {
    await holder.start();
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await runCli(holder.runArgs());
      assert.is.not(r.code, 0, r.output);
      assert.match(r.output, `data directory is in use: ${dataDir} is held by running process ${holder.pid} on host ${hostname()}`);
      assert.not.match(r.output, /recovered/, 'refused before touching the data');
    }
    const h = await holder.health();
    await holder.waitForHeight(h.height + 2); // the holder goes on, its lock intact
    await holder.kill9();
  });
});

test('a lock left by a process that no longer exists, or naming a pid that is now an unrelated process, never blocks a start', async () => {
  const dataDir = join(net.dir, 'data-stale');
  const layout = dataDirLayout(dataDir);
  const node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir });
  await withNodeLogs([node], async () => {
    await node.start();
    await node.kill9(); // leaves LOCK naming its (now dead) pid and its dead socket
    const deadPid = node.pid!;
    const cases: { what: string; lock: () => string }[] = [
      { what: 'LOCK and socket of a killed validator', lock: () => readFileSync(layout.lockFile, 'utf8') },
      { what: 'an old pid-only LOCK naming a dead pid', lock: () => `${deadPid}\n` },
      { what: 'a LOCK naming PID 1', lock: () => JSON.stringify({ pid: 1, host: hostname(), since: new Date().toISOString(), id: '00'.repeat(8) }) + '\n' },
      { what: "a pid-only LOCK naming this test's own (live) process", lock: () => `${process.pid}\n` },
    ];
    for (const c of cases) {
      await writeFile(layout.lockFile, c.lock());
      await node.start().catch((e: Error) => assert.unreachable(`${c.what} blocked the start: ${e.message}`));
      assert.match(node.log, 'took over a lock whose holder is gone', c.what);
      await node.kill9();
    }
  });
});

test.run();
