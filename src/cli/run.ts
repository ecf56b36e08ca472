// `numchain run`: one validator process. Logs to stderr; exits non-zero with the reason when it
// cannot start (engine or key not matching genesis, locked data dir, replay mismatch, ...).
//
// Where its settings come from, later winning: the defaults below, the config file (`--home DIR`
// reads DIR/config.toml, written by `numchain init`), the command line. With --home or --key and no
// --node-index, the validator finds its index by its key's public key in genesis.
import { dataDirProblem, EXIT_DATA_DIR_UNUSABLE } from '../node/data-dir-check.ts';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { engineSha256Hex, engineWasmBytes, PROJECT_ROOT } from '../host/node-loader.ts';
import { AddressError, barePort, formatHostPort, listenAddress, parseHostPort } from '../node/addresses.ts';
import { readGenesis, validatorIndexOfKey, type Genesis } from '../node/genesis.ts';
import { createLogger, type LogLevel } from '../node/logger.ts';
import { createNodeApi } from '../node/node-api.ts';
import { NumchainNode } from '../node/node.ts';
import { startRpcServer } from '../rpc/server.ts';
import { loadUiAssets } from '../rpc/ui-assets.ts';
import { formatHelp, parseGivenFlags, UsageError, withDefaults } from './args.ts';
import { readConfig, type ConfigShape } from './config.ts';
import type { Command } from './main.ts';

