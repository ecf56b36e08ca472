// A supervised localnet: genesis + keys in one data directory, one `numchain run` child process per
// validator with its log in a file, health waits, and fault injection on single nodes (kill -9,
// SIGTERM, SIGSTOP/SIGCONT, restart). Used by `numchain demo`, `numchain multi`, the real-process
// tests and bench/cluster.ts. Every child is killed when this process exits, whatever the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { engineSha256Hex } from '../../host/node-loader.ts';
import { generateGenesis, readGenesis, writeGenesisFiles, type Genesis } from '../../node/genesis.ts';
import type { HealthJson } from '../../rpc/api.ts';
import { NumchainClient } from '../../rpc/client.ts';
import { findFreePortBlock, portsFree } from './ports.ts';
import type { PocParams } from '../../poc/params.ts';

export const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'numchain.js');

export interface LocalnetOptions {
  /** validators (default 4); ignored when `genesisPath` is given */
  readonly nodes?: number;
  /** where genesis, keys, node data and logs go (default: a fresh temp dir) */
  readonly dataDir?: string;
  /** keep the data dir on close() (default: false for a temp dir, true for a given one) */
  readonly keep?: boolean;
  /** use this genesis (keys beside it) instead of generating one */
  readonly genesisPath?: string;
  /** gossip port of validator 0; RPC ports start at base + max(10, nodes). Default: a free block. */
  readonly basePort?: number;
  readonly host?: string;
  /** deterministic validator keys (default 1; localnets only) */
  readonly keySeed?: number;
  readonly blockIntervalMs?: number;
  readonly timeoutBaseMs?: number;
  readonly epochLength?: number;
  /** proof of capacity (new genesis only): a `poc` block with these parameters (the rest default) */
  readonly poc?: Partial<PocParams>;
  readonly maxTxsPerBlock?: number;
  readonly chainId?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readonly snapshotEvery?: number;
  /** extra arguments for the node binary itself, e.g. ['--cpu-prof'] (benchmarks and profiling) */
  readonly nodeArgs?: readonly string[];
  /** extra arguments for `numchain run`, e.g. ['--verify-workers', '1'] */
  readonly runArgs?: readonly string[];
  /** extra arguments for `numchain run` of validator i only, e.g. its --peers (after runArgs) */
  readonly runArgsFor?: (i: number) => readonly string[];
  /** ms each RPC call of the supervisor may take (default 2000) */
  readonly rpcTimeoutMs?: number;
}

export interface NodeExit {
  readonly index: number;
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** true when the supervisor asked for it (kill/stop/close) */
  readonly expected: boolean;
  readonly at: number;
}

interface Slot {
  child: ChildProcess | null;
  exited: Promise<void> | null;
  expectingExit: boolean;
  paused: boolean;
}

