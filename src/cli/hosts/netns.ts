// Hosts in Linux network namespaces, for multi-host tests on one machine (root only). Every host is a
// namespace with its loopback and one interface, eth0, holding its address; the other end of each
// eth0 is a port of a bridge that lives in a namespace of its own. Nothing is added to the root
// namespace: no address, no route, no link, no nft rule, so the hosts' addresses exist only inside
// the namespaces and no byte between them reaches the machine's own network.
//
//   nchost-<tag>-br      bridge br0, ports p0, p1, ...
//   nchost-<tag>-<host>  lo, eth0 = the host's address (veth, peer p<k> in the bridge namespace)
//
// <tag> is random per fabric, so parallel runs never share a name. A fabric holds a listening Unix
// socket, /run/numchain-hosts/<tag>.sock, for as long as it lives; the kernel closes it when the
// process dies, however it dies. sweepStale() removes the namespaces of every tag whose socket no
// longer answers (a run that was killed), after killing whatever still runs inside them.
// Cleanup: close(), and on process exit (signals included) a synchronous teardown of every fabric
// still open.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';

export const NS_PREFIX = 'nchost-';
const LOCK_DIR = '/run/numchain-hosts';
/** nft tables this module adds, all inside host namespaces */
export const NFT_PARTITION_TABLE = 'nchost_partition';
export const NFT_RELAY_TABLE = 'nchost_relay';

export class NetnsError extends Error {
  override readonly name = 'NetnsError';
}

export interface FabricHost {
  /** 1–20 characters of [a-z0-9-]; part of the namespace name */
  readonly name: string;
  /** IPv4 address of its eth0 */
  readonly address: string;
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], input?: string): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
  if (r.error) return { status: null, stdout: '', stderr: r.error.message };
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function must(cmd: string, args: readonly string[], input?: string): string {
  const r = run(cmd, args, input);
  if (r.status !== 0) throw new NetnsError(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** Why namespaced hosts cannot run here (not root, no iproute2 or nftables, no CAP_SYS_ADMIN), or null. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root (ip netns add, veth pairs, nft)';
  if (run('ip', ['-V']).status !== 0) return '`ip` (Debian package iproute2) is not installed';
  if (run('nft', ['--version']).status !== 0) return '`nft` (Debian package nftables) is not installed';
  const probe = `${NS_PREFIX}probe-${randomBytes(3).toString('hex')}`;
  const r = run('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  run('ip', ['netns', 'del', probe]);
  return null;
}

/** Namespace names, from `ip netns list`. */
export function listNamespaces(): string[] {
  const r = run('ip', ['netns', 'list']);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Pids of processes in namespace `ns`. */
function pidsIn(ns: string): number[] {
  const r = run('ip', ['netns', 'pids', ns]);
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 1);
}

/** SIGKILL what runs in each namespace, then delete it. Synchronous (usable in an exit handler). */
function destroyNamespaces(names: readonly string[]): void {
  for (const ns of names) {
    for (const pid of pidsIn(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of names) run('ip', ['netns', 'del', ns]);
}

function lockPath(tag: string): string {
  return join(LOCK_DIR, `${tag}.sock`);
}

/** True when the fabric `tag` has a live owner (its lock socket accepts a connection). */
function ownerAlive(tag: string): Promise<boolean> {
  const path = lockPath(tag);
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (alive: boolean): void => {
      s.destroy();
      resolve(alive);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(true)); // busy but there: leave it alone
  });
}

/**
 * Remove the namespaces (and what runs in them) of earlier runs that died without cleaning up: every
 * `nchost-<tag>-*` whose owner's lock socket no longer answers. Returns the names removed.
 */
export async function sweepStale(): Promise<string[]> {
  const byTag = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    const m = /^nchost-([0-9a-f]{8})-/.exec(ns);
    if (m) byTag.set(m[1]!, [...(byTag.get(m[1]!) ?? []), ns]);
    else if (/^nchost-probe-[0-9a-f]{6}$/.test(ns)) byTag.set(ns, [ns]);
  }
  const removed: string[] = [];
  for (const [tag, names] of byTag) {
    if (!tag.startsWith(NS_PREFIX) && (await ownerAlive(tag))) continue;
    destroyNamespaces(names);
    removed.push(...names);
  }
  // Lock sockets of dead owners (their namespaces may be gone already).
  if (existsSync(LOCK_DIR)) {
    for (const f of readdirSync(LOCK_DIR)) {
      const m = /^([0-9a-f]{8})\.sock$/.exec(f);
      if (m && !(await ownerAlive(m[1]!))) {
        try {
          unlinkSync(join(LOCK_DIR, f));
        } catch {
          /* raced with its owner */
        }
      }
    }
  }
  return removed;
}

/** What is left of fabric `tag` (or of any fabric): namespaces, and nft tables of ours in the root namespace. */
export function leftovers(tag?: string): { namespaces: string[]; rootNftTables: string[] } {
  const namespaces = listNamespaces().filter((n) => n.startsWith(tag === undefined ? NS_PREFIX : `${NS_PREFIX}${tag}-`));
  const r = run('nft', ['list', 'tables']);
  const rootNftTables = r.stdout.split('\n').filter((l) => /nchost/.test(l));
  return { namespaces, rootNftTables };
}

const OPEN = new Set<NetnsFabric>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const f of OPEN) f.destroySync();
  });
  // Default signal handling would end the process without 'exit': turn the signals into an exit.
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.once(sig, () => process.exit(code));
  }
}

/** A set of namespaced hosts on one bridge. */
export class NetnsFabric {
  readonly tag: string;
  readonly hosts: readonly FabricHost[];
  readonly prefixLen: number;
  private readonly created: string[] = [];
  private lock: Server | null = null;
  private closed = false;

