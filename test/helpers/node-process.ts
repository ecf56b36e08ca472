// Real validator processes for tests and benchmarks: a localnet genesis in a temp dir, `numchain run`
// children on 127.0.0.1 (RPC on a kernel-chosen port read back from the log, so no port races), waits
// on /health, kill -9, graceful stop, restart on the same data dir, and log capture for failure
// reports. Every child is tracked: killAllNodes() in an `after` hook, and a process `exit` hook
// SIGKILLs anything still alive if a test file dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, engineSha256Hex } from '../../src/host/node-loader.ts';
import { generateGenesis, writeGenesisFiles, type Genesis } from '../../src/node/genesis.ts';
import { NumchainClient } from '../../src/rpc/client.ts';
import type { HealthJson } from '../../src/rpc/api.ts';

export const CLI = join(PROJECT_ROOT, 'bin', 'numchain.js');
const LOG_CAP_BYTES = 4 << 20;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a non-null value or `timeoutMs` passes (then throws naming `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== null && v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for gossip addresses other nodes must know). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface LocalnetOptions {
  /** validators (default 1) */
  readonly nodes?: number;
  /** key seed for reproducible validator keys (default 7) */
  readonly keySeed?: number;
  readonly chainId?: string;
  /** ms a leader waits before proposing (default: genesis default, 50) */
  readonly blockIntervalMs?: number;
  readonly timeoutBaseMs?: number;
  readonly maxTxsPerBlock?: number;
  /** txWindow of the chain (default: genesis default) */
  readonly txWindow?: number;
  /**
   * Gossip addresses in genesis: 'free' picks a free port per validator (needed with >1 node, where
   * peers dial each other); 'zero' writes port 0 (fine for one node). Default: 'zero' for 1 node.
   */
  readonly gossipPorts?: 'free' | 'zero';
}

export interface Localnet {
  readonly dir: string;
  readonly genesisPath: string;
  readonly genesis: Genesis;
  dataDir(index: number): string;
  keyPath(index: number): string;
  /** Remove the whole directory (data dirs included). */
  cleanup(): Promise<void>;
}

/** A genesis + key files in a fresh temp directory, for this machine's engine build. */
export async function createLocalnet(opts: LocalnetOptions = {}): Promise<Localnet> {
  const n = opts.nodes ?? 1;
  const dir = await mkdtemp(join(tmpdir(), 'numchain-node-'));
  const free = (opts.gossipPorts ?? (n > 1 ? 'free' : 'zero')) === 'free';
  const ports = free ? await Promise.all(Array.from({ length: n }, () => freePort())) : null;
  const { genesis, keys } = generateGenesis({
    nodes: n,
    chainId: opts.chainId ?? 'numchain-test',
    host: '127.0.0.1',
    gossipBasePort: 0,
    rpcBasePort: 0,
    engineSha256: engineSha256Hex(),
    genesisTime: Date.now(),
    keySeed: opts.keySeed ?? 7,
    chain: { ...(opts.maxTxsPerBlock ? { maxTxsPerBlock: opts.maxTxsPerBlock } : {}), ...(opts.txWindow ? { txWindow: opts.txWindow } : {}) },
    consensus: { ...(opts.blockIntervalMs !== undefined ? { blockIntervalMs: opts.blockIntervalMs } : {}), ...(opts.timeoutBaseMs ? { timeoutBaseMs: opts.timeoutBaseMs } : {}) },
  });
  // generateGenesis numbers ports base+i; with base 0 that is not "any port", so write them here.
  const g: Genesis = {
    ...genesis,
    validators: genesis.validators.map((v, i) => ({ ...v, gossip: `127.0.0.1:${ports ? ports[i] : 0}`, rpc: '127.0.0.1:0' })),
  };
  const paths = writeGenesisFiles(join(dir, 'genesis.json'), g, keys);
  return {
    dir,
    genesisPath: paths.genesis,
    genesis: g,
    dataDir: (i) => join(dir, `data-${i}`),
    keyPath: (i) => paths.keys[i]!,
    // NUMCHAIN_KEEP_TMP=1 keeps the directory for a post-mortem (its path is printed).
    cleanup: () => (process.env.NUMCHAIN_KEEP_TMP ? (process.stderr.write(`kept ${dir}\n`), Promise.resolve()) : rm(dir, { recursive: true, force: true })),
  };
}

/** Rewrite genesis.json through `edit` (e.g. a wrong engine hash). */
export async function editGenesisFile(path: string, edit: (g: Record<string, any>) => void): Promise<void> {
  const g = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
  edit(g);
  await writeFile(path, JSON.stringify(g, null, 2) + '\n');
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcessOptions {
  readonly genesisPath: string;
  readonly index: number;
  readonly dataDir: string;
  /** RPC listen port (default 0: chosen by the kernel, read from the "rpc listening" log line) */
  readonly rpcPort?: number;
  readonly snapshotEvery?: number;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** more `numchain run` flags (e.g. ['--peers', '1=127.0.0.1:9000']) */
  readonly extraArgs?: readonly string[];
  /** flags for the node binary itself (e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']) */
  readonly nodeArgs?: readonly string[];
  readonly label?: string;
}

const live = new Set<ChildProcess>();
const tracked = new Set<NodeProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) c.kill('SIGKILL');
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

/** Spawn a child and collect its output (bounded); resolves `exited` when it is gone. */
function spawnTracked(args: readonly string[], nodeArgs: readonly string[] = []): { child: ChildProcess; out: { text: string }; exited: Promise<ExitInfo> } {
  installExitHooks();
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  live.add(child);
  const out = { text: '' };
  const take = (d: Buffer): void => {
    out.text += d.toString('utf8');
    if (out.text.length > LOG_CAP_BYTES) out.text = '[...]\n' + out.text.slice(-LOG_CAP_BYTES / 2);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (e) => {
      live.delete(child);
      out.text += `\n[spawn error] ${e.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  return { child, out, exited };
}

/** One `numchain run` validator. start() → kill9()/stop() → start() again reuses the data dir. */
export class NodeProcess {
  readonly opts: NodeProcessOptions;
  /** Output of every run so far (stdout and stderr interleaved), oldest first. */
  private readonly runs: { text: string }[] = [];
  private child: ChildProcess | null = null;
  private exitedP: Promise<ExitInfo> | null = null;
  private lastExit: ExitInfo | null = null;
  private urlValue: string | null = null;
  private clientValue: NumchainClient | null = null;

  constructor(opts: NodeProcessOptions) {
    this.opts = opts;
    tracked.add(this);
  }

  get label(): string {
    return this.opts.label ?? `node ${this.opts.index}`;
  }

  get running(): boolean {
    return this.child !== null && this.lastExit === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    if (this.urlValue === null) throw new Error(`${this.label}: not started`);
    return this.urlValue;
  }

  get client(): NumchainClient {
    if (this.clientValue === null) throw new Error(`${this.label}: not started`);
    return this.clientValue;
  }

  /** Output of the current (or last) run. */
  get log(): string {
    return this.runs.at(-1)?.text ?? '';
  }

  /** Output of all runs, each headed by its number. */
  get allLogs(): string {
    return this.runs.map((r, i) => `----- ${this.label} run ${i + 1} -----\n${r.text}`).join('\n');
  }

  /** Exit status of the last run (null while running or never started). */
  get exitInfo(): ExitInfo | null {
    return this.lastExit;
  }

  runArgs(): string[] {
    const o = this.opts;
    const args = ['run', '--genesis', o.genesisPath, '--node-index', String(o.index), '--data-dir', o.dataDir, '--rpc', `127.0.0.1:${o.rpcPort ?? 0}`];
    if (o.snapshotEvery !== undefined) args.push('--snapshot-every', String(o.snapshotEvery));
    if (o.logLevel) args.push('--log-level', o.logLevel);
    return [...args, ...(o.extraArgs ?? [])];
  }

  /** Spawn without waiting for anything. */
  spawn(): void {
    if (this.running) throw new Error(`${this.label}: already running (pid ${this.pid})`);
    const { child, out, exited } = spawnTracked(this.runArgs(), this.opts.nodeArgs);
    this.child = child;
    this.runs.push(out);
    this.lastExit = null;
    this.urlValue = null;
    this.clientValue = null;
    this.exitedP = exited.then((e) => {
      if (this.child === child) this.lastExit = e;
      return e;
    });
  }

  /** Spawn and wait until /health answers (throws with the log if the process exits first). */
  async start(timeoutMs = 30_000): Promise<HealthJson> {
    this.spawn();
    return this.waitReady(timeoutMs);
  }

  /** Wait for the RPC url in the log and a /health answer. */
  async waitReady(timeoutMs = 30_000): Promise<HealthJson> {
    const started = Date.now();
    const url = await waitFor(`${this.label}: "rpc listening" in its log`, () => {
      if (this.lastExit) throw new ExitedError(this);
      return /rpc listening url=(http:\/\/\S+)/.exec(this.log)?.[1] ?? null;
    }, timeoutMs).catch((e) => {
      throw e instanceof ExitedError ? e : this.exitedOr(e);
    });
    this.urlValue = url;
    this.clientValue = new NumchainClient(url, { timeoutMs: 10_000 });
    return waitFor(`${this.label}: GET /health`, async () => {
      if (this.lastExit) throw new ExitedError(this);
      return this.client.health();
    }, Math.max(1000, timeoutMs - (Date.now() - started)), 25).catch((e) => {
      throw this.exitedOr(e);
    });
  }

  private exitedOr(e: unknown): Error {
    if (this.lastExit) return new ExitedError(this);
    return new Error(`${(e as Error).message}\n${tail(this.log)}`);
  }

  /** Resolves when the current run has exited (immediately if not running). */
  async exited(timeoutMs = 30_000): Promise<ExitInfo> {
    if (!this.exitedP) throw new Error(`${this.label}: never started`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: did not exit within ${timeoutMs} ms\n${tail(this.log)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exitedP, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no shutdown code runs (a crash as far as the data directory is concerned). */
  async kill9(): Promise<ExitInfo> {
    if (!this.child || this.lastExit) return this.lastExit ?? { code: null, signal: null };
    this.child.kill('SIGKILL');
    return this.exited(10_000);
  }

  /** SIGTERM and wait; SIGKILL if it does not exit within `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<ExitInfo> {
    if (!this.child || this.lastExit) return this.lastExit ?? { code: null, signal: null };
    this.child.kill('SIGTERM');
    try {
      return await this.exited(timeoutMs);
    } catch {
      return this.kill9();
    }
  }

  async health(): Promise<HealthJson> {
    return this.client.health();
  }

  /** Wait until the committed height is at least `height`. */
  async waitForHeight(height: number, timeoutMs = 20_000): Promise<HealthJson> {
    return waitFor(`${this.label}: height ≥ ${height}`, async () => {
      if (this.lastExit) throw new ExitedError(this);
      const h = await this.client.health();
      return h.height >= height ? h : null;
    }, timeoutMs, 25);
  }

  /** The log, last `lines` lines, for failure messages. */
  tail(lines = 40): string {
    return tail(this.log, lines);
  }
}

export class ExitedError extends Error {
  constructor(node: NodeProcess) {
    super(`${node.label} exited (code ${node.exitInfo?.code}, signal ${node.exitInfo?.signal})\n${node.tail()}`);
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Run a numchain command to completion (e.g. a `run` expected to refuse to start). */
export async function runCli(args: readonly string[], opts: { timeoutMs?: number; nodeArgs?: readonly string[] } = {}): Promise<ExitInfo & { output: string }> {
  const { child, out, exited } = spawnTracked(args, opts.nodeArgs);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  try {
    const e = await exited;
    return { ...e, output: out.text };
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILL every node process this file started (for `after` hooks); never throws. */
export async function killAllNodes(): Promise<void> {
  await Promise.all([...tracked].map((n) => n.kill9().catch(() => undefined)));
  for (const c of live) c.kill('SIGKILL');
}

/**
 * Run a test body; if it throws, print every node's log (all runs) to stderr before rethrowing,
 * so a failure in CI shows what the processes said.
 */
export async function withNodeLogs(nodes: readonly NodeProcess[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of nodes) process.stderr.write(`\n${tail(n.allLogs, 200)}\n`);
    throw e;
  }
}

/** Parse `key=value` fields of the last log line containing `message` (values unquoted). */
export function logFields(log: string, message: string): Record<string, string> | null {
  const line = log.split('\n').filter((l) => l.includes(`] ${message}`)).at(-1);
  if (!line) return null;
  const rest = line.slice(line.indexOf(`] ${message}`) + 2 + message.length);
  const fields: Record<string, string> = {};
  for (const m of rest.matchAll(/ ([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) fields[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return fields;
}