const LIVE = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; process.kill is. SIGKILL also ends SIGSTOPped children.
  process.on('exit', () => {
    for (const c of LIVE) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Localnet {
  readonly dir: string;
  readonly genesisPath: string;
  readonly genesis: Genesis;
  readonly size: number;
  readonly rpcUrls: readonly string[];
  readonly clients: readonly NumchainClient[];
  /** unexpected and expected exits of node processes, in order */
  readonly exits: NodeExit[] = [];
  onUnexpectedExit: ((e: NodeExit) => void) | null = null;
  private readonly slots: Slot[];
  private readonly keep: boolean;
  private readonly ownsDir: boolean;
  private closed = false;

  private constructor(dir: string, genesisPath: string, genesis: Genesis, keep: boolean, ownsDir: boolean, private readonly opts: LocalnetOptions) {
    this.dir = dir;
    this.genesisPath = genesisPath;
    this.genesis = genesis;
    this.size = genesis.validators.length;
    this.keep = keep;
    this.ownsDir = ownsDir;
    this.rpcUrls = genesis.validators.map((v) => `http://${v.rpc}`);
    this.clients = this.rpcUrls.map((u) => new NumchainClient(u, { timeoutMs: opts.rpcTimeoutMs ?? 2000 }));
    this.slots = genesis.validators.map(() => ({ child: null, exited: null, expectingExit: false, paused: false }));
  }

  /** Prepare the data dir and genesis (nothing is started). */
  static async create(opts: LocalnetOptions = {}): Promise<Localnet> {
    installExitHook();
    const ownsDir = opts.dataDir === undefined;
    const dir = resolve(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'numchain-localnet-')));
    mkdirSync(dir, { recursive: true });
    const keep = opts.keep ?? !ownsDir;
    let genesisPath: string;
    let genesis: Genesis;
    if (opts.genesisPath !== undefined) {
      genesisPath = resolve(opts.genesisPath);
      genesis = readGenesis(genesisPath);
    } else {
      const nodes = opts.nodes ?? 4;
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 100) throw new Error(`nodes must be an integer in [1, 100], got ${nodes}`);
      const host = opts.host ?? '127.0.0.1';
      const rpcOffset = Math.max(10, nodes);
      let base = opts.basePort;
      if (base === undefined) base = await findFreePortBlock(rpcOffset + nodes, host);
      else if (!(await portsFree(base, rpcOffset + nodes, host))) {
        throw new Error(`ports ${base}–${base + rpcOffset + nodes - 1} on ${host} are not all free (gossip from ${base}, RPC from ${base + rpcOffset})`);
      }
      const { genesis: g, keys } = generateGenesis({
        nodes,
        chainId: opts.chainId ?? 'numchain-localnet',
        host,
        gossipBasePort: base,
        rpcBasePort: base + rpcOffset,
        engineSha256: engineSha256Hex(),
        genesisTime: Date.now(),
        keySeed: opts.keySeed ?? 1,
        chain: opts.maxTxsPerBlock === undefined ? {} : { maxTxsPerBlock: opts.maxTxsPerBlock },
        consensus: {
          ...(opts.blockIntervalMs === undefined ? {} : { blockIntervalMs: opts.blockIntervalMs }),
          ...(opts.timeoutBaseMs === undefined ? {} : { timeoutBaseMs: opts.timeoutBaseMs }),
          ...(opts.epochLength === undefined ? {} : { epochLength: opts.epochLength }),
        },
        ...(opts.poc === undefined ? {} : { poc: opts.poc }),
      });
      genesisPath = writeGenesisFiles(join(dir, 'genesis.json'), g, keys).genesis;
      genesis = g;
    }
    return new Localnet(dir, genesisPath, genesis, keep, ownsDir, opts);
  }

  nodeDir(i: number): string {
    return join(this.dir, `node-${i}`);
  }

  logPath(i: number): string {
    return join(this.dir, `node-${i}.log`);
  }

  pid(i: number): number | null {
    return this.slots[i]!.child?.pid ?? null;
  }

  isRunning(i: number): boolean {
    return this.slots[i]!.child !== null;
  }

  isPaused(i: number): boolean {
    return this.slots[i]!.paused;
  }

  /** Spawn validator i (no-op if it runs). Its stdout and stderr are appended to logPath(i). */
  start(i: number): void {
    if (this.closed) throw new Error('localnet is closed');
    const slot = this.slots[i];
    if (!slot) throw new Error(`no validator ${i} (the localnet has ${this.size})`);
    if (slot.child !== null) return;
    const fd = openSync(this.logPath(i), 'a');
    writeSync(fd, `=== numchain localnet: starting validator ${i} at ${new Date().toISOString()}\n`);
    const args = [BIN, 'run', '--genesis', this.genesisPath, '--node-index', String(i), '--data-dir', this.nodeDir(i)];
    if (this.opts.logLevel) args.push('--log-level', this.opts.logLevel);
    if (this.opts.snapshotEvery !== undefined) args.push('--snapshot-every', String(this.opts.snapshotEvery));
    args.push(...(this.opts.runArgs ?? []), ...(this.opts.runArgsFor?.(i) ?? []));
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...(this.opts.nodeArgs ?? []), ...args], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    LIVE.add(child);
    slot.child = child;
    slot.expectingExit = false;
    slot.paused = false;
    slot.exited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => {
        LIVE.delete(child);
        const e: NodeExit = { index: i, pid: child.pid ?? -1, code, signal, expected: slot.expectingExit, at: Date.now() };
        this.exits.push(e);
        if (slot.child === child) {
          slot.child = null;
          slot.paused = false;
        }
        if (!e.expected) this.onUnexpectedExit?.(e);
        res();
      });
    });
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) this.start(i);
  }

  /** Send `signal` to validator i and wait for it to exit (SIGKILL after `graceMs` if it lingers). */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<void> {
    const slot = this.slots[i]!;
    const child = slot.child;
    if (child === null) return;
    slot.expectingExit = true;
    const exited = slot.exited!;
    if (slot.paused && signal !== 'SIGKILL') child.kill('SIGCONT'); // a stopped process cannot handle SIGTERM
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `graceMs`. */
  stop(i: number, graceMs = 5000): Promise<void> {
    return this.kill(i, 'SIGTERM', graceMs);
  }

  /** Freeze validator i (SIGSTOP): its sockets stay open but it answers nothing. */
  pause(i: number): void {
    const slot = this.slots[i]!;
    if (slot.child === null || slot.paused) return;
    slot.child.kill('SIGSTOP');
    slot.paused = true;
  }

  resume(i: number): void {
    const slot = this.slots[i]!;
    if (slot.child === null || !slot.paused) return;
    slot.child.kill('SIGCONT');
    slot.paused = false;
  }

  async restart(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.kill(i, signal);
    this.start(i);
  }

  /** /health of validator i, or null if it does not answer. */
  async health(i: number): Promise<HealthJson | null> {
    try {
      return await this.clients[i]!.health();
    } catch {
      return null;
    }
  }

  async healthAll(): Promise<(HealthJson | null)[]> {
    return Promise.all(this.clients.map((_, i) => this.health(i)));
  }

  /**
   * Wait until every validator in `which` answers /health with height ≥ minHeight. Fails early if
   * one of them exits, naming its log.
   */
  async waitFor(opts: { which?: readonly number[]; minHeight?: number; timeoutMs?: number } = {}): Promise<HealthJson[]> {
    const which = opts.which ?? [...Array(this.size).keys()];
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const minHeight = opts.minHeight ?? 0;
    let last: (HealthJson | null)[] = [];
    for (;;) {
      for (const i of which) {
        if (this.slots[i]!.child === null) {
          const exit = [...this.exits].reverse().find((e) => e.index === i);
          throw new Error(`validator ${i} is not running${exit ? ` (exited code=${exit.code} signal=${exit.signal})` : ''}; see ${this.logPath(i)}`);
        }
      }
      last = await Promise.all(which.map((i) => this.health(i)));
      if (last.every((h) => h !== null && h.height >= minHeight)) return last as HealthJson[];
      if (Date.now() > deadline) {
        const state = which.map((i, k) => `n${i}=${last[k] ? `h${last[k]!.height}` : 'down'}`).join(' ');
        throw new Error(`timed out waiting for height ≥ ${minHeight} on validators ${which.join(',')} (${state}); logs in ${this.dir}`);
      }
      await sleep(200);
    }
  }

  /** Human-readable description: data dir, genesis, per node pid, RPC URL and log file. */
  describe(): string {
    const lines = [`data dir: ${this.dir}`, `genesis:  ${this.genesisPath}`];
    for (let i = 0; i < this.size; i++) {
      const pid = this.pid(i);
      lines.push(`  node ${i}: rpc ${this.rpcUrls[i]}  gossip ${this.genesis.validators[i]!.gossip}  pid ${pid ?? '-'}  log ${this.logPath(i)}`);
    }
    return lines.join('\n');
  }

  /** Stop every validator (SIGTERM, SIGKILL after graceMs), then delete the data dir unless kept. */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((_, i) => this.kill(i, 'SIGTERM', graceMs)));
    if (!this.keep && this.ownsDir && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }

  get kept(): boolean {
    return this.keep || !this.ownsDir;
  }
}
