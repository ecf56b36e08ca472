// compose.yaml and the Dockerfile read as the topology of a namespaced testnet: every service becomes
// a host with the service's address on the compose network, its command (the image's ENTRYPOINT +
// the service's command), its environment, and its volumes as paths on this machine. The image's
// /app is this checkout (the Dockerfile copies the package there), or NUMCHAIN_APP_DIR when set (e.g.
// a tree staged by the Dockerfile's steps, which runs dist/), and `node` is this Node.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import { parseHostPort } from '../../src/node/addresses.ts';
import type { ValidatorHost } from '../../src/cli/hosts/hostnet.ts';

export const COMPOSE_FILE = join(PROJECT_ROOT, 'compose.yaml');
export const DOCKERFILE = join(PROJECT_ROOT, 'Dockerfile');

export interface ComposeService {
  readonly name: string;
  readonly address: string;
  /** ENTRYPOINT + command, as the container runs it */
  readonly argv: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly volumes: readonly { readonly source: string; readonly target: string }[];
  readonly ports: readonly string[];
  /** the health check command (CMD form), or null */
  readonly healthcheck: readonly string[] | null;
}

export interface ComposeTopology {
  readonly network: string;
  readonly subnet: string;
  readonly prefixLen: number;
  readonly services: readonly ComposeService[];
}

