// Validators on namespaced hosts (netns.ts): each validator runs its own command, e.g. `numchain run
// --home DIR`, inside its own network namespace at its own address, exactly as on separate machines.
// Two more hosts share the bridge:
//
//   client  where load and checks come from: `numchain flood` runs there, and a forwarder exposes
//           every validator's HTTP API as a Unix socket in this run's directory, which is how this
//           process (in the root namespace, which has no route to the hosts) reads /health and blocks.
//   wan     a `numchain relay` (src/cli/hosts/relay.ts). With `relay` set, a DNAT rule in every
//           validator's namespace sends each connection to another validator's gossip port to the
//           relay instead (one relay port per ordered pair), and the relay forwards it with the
//           configured one-way delay. The validators' own config and genesis stay untouched.
//
// Faults: isolate(i) and split(groups) drop packets with nft rules in the validators' namespaces;
// setLink(i, false) takes a validator's interface down. heal() removes every rule.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { HostPort } from '../../node/addresses.ts';
import type { HealthJson } from '../../rpc/api.ts';
import { NumchainClient } from '../../rpc/client.ts';
import { nodeHttpFetch } from '../../rpc/node-http-fetch.ts';
import { startFlood, type FloodOptions, type FloodRun } from '../cluster/flood-proc.ts';
import { BIN } from '../cluster/localnet.ts';
import { NetnsFabric, NFT_RELAY_TABLE, type FabricHost } from './netns.ts';
import type { RelayStats } from './relay.ts';

export interface ValidatorHost {
  /** host (and namespace) name, e.g. the compose service name */
  readonly name: string;
  /** its IPv4 address on the bridge */
  readonly address: string;
  /** what runs there, argv[0] first (e.g. [node, bin/numchain.js, 'run', '--home', DIR]) */
  readonly command: readonly string[];
  /** its whole environment (nothing is inherited but PATH) */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** where the other validators dial it: its gossip address in genesis */
  readonly gossip: HostPort;
  /** where its HTTP API answers on the bridge */
  readonly rpc: HostPort;
}

export interface HostsNetOptions {
  readonly hosts: readonly ValidatorHost[];
  /** prefix length of the hosts' subnet (default 24) */
  readonly prefixLen?: number;
  /** address of the client host (flood, checks) */
  readonly clientAddress: string;
  /** address of the relay host */
  readonly relayAddress: string;
  /** route every validator-to-validator connection through the relay (default: direct links) */
  readonly relay?: { readonly delayMs: number; readonly lossRate?: number };
  /** logs and sockets (default: a fresh temp dir, removed by close() unless `keep`) */
  readonly dir?: string;
  readonly keep?: boolean;
  /** ms each RPC call of the supervisor may take (default 2000) */
  readonly rpcTimeoutMs?: number;
}

const CLIENT = 'client';
const WAN = 'wan';
const RELAY_PORT_BASE = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Relay port for connections from validator i to validator j. */
export function relayPort(i: number, j: number): number {
  return RELAY_PORT_BASE + 100 * i + j;
}

interface Helper {
  readonly child: ChildProcess;
  /** resolves with the next JSON line the helper prints */
  next(): Promise<Record<string, unknown>>;
}

export class HostsNet {
  readonly dir: string;
  readonly hosts: readonly ValidatorHost[];
  readonly size: number;
  /** the validators' HTTP API as seen from the client host */
  readonly rpcUrls: readonly string[];
  /** clients for this process: each reaches its validator through the client host's forwarder */
  readonly clients: readonly NumchainClient[];
  readonly relayed: boolean;
  private readonly fetches: { close(): void }[];
  private readonly children: (ChildProcess | null)[];
  private readonly exitedP: (Promise<void> | null)[];
  private forwarder: Helper | null = null;
  private relay: Helper | null = null;
  private closed = false;