export const RUN_FLAGS = {
  home: { type: 'string', help: 'node home from `numchain init`/`numchain testnet`: reads HOME/config.toml; genesis, key and data dir default to HOME/genesis.json, HOME/key.json, HOME/data' },
  config: { type: 'string', help: 'config file (default HOME/config.toml; TOML, or JSON when it ends in .json): keys are these flags, flags override it' },
  genesis: { type: 'string', help: 'genesis document (default HOME/genesis.json with --home, else genesis/localnet-4/genesis.json)' },
  'node-index': { type: 'number', help: 'this validator’s index in genesis (default with --home or --key: the validator whose public key is the key’s)' },
  key: { type: 'string', help: 'key file (default HOME/key.json with --home, else key-<index>.json beside genesis)' },
  'data-dir': { type: 'string', help: 'data directory (default HOME/data with --home, else data/node-<index>)' },
  rpc: { type: 'string', help: 'HTTP API listen address host:port, or a bare port on 127.0.0.1 (default: this validator’s rpc address in genesis)' },
  gossip: { type: 'string', help: 'gossip listen address host:port, or a bare port on every interface, 0.0.0.0 (default: this validator’s gossip address in genesis); peers dial the address in genesis' },
  peers: { type: 'string', help: 'comma list: i=host:port dials validator i there instead of its genesis address; a plain host:port must be a gossip address in genesis (it names that validator)' },
  'peer-tls': { type: 'string', help: 'on: TLS 1.3 on every peer link, certificates derived from the genesis keys (nothing to distribute); off: plaintext, for a loopback localnet only', default: 'on' },
  'snapshot-every': { type: 'number', help: 'write a snapshot every N blocks (0 = never)', default: 200 },
  'verify-workers': { type: 'number', help: 'worker threads verifying transaction signatures (0 = on the main thread)', default: 2 },
  'verify-nice': { type: 'number', help: 'nice value of those threads (0-19; higher yields the cores to consensus first)', default: 10 },
  'poc-dir': { type: 'string', help: 'with proof of capacity in genesis: where the replica lives (default DATA_DIR/poc; build one with numchain poc init)' },
  'poc-chunks': { type: 'number', help: 'with proof of capacity: chunks of the replica built at first start if there is none (default genesis poc.targetChunks; 0: build none)' },
  'no-ui': { type: 'boolean', help: 'do not serve the dashboard (GET / on the HTTP API address)' },
  cors: { type: 'string', help: 'let pages on this origin (e.g. http://localhost:8080, or *) use the HTTP API from a browser' },
  'log-level': { type: 'string', help: 'debug, info, warn or error', default: 'info' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

/** Where `npm run build:ui` puts the dashboard (shipped in the package). */
export const UI_DIR = join(PROJECT_ROOT, 'build', 'ui');

export const RUN_CONFIG_SHAPE: ConfigShape = {
  flagOnly: ['home', 'config', 'help'],
  paths: ['genesis', 'key', 'data-dir'],
  ports: ['rpc', 'gossip'],
  lists: ['peers'],
};

const USAGE = 'numchain run --home DIR [flags]   or   numchain run --genesis FILE --node-index I [--rpc PORT|host:port] [--gossip PORT|host:port] [--peers ...]';
const SUMMARY = `Start one validator: recover from the data directory (snapshot + log replay), join the other validators over
TCP gossip, serve the HTTP API. Stop with Ctrl-C (SIGINT) or SIGTERM.

Settings come from the defaults, then the config file, then the command line (each overriding the one before).
A bare port listens on 127.0.0.1 for --rpc (the API stays on this machine unless you say otherwise) and on
0.0.0.0 for --gossip (other machines must reach it; peers are authenticated by their genesis keys).`;

/** Everything `numchain run` needs, resolved from defaults, the config file and the flags. */
export interface RunSettings {
  readonly configPath: string | null;
  readonly genesisPath: string;
  readonly genesis: Genesis;
  readonly index: number;
  readonly keyPath: string | undefined;
  readonly dataDir: string;
  /** HTTP API listen address host:port */
  readonly rpc: string;
  /** gossip listen address host:port (undefined: this validator's genesis address) */
  readonly gossip: string | undefined;
  readonly peers: ReadonlyMap<number, string>;
  /** TLS 1.3 on peer links (--peer-tls on|off) */
  readonly peerTls: boolean;
  readonly snapshotEvery: number;
  readonly verifyWorkers: number;
  readonly verifyNice: number;
  readonly pocDir: string | undefined;
  readonly pocChunks: number | undefined;
  readonly logLevel: LogLevel;
  /** serve the dashboard at GET / */
  readonly ui: boolean;
  /** origin allowed to use the API from a browser page elsewhere, or null */
  readonly cors: string | null;
}

/** Resolve `numchain run` arguments (null: --help was printed). Reads the config, genesis and key. */
export function resolveRunSettings(argv: readonly string[]): RunSettings | null {
  const given = parseGivenFlags(argv, RUN_FLAGS);
  if (given.help) {
    console.log(formatHelp(USAGE, SUMMARY, RUN_FLAGS));
    return null;
  }
  if (given._.length) throw new UsageError(`unexpected argument "${given._[0]}"`);
  const home = given.home === undefined ? undefined : resolve(given.home);
  const configPath = given.config !== undefined ? resolve(given.config) : home !== undefined ? join(home, 'config.toml') : null;
  if (home !== undefined && given.config === undefined && !existsSync(configPath!)) {
    throw new Error(`${configPath} does not exist: make the node home with \`numchain init --home ${given.home}\` (or pass --config FILE)`);
  }
  const fromFile = configPath === null ? {} : readConfig(configPath, RUN_FLAGS, RUN_CONFIG_SHAPE, home ?? resolve(configPath, '..'));
  const f = withDefaults({ ...fromFile, ...given } as typeof given, RUN_FLAGS);

  const level = f['log-level'] as LogLevel;
  if (f['peer-tls'] !== 'on' && f['peer-tls'] !== 'off') throw new UsageError(`--peer-tls must be on or off, got "${f['peer-tls']}"`);
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be debug, info, warn or error');
  const genesisPath = f.genesis ?? (home !== undefined ? join(home, 'genesis.json') : 'genesis/localnet-4/genesis.json');
  if (home !== undefined && !existsSync(genesisPath)) {
    throw new Error(`no genesis at ${genesisPath}: copy there the genesis.json assembled by \`numchain genesis --validators ...\` (every validator needs the same file)`);
  }
  const genesis = readGenesis(genesisPath);
  const keyPath = f.key ?? (home !== undefined ? join(home, 'key.json') : undefined);
  let index = f['node-index'];
  if (index === undefined) {
    if (keyPath === undefined) throw new UsageError('--node-index is required (or --home / --key: the index is then found by the key)');
    index = validatorIndexOfKey(keyPath, genesis, genesisPath);
  } else if (!Number.isInteger(index) || index < 0 || index >= genesis.validators.length) {
    throw new UsageError(`--node-index ${index} is not a validator index in genesis (0..${genesis.validators.length - 1})`);
  }
  const me = genesis.validators[index]!;
  return {
    configPath,
    genesisPath,
    genesis,
    index,
    keyPath,
    dataDir: f['data-dir'] ?? (home !== undefined ? join(home, 'data') : `data/node-${index}`),
    rpc: address(f.rpc ?? me.rpc, '127.0.0.1', '--rpc'),
    gossip: f.gossip === undefined ? undefined : address(f.gossip, '0.0.0.0', '--gossip'),
    peers: f.peers === undefined ? new Map() : parsePeers(f.peers, genesis),
    peerTls: f['peer-tls'] === 'on',
    snapshotEvery: f['snapshot-every'],
    verifyWorkers: f['verify-workers'],
    verifyNice: f['verify-nice'],
    pocDir: f['poc-dir'],
    pocChunks: f['poc-chunks'],
    logLevel: level,
    ui: f['no-ui'] !== true,
    cors: corsOrigin(f.cors),
  };
}

function corsOrigin(v: string | undefined): string | null {
  if (v === undefined) return null;
  if (v === '*') return v;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--cors must be an origin such as http://localhost:8080 (or *), got "${v}"`);
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.origin !== v.replace(/\/+$/, '')) throw new UsageError(`--cors must be an origin (scheme://host[:port], no path), got "${v}"`);
  return u.origin;
}

function address(s: string, bareHost: string, what: string): string {
  try {
    return listenAddress(s, bareHost, what);
  } catch (e) {
    throw e instanceof AddressError ? new UsageError(e.message) : e;
  }
}

/**
 * --peers: "i=host:port" dials validator i at that address instead of its genesis one; a plain
 * "host:port" must be some validator's gossip address in genesis and names that validator (the
 * seed's form). Validators not listed are dialed at their genesis addresses either way.
 */
export function parsePeers(spec: string, genesis: Genesis): Map<number, string> {
  const peers = new Map<number, string>();
  const n = genesis.validators.length;
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^(\d+)=(.+)$/.exec(part);
    const addr = m ? m[2]! : part;
    if (barePort(addr) !== null) throw new UsageError(`--peers: "${part}" needs a host (host:port): a peer is on another machine`);
    let hp;
    try {
      hp = formatHostPort(parseHostPort(addr, `--peers entry "${part}"`));
    } catch (e) {
      throw e instanceof AddressError ? new UsageError(`${e.message} (entries are i=host:port or a genesis gossip address)`) : e;
    }
    if (m) {
      const i = Number(m[1]);
      if (i >= n) throw new UsageError(`--peers: ${i} is not a validator index (genesis has 0..${n - 1})`);
      peers.set(i, hp);
      continue;
    }
    const v = genesis.validators.find((x) => x.gossip === hp);
    if (!v) {
      const known = genesis.validators.map((x) => `${x.index}=${x.gossip}`).join(', ');
      throw new UsageError(`--peers: ${hp} is not the gossip address of any validator in genesis (${known}); write i=${hp} to dial validator i there`);
    }
    peers.set(v.index, hp);
  }
  return peers;
}