  private constructor(tag: string, hosts: readonly FabricHost[], prefixLen: number) {
    this.tag = tag;
    this.hosts = hosts;
    this.prefixLen = prefixLen;
  }

  /** Build the bridge and one namespace per host. On any failure everything made so far is removed. */
  static async create(hosts: readonly FabricHost[], opts: { prefixLen?: number } = {}): Promise<NetnsFabric> {
    const why = netnsUnavailable();
    if (why !== null) throw new NetnsError(why);
    const names = new Set<string>();
    const addrs = new Set<string>();
    for (const h of hosts) {
      if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(h.name)) throw new NetnsError(`host name "${h.name}": 1–20 characters of [a-z0-9-]`);
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(h.address)) throw new NetnsError(`host ${h.name}: "${h.address}" is not an IPv4 address`);
      if (names.has(h.name) || addrs.has(h.address)) throw new NetnsError(`host ${h.name} (${h.address}): name or address given twice`);
      names.add(h.name);
      addrs.add(h.address);
    }
    installHooks();
    await sweepStale();
    mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
    let tag = '';
    do tag = randomBytes(4).toString('hex');
    while (existsSync(lockPath(tag)));
    const f = new NetnsFabric(tag, hosts, opts.prefixLen ?? 24);
    // The lock first: from here on a sweep by another run sees a live owner.
    f.lock = createServer((s) => s.end());
    await new Promise<void>((resolve, reject) => {
      f.lock!.once('error', reject);
      f.lock!.listen(lockPath(tag), resolve);
    });
    f.lock.unref();
    OPEN.add(f);
    try {
      f.build();
    } catch (e) {
      await f.close();
      throw e;
    }
    return f;
  }

  /** Namespace name of host `name`, or of the bridge ('br'). */
  ns(name: string): string {
    return `${NS_PREFIX}${this.tag}-${name}`;
  }

  private host(name: string): FabricHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new NetnsError(`no host "${name}" in this fabric`);
    return h;
  }

  private addNs(name: string): string {
    const ns = this.ns(name);
    must('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  private build(): void {
    const br = this.addNs('br');
    must('ip', ['-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
    must('ip', ['-n', br, 'link', 'set', 'br0', 'up']);
    this.hosts.forEach((h, k) => {
      const ns = this.addNs(h.name);
      // Both ends are created inside their namespaces: the pair never exists in the root namespace.
      must('ip', ['link', 'add', 'name', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${k}`, 'netns', br]);
      must('ip', ['-n', br, 'link', 'set', `p${k}`, 'master', 'br0']);
      must('ip', ['-n', br, 'link', 'set', `p${k}`, 'up']);
      must('ip', ['-n', ns, 'addr', 'add', `${h.address}/${this.prefixLen}`, 'dev', 'eth0']);
      must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    });
  }

  /** argv prefix that runs a command inside host `name`'s namespace. */
  execPrefix(name: string): string[] {
    this.host(name);
    return ['ip', 'netns', 'exec', this.ns(name)];
  }

  /** Run a command in host `name` to completion. */
  exec(name: string, argv: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; output: string }> {
    const [cmd, ...args] = [...this.execPrefix(name), ...argv];
    return new Promise((resolve) => {
      const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve({ code: null, output: output + e.message });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  /** Take host `name`'s interface down (its address stays; nothing goes in or out) or up again. */
  setLink(name: string, up: boolean): void {
    must('ip', ['-n', this.ns(this.host(name).name), 'link', 'set', 'eth0', up ? 'up' : 'down']);
  }

  /** Load an nft ruleset (nft -f syntax) into host `name`'s namespace. */
  nft(name: string, ruleset: string): void {
    must('ip', ['netns', 'exec', this.ns(this.host(name).name), 'nft', '-f', '-'], ruleset);
  }

  /** Delete an nft table in host `name`'s namespace; false when it was not there. */
  nftDeleteTable(name: string, family: string, table: string): boolean {
    return run('ip', ['netns', 'exec', this.ns(this.host(name).name), 'nft', 'delete', 'table', family, table]).status === 0;
  }

  /** The tables of host `name`'s nft ruleset. */
  nftTables(name: string): string[] {
    return must('ip', ['netns', 'exec', this.ns(this.host(name).name), 'nft', 'list', 'tables'])
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  /**
   * Drop every IPv4 packet between host `name` and `peers` (addresses), both ways, with an nft table
   * in that host's namespace. Replaces an earlier block of the same host.
   */
  block(name: string, peers: readonly string[]): void {
    this.unblock(name);
    if (peers.length === 0) return;
    const set = `{ ${peers.join(', ')} }`;
    this.nft(
      name,
      `table inet ${NFT_PARTITION_TABLE} {\n` +
        `  chain input { type filter hook input priority 0; policy accept; ip saddr ${set} drop; }\n` +
        `  chain output { type filter hook output priority 0; policy accept; ip daddr ${set} drop; }\n` +
        `}\n`,
    );
  }

  unblock(name: string): void {
    this.nftDeleteTable(name, 'inet', NFT_PARTITION_TABLE);
  }

  /** Kill everything running in the namespaces, delete them, release the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.destroySync();
    await new Promise<void>((r) => (this.lock ? this.lock.close(() => r()) : r()));
  }

  /** close() without waiting: for exit handlers. */
  destroySync(): void {
    if (this.closed) return;
    this.closed = true;
    OPEN.delete(this);
    // Hosts first, the bridge last: deleting a host namespace deletes its veth pair.
    destroyNamespaces([...this.created].reverse());
    try {
      unlinkSync(lockPath(this.tag));
    } catch {
      /* never made, or gone */
    }
  }
}