class ComposeError extends Error {
  constructor(file: string, where: string, msg: string) {
    super(`${file}: ${where}: ${msg}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The exec form of a Dockerfile instruction (`ENTRYPOINT ["node", "x.js"]`), or null. */
export function dockerfileExec(text: string, instruction: 'ENTRYPOINT' | 'CMD'): string[] | null {
  let found: string[] | null = null;
  // The last occurrence in the last stage wins, as in Docker.
  for (const line of text.split('\n')) {
    if (/^FROM\s/i.test(line)) found = null;
    const m = new RegExp(`^${instruction}\\s+(\\[.*\\])\\s*$`, 'i').exec(line.trim());
    if (m) found = JSON.parse(m[1]!) as string[];
  }
  return found;
}

function argvOf(v: unknown, file: string, where: string): string[] {
  if (typeof v === 'string') return v.trim().split(/\s+/);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new ComposeError(file, where, 'want a list of strings or a string');
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function inSubnet(address: string, subnet: string): boolean {
  const [net, len] = subnet.split('/');
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipv4ToInt(address) & mask) >>> 0) === ((ipv4ToInt(net!) & mask) >>> 0);
}

export function readCompose(file = COMPOSE_FILE, dockerfile = DOCKERFILE): ComposeTopology {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as unknown;
  if (!isObj(doc) || !isObj(doc.services) || !isObj(doc.networks)) throw new ComposeError(file, '/', 'want services and networks');
  const nets = Object.entries(doc.networks);
  if (nets.length !== 1) throw new ComposeError(file, 'networks', 'want exactly one network');
  const [network, netDef] = nets[0]!;
  const subnet = isObj(netDef) && isObj(netDef.ipam) && Array.isArray(netDef.ipam.config) && isObj(netDef.ipam.config[0]) ? netDef.ipam.config[0].subnet : undefined;
  if (typeof subnet !== 'string' || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(subnet)) throw new ComposeError(file, `networks.${network}.ipam.config[0].subnet`, 'want an IPv4 subnet');
  const image = readFileSync(dockerfile, 'utf8');
  const services = Object.entries(doc.services).map(([name, s]): ComposeService => {
    const at = (k: string) => `services.${name}.${k}`;
    if (!isObj(s)) throw new ComposeError(file, `services.${name}`, 'want a mapping');
    const entrypoint = s.entrypoint !== undefined ? argvOf(s.entrypoint, file, at('entrypoint')) : dockerfileExec(image, 'ENTRYPOINT');
    const command = s.command !== undefined ? argvOf(s.command, file, at('command')) : (dockerfileExec(image, 'CMD') ?? []);
    if (!entrypoint) throw new ComposeError(file, at('entrypoint'), `none here and no ENTRYPOINT [...] in ${dockerfile}`);
    const nw = isObj(s.networks) ? s.networks[network] : undefined;
    const address = isObj(nw) ? nw.ipv4_address : undefined;
    if (typeof address !== 'string' || !inSubnet(address, subnet)) throw new ComposeError(file, at(`networks.${network}.ipv4_address`), `want an address in ${subnet}`);
    const env: Record<string, string> = {};
    if (Array.isArray(s.environment)) {
      for (const e of s.environment) {
        const [k, ...v] = String(e).split('=');
        env[k!] = v.join('=');
      }
    } else if (isObj(s.environment)) for (const [k, v] of Object.entries(s.environment)) env[k] = String(v);
    const volumes = (Array.isArray(s.volumes) ? s.volumes : []).map((v, k) => {
      const parts = typeof v === 'string' ? v.split(':') : [];
      if (parts.length < 2 || parts[0] === '') throw new ComposeError(file, at(`volumes[${k}]`), 'want SOURCE:TARGET');
      return { source: parts[0]!, target: parts[1]! };
    });
    const hc = isObj(s.healthcheck) ? s.healthcheck.test : undefined;
    let healthcheck: string[] | null = null;
    if (Array.isArray(hc) && hc[0] === 'CMD') healthcheck = argvOf(hc.slice(1), file, at('healthcheck.test'));
    else if (Array.isArray(hc) && hc[0] === 'CMD-SHELL') healthcheck = ['sh', '-c', String(hc[1])];
    else if (typeof hc === 'string') healthcheck = ['sh', '-c', hc];
    const ports = (Array.isArray(s.ports) ? s.ports : []).map(String);
    return { name, address, argv: [...entrypoint, ...command], environment: env, volumes, ports, healthcheck };
  });
  return { network, subnet, prefixLen: Number(subnet.split('/')[1]), services };
}

/**
 * A service's argv and paths on this machine: volume targets become their sources (relative ones
 * against `projectDir`, where `docker compose` would run), /app becomes this checkout, and `node`
 * this Node.
 */
export function localArgv(argv: readonly string[], s: ComposeService, projectDir: string): string[] {
  const app = process.env.NUMCHAIN_APP_DIR ? resolve(process.env.NUMCHAIN_APP_DIR) : PROJECT_ROOT;
  const mounts = [...s.volumes.map((v) => ({ target: v.target, source: resolve(projectDir, v.source) })), { target: '/app', source: app }];
  return argv.map((a, k) => {
    if (k === 0 && a === 'node') return process.execPath;
    for (const m of mounts) if (a === m.target || a.startsWith(m.target + '/')) return m.source + a.slice(m.target.length);
    return a;
  });
}

/**
 * The validators of compose.yaml as namespaced hosts. Each service's home (its `--home`) must hold
 * validator.json from `numchain testnet`, whose gossip host must be the service's address.
 */
export function hostsFromCompose(topo: ComposeTopology, projectDir: string): ValidatorHost[] {
  return topo.services.map((s) => {
    const argv = localArgv(s.argv, s, projectDir);
    const h = argv.indexOf('--home');
    if (h < 0 || argv[h + 1] === undefined) throw new Error(`service ${s.name}: its command has no --home`);
    const home = argv[h + 1]!;
    const record = JSON.parse(readFileSync(join(home, 'validator.json'), 'utf8')) as { gossip: string; rpc: string };
    const gossip = parseHostPort(record.gossip, `${home}/validator.json gossip`);
    const rpc = parseHostPort(record.rpc, `${home}/validator.json rpc`);
    if (gossip.host !== s.address) throw new Error(`service ${s.name} has address ${s.address}, but its home ${home} advertises gossip at ${record.gossip}`);
    return { name: s.name, address: s.address, command: argv, env: s.environment, cwd: dirname(home), gossip, rpc };
  });
}

/** An address of the subnet that no service uses, counting down from the top (for client and relay hosts). */
export function freeAddresses(topo: ComposeTopology, n: number): string[] {
  const [net, len] = topo.subnet.split('/');
  const base = ipv4ToInt(net!);
  const size = 2 ** (32 - Number(len));
  const used = new Set(topo.services.map((s) => s.address));
  const out: string[] = [];
  for (let k = size - 2; k > 1 && out.length < n; k--) {
    const a = base + k;
    const s = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
    if (!used.has(s)) out.push(s);
  }
  return out;
}
