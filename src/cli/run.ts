// `numchain run`: one validator process. Logs to stderr; exits non-zero with the reason when it
// cannot start (engine or key not matching genesis, locked data dir, replay mismatch, ...).
import { engineSha256Hex } from '../engine/node-loader.ts';
import { createLogger, type LogLevel } from '../node/logger.ts';
import { createNodeApi } from '../node/node-api.ts';
import { NumchainNode } from '../node/node.ts';
import { startRpcServer } from '../rpc/server.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

const FLAGS = {
  genesis: { type: 'string', help: 'genesis document', default: 'genesis/localnet-4/genesis.json' },
  'node-index': { type: 'number', help: 'this validator’s index in genesis' },
  key: { type: 'string', help: 'key file (default: key-<index>.json beside genesis)' },
  'data-dir': { type: 'string', help: 'data directory (default: data/node-<index>)' },
  rpc: { type: 'string', help: 'HTTP API listen address host:port (default: the genesis address of this validator)' },
  gossip: { type: 'string', help: 'gossip listen address host:port (default: from genesis)' },
  peers: { type: 'string', help: 'override peer gossip addresses: i=host:port,j=host:port' },
  'snapshot-every': { type: 'number', help: 'write a snapshot every N blocks (0 = never)', default: 200 },
  'verify-workers': { type: 'number', help: 'worker threads verifying transaction signatures (0 = on the main thread)', default: 2 },
  'verify-nice': { type: 'number', help: 'nice value of those threads (0-19; higher yields the cores to consensus first)', default: 10 },
  'log-level': { type: 'string', help: 'debug, info, warn or error', default: 'info' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${what} must be host:port, got "${s}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export const command: Command = {
  summary: 'run one validator',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, 'numchain run --genesis FILE --node-index I [--data-dir DIR] [--rpc host:port] [--gossip host:port] [--peers ...]', 'Start one validator: recover from the data directory (snapshot + log replay), join the other validators over\nTCP gossip, serve the HTTP API. Stop with Ctrl-C (SIGINT) or SIGTERM.');
    if (f === null) return 0;
    const index = f['node-index'];
    if (index === undefined || !Number.isInteger(index) || index < 0) throw new UsageError('--node-index is required (a validator index from genesis)');
    const level = f['log-level'] as LogLevel;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be debug, info, warn or error');
    const peers = new Map<number, string>();
    if (f.peers) {
      for (const part of f.peers.split(',')) {
        const m = /^(\d+)=(.+)$/.exec(part.trim());
        if (!m) throw new UsageError(`--peers entries must be i=host:port, got "${part}"`);
        hostPort(m[2], `--peers ${m[1]}`);
        peers.set(Number(m[1]), m[2]);
      }
    }
    const logger = createLogger({ name: `node ${index}`, level });
    const node = await NumchainNode.open({
      genesisPath: f.genesis,
      index,
      dataDir: f['data-dir'] ?? `data/node-${index}`,
      keyPath: f.key,
      gossip: f.gossip,
      peers,
      logger,
      snapshotEvery: f['snapshot-every'],
      verifyWorkers: f['verify-workers'],
      verifyNice: f['verify-nice'],
    });
    const rpcAddr = hostPort(f.rpc ?? node.genesis.validators[index].rpc, '--rpc');
    const rpc = await startRpcServer(createNodeApi(node, engineSha256Hex()), { host: rpcAddr.host, port: rpcAddr.port, metrics: node.metrics });
    logger.info('rpc listening', { url: rpc.url });
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