  private constructor(
    readonly fabric: NetnsFabric,
    private readonly o: HostsNetOptions,
    dir: string,
    private readonly ownsDir: boolean,
  ) {
    this.dir = dir;
    this.hosts = o.hosts;
    this.size = o.hosts.length;
    this.relayed = o.relay !== undefined;
    this.rpcUrls = o.hosts.map((h) => `http://${h.rpc.host}:${h.rpc.port}`);
    const fetches = o.hosts.map((_, i) => nodeHttpFetch({ socketPath: this.rpcSocket(i), maxSockets: 16 }));
    this.fetches = fetches;
    this.clients = this.rpcUrls.map((u, i) => new NumchainClient(u, { timeoutMs: o.rpcTimeoutMs ?? 2000, fetch: fetches[i] }));
    this.children = o.hosts.map(() => null);
    this.exitedP = o.hosts.map(() => null);
  }

  /** Build the namespaces, start the forwarder (and the relay with its DNAT rules); no validator yet. */
  static async create(o: HostsNetOptions): Promise<HostsNet> {
    const reserved = [CLIENT, WAN, 'br'];
    for (const h of o.hosts) if (reserved.includes(h.name)) throw new Error(`host name "${h.name}" is reserved (${reserved.join(', ')})`);
    if (o.hosts.length > 99) throw new Error('at most 99 validators');
    const fabricHosts: FabricHost[] = [...o.hosts.map((h) => ({ name: h.name, address: h.address })), { name: CLIENT, address: o.clientAddress }, { name: WAN, address: o.relayAddress }];
    const ownsDir = o.dir === undefined;
    const dir = resolve(o.dir ?? mkdtempSync(join(tmpdir(), 'numchain-hosts-')));
    mkdirSync(dir, { recursive: true });
    const fabric = await NetnsFabric.create(fabricHosts, { prefixLen: o.prefixLen ?? 24 });
    const net = new HostsNet(fabric, o, dir, ownsDir);
    try {
      await net.startHelpers();
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  private rpcSocket(i: number): string {
    return join(this.dir, `rpc-${i}.sock`);
  }

  logPath(i: number): string {
    return join(this.dir, `${this.hosts[i]!.name}.log`);
  }

  /** Spawn `argv` inside host `name`'s namespace; stdout and stderr appended to `log`. */
  private spawnIn(name: string, argv: readonly string[], log: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string; pipe?: boolean } = {}): ChildProcess {
    const fd = openSync(log, 'a');
    try {
      const [cmd, ...args] = [...this.fabric.execPrefix(name), ...argv];
      return spawn(cmd!, args, { stdio: opts.pipe ? ['pipe', 'pipe', fd] : ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
    } finally {
      closeSync(fd);
    }
  }

  private async helper(name: string, args: readonly string[], log: string): Promise<Helper> {
    // Ahead of the validators for the CPU (nice -10): on a busy machine a relay waiting for a core
    // would add its wait to the delay it emulates. It needs little CPU itself (relayStats()).
    const child = this.spawnIn(name, ['nice', '-n', '-10', process.execPath, BIN, 'relay', ...args], log, { pipe: true });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    const lines: Record<string, unknown>[] = [];
    const waiting: ((v: Record<string, unknown>) => void)[] = [];
    let ended = false;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(l) as Record<string, unknown>;
      } catch {
        return;
      }
      const w = waiting.shift();
      if (w) w(v);
      else lines.push(v);
    });
    child.once('exit', () => {
      ended = true;
      for (const w of waiting.splice(0)) w({ error: `relay in ${name} exited; see ${log}` });
    });
    const h: Helper = {
      child,
      next: () => {
        const v = lines.shift();
        if (v) return Promise.resolve(v);
        if (ended) return Promise.resolve({ error: `relay in ${name} exited; see ${log}` });
        return new Promise((r) => waiting.push(r));
      },
    };
    const first = await Promise.race([h.next(), sleep(30_000).then(() => ({ error: `relay in ${name} did not start within 30 s; see ${log}` }))]);
    if (!('listening' in first)) throw new Error(String(first.error));
    return h;
  }