export const command: Command = {
  summary: 'run one validator',
  async run(argv) {
    const s = resolveRunSettings(argv);
    if (s === null) return 0;
    const index = s.index;
    const logger = createLogger({ name: `node ${index}`, level: s.logLevel });
    const dirProblem = dataDirProblem(s.dataDir);
    if (dirProblem !== null) {
      logger.error('data directory unusable; not starting', { dataDir: s.dataDir, reason: dirProblem, exitCode: EXIT_DATA_DIR_UNUSABLE });
      console.error(`numchain run: data directory ${s.dataDir} is unusable: ${dirProblem}`);
      return EXIT_DATA_DIR_UNUSABLE;
    }
    logger.info('starting', { validator: s.genesis.validators[index]!.name, index, genesis: s.genesisPath, config: s.configPath ?? '-' });
    const node = await NumchainNode.open({
      genesisPath: s.genesisPath,
      index,
      dataDir: s.dataDir,
      keyPath: s.keyPath,
      gossip: s.gossip,
      peers: s.peers,
      peerTls: s.peerTls,
      logger,
      snapshotEvery: s.snapshotEvery,
      verifyWorkers: s.verifyWorkers,
      verifyNice: s.verifyNice,
      ...(s.pocDir !== undefined ? { pocDir: s.pocDir } : {}),
      ...(s.pocChunks !== undefined ? { pocChunks: s.pocChunks } : {}),
    });
    const rpcAddr = parseHostPort(s.rpc, '--rpc');
    const ui = s.ui ? loadUiAssets(UI_DIR, engineWasmBytes()) : null;
    if (ui?.missing) logger.warn(ui.missing);
    const rpc = await startRpcServer(createNodeApi(node, engineSha256Hex()), { host: rpcAddr.host, port: rpcAddr.port, metrics: node.metrics, ui, cors: s.cors ?? undefined });
    logger.info('rpc listening', { url: rpc.url, ...(ui ? { dashboard: `${rpc.url}/` } : {}) });
    await node.start();
    logger.info('validator started', { chain: node.chainId, height: node.height, validators: node.genesis.validators.length });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = (sig: string) => {
        if (stopping) return;
        stopping = true;
        logger.info('stopping', { signal: sig });
        void Promise.allSettled([rpc.close(), node.stop()]).then(() => resolve(0));
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
  },
};