  private async startHelpers(): Promise<void> {
    const fwd = this.hosts.map((h, i) => `unix:${this.rpcSocket(i)}=${h.rpc.host}:${h.rpc.port}`);
    this.forwarder = await this.helper(CLIENT, fwd, join(this.dir, 'forwarder.log'));
    if (!this.o.relay) return;
    const routes: string[] = [];
    this.hosts.forEach((from, i) => {
      const rules: string[] = [];
      this.hosts.forEach((to, j) => {
        if (i === j) return;
        routes.push(`${this.o.relayAddress}:${relayPort(i, j)}=${to.gossip.host}:${to.gossip.port}`);
        rules.push(`    ip daddr ${to.gossip.host} tcp dport ${to.gossip.port} dnat to ${this.o.relayAddress}:${relayPort(i, j)}`);
      });
      this.fabric.nft(from.name, `table ip ${NFT_RELAY_TABLE} {\n  chain output {\n    type nat hook output priority -100; policy accept;\n${rules.join('\n')}\n  }\n}\n`);
    });
    const args = ['--control', '--delay', String(this.o.relay.delayMs), '--loss', String(this.o.relay.lossRate ?? 0), ...routes];
    this.relay = await this.helper(WAN, args, join(this.dir, 'relay.log'));
  }

  /** The relay's statistics (its own CPU, bytes, event-loop delay), or null without a relay. */
  async relayStats(): Promise<RelayStats | null> {
    if (!this.relay) return null;
    this.relay.child.stdin!.write('stats\n');
    const v = await this.relay.next();
    return (v.stats as RelayStats | undefined) ?? null;
  }

  async setRelay(o: { delayMs?: number; lossRate?: number }): Promise<void> {
    if (!this.relay) throw new Error('this network has no relay (create it with `relay`)');
    if (o.delayMs !== undefined) {
      this.relay.child.stdin!.write(`delay ${o.delayMs}\n`);
      await this.relay.next();
    }
    if (o.lossRate !== undefined) {
      this.relay.child.stdin!.write(`loss ${o.lossRate}\n`);
      await this.relay.next();
    }
  }

  isRunning(i: number): boolean {
    return this.children[i] !== null;
  }

  pid(i: number): number | null {
    return this.children[i]?.pid ?? null;
  }

  /** Start validator i's command in its namespace (no-op if it runs). */
  start(i: number): void {
    if (this.closed) throw new Error('hosts network is closed');
    if (this.children[i] !== null) return;
    const h = this.hosts[i]!;
    const fd = openSync(this.logPath(i), 'a');
    writeSync(fd, `=== numchain hosts: starting ${h.name} (${h.address}) at ${new Date().toISOString()}: ${h.command.join(' ')}\n`);
    closeSync(fd);
    const child = this.spawnIn(h.name, h.command, this.logPath(i), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(h.env ?? {}) }, cwd: h.cwd });
    child.on('error', () => undefined);
    this.children[i] = child;
    this.exitedP[i] = new Promise<void>((res) => {
      child.once('exit', () => {
        if (this.children[i] === child) this.children[i] = null;
        res();
      });
    });
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) this.start(i);
  }

  /** Send `signal` to validator i and wait for it to exit (SIGKILL after `graceMs`). */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000): Promise<void> {
    const child = this.children[i];
    if (!child) return;
    const exited = this.exitedP[i]!;
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(t);
    }
  }

  stop(i: number, graceMs = 5000): Promise<void> {
    return this.kill(i, 'SIGTERM', graceMs);
  }

  async health(i: number): Promise<HealthJson | null> {
    try {
      return await this.clients[i]!.health();
    } catch {
      return null;
    }
  }

  healthAll(): Promise<(HealthJson | null)[]> {
    return Promise.all(this.clients.map((_, i) => this.health(i)));
  }

  /** Until every validator in `which` answers /health with height ≥ minHeight; fails early if one exits. */
  async waitFor(opts: { which?: readonly number[]; minHeight?: number; timeoutMs?: number } = {}): Promise<HealthJson[]> {
    const which = opts.which ?? [...Array(this.size).keys()];
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const minHeight = opts.minHeight ?? 0;
    for (;;) {
      for (const i of which) if (this.children[i] === null) throw new Error(`validator ${this.hosts[i]!.name} is not running; see ${this.logPath(i)}`);
      const last = await Promise.all(which.map((i) => this.health(i)));
      if (last.every((h) => h !== null && h.height >= minHeight)) return last as HealthJson[];
      if (Date.now() > deadline) {
        const state = which.map((i, k) => `${this.hosts[i]!.name}=${last[k] ? `h${last[k]!.height}` : 'no answer'}`).join(' ');
        throw new Error(`timed out waiting for height ≥ ${minHeight} (${state}); logs in ${this.dir}`);
      }
      await sleep(200);
    }
  }

  /** Run `argv` in validator i's namespace (e.g. its container health check); its exit code and output. */
  execIn(i: number, argv: readonly string[], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
    return this.fabric.exec(this.hosts[i]!.name, argv, { timeoutMs });
  }

  /** `numchain flood` from the client host to validators `which` (default all). */
  flood(o: Omit<FloodOptions, 'rpcUrls' | 'wrap'> & { which?: readonly number[] }): FloodRun {
    const rpcUrls = (o.which ?? [...Array(this.size).keys()]).map((i) => this.rpcUrls[i]!);
    return startFlood({ logPath: join(this.dir, 'flood.log'), ...o, rpcUrls, wrap: this.fabric.execPrefix(CLIENT) });
  }

  /** Cut validator i off from every other validator (and the relay); clients still reach it. */
  isolate(i: number): void {
    const others = this.hosts.filter((_, j) => j !== i).map((h) => h.address);
    this.fabric.block(this.hosts[i]!.name, this.relayed ? [...others, this.o.relayAddress] : others);
  }

  /** Partition the validators into `groups` (indices): no packet between groups; clients reach all. */
  split(groups: readonly (readonly number[])[]): void {
    if (this.relayed) throw new Error('split() needs direct links: with the relay, every validator talks to the same relay address');
    const group = new Map<number, number>();
    groups.forEach((g, k) => g.forEach((i) => group.set(i, k)));
    for (const [i, k] of group) {
      const others = [...group].filter(([, kk]) => kk !== k).map(([j]) => this.hosts[j]!.address);
      this.fabric.block(this.hosts[i]!.name, others);
    }
  }

  /** Remove every partition rule. */
  heal(): void {
    for (const h of this.hosts) this.fabric.unblock(h.name);
  }

  /** Validator i's interface down (false) or up (true). */
  setLink(i: number, up: boolean): void {
    this.fabric.setLink(this.hosts[i]!.name, up);
  }

  /** Human-readable: namespaces, addresses, logs. */
  describe(): string {
    const lines = [`hosts network ${this.fabric.tag} (${this.relayed ? `relay ${this.o.relayAddress}` : 'direct links'}), logs in ${this.dir}`];
    this.hosts.forEach((h, i) => lines.push(`  ${h.name}: ${h.address} (netns ${this.fabric.ns(h.name)}) gossip ${h.gossip.host}:${h.gossip.port} rpc ${this.rpcUrls[i]} pid ${this.pid(i) ?? '-'}`));
    lines.push(`  client: ${this.o.clientAddress}  wan: ${this.o.relayAddress}`);
    return lines.join('\n');
  }

  /** Stop the validators (SIGTERM, then SIGKILL), the helpers, remove the namespaces and the dir. */
  async close(graceMs = 3000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.children.map((_, i) => this.kill(i, 'SIGTERM', graceMs)));
    for (const h of [this.relay, this.forwarder]) if (h && h.child.exitCode === null) h.child.kill('SIGTERM');
    for (const f of this.fetches) f.close();
    await this.fabric.close();
    if (this.ownsDir && !this.o.keep && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
