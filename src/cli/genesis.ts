// `numchain genesis`: write a genesis document and one key file per validator beside it.
import { engineSha256Hex } from '../engine/node-loader.ts';
import { DEFAULT_MA_PARAMS } from '../engine/types.ts';
import { generateGenesis, writeGenesisFiles } from '../node/genesis.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

const FLAGS = {
  out: { type: 'string', help: 'where to write genesis.json (key-<i>.json files go beside it)', default: 'genesis.json' },
  nodes: { type: 'number', help: 'number of validators (1–10 is the supported range)', default: 4 },
  'chain-id': { type: 'string', help: 'chain id', default: 'numchain-localnet' },
  host: { type: 'string', help: 'host for gossip and RPC addresses', default: '127.0.0.1' },
  'gossip-port': { type: 'number', help: 'gossip port of validator 0 (validator i uses +i)', default: 26650 },
  'rpc-port': { type: 'number', help: 'RPC port of validator 0 (validator i uses +i)', default: 26660 },
  'key-seed': { type: 'number', help: 'derive keys from this seed (reproducible test localnets; never for real keys)' },
  'genesis-time': { type: 'number', help: 'genesis time, ms since the epoch (default: now)' },
  shards: { type: 'number', help: 'MA shards', default: DEFAULT_MA_PARAMS.shards },
  layers: { type: 'number', help: 'MA layers', default: DEFAULT_MA_PARAMS.layers },
  slots: { type: 'number', help: 'MA slots', default: DEFAULT_MA_PARAMS.slots },
  dim: { type: 'number', help: 'MA dim', default: DEFAULT_MA_PARAMS.dim },
  q: { type: 'number', help: 'MA fixed-point quantum', default: DEFAULT_MA_PARAMS.q },
  decay: { type: 'number', help: 'MA genesis decay', default: DEFAULT_MA_PARAMS.decay },
  clip: { type: 'number', help: 'MA clip', default: DEFAULT_MA_PARAMS.clip },
  'block-interval': { type: 'number', help: 'ms a leader waits before proposing', default: 50 },
  'timeout-base': { type: 'number', help: 'base round timeout, ms', default: 1000 },
  'max-txs': { type: 'number', help: 'maximum transactions per block', default: 2000 },
  help: { type: 'boolean', help: 'show this help' },
} as const;

export const command: Command = {
  summary: 'write a genesis document and validator key files',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, 'numchain genesis [--out genesis.json] [--nodes 4] [options]', 'Writes genesis.json (chain id, MA parameters, the engine SHA-256, validators with bond, gossip and RPC\naddresses, consensus parameters) and key-<i>.json per validator beside it (mode 0600).');
    if (f === null) return 0;
    if (!Number.isInteger(f.nodes) || f.nodes < 1 || f.nodes > 100) throw new UsageError('--nodes must be an integer in [1, 100]');
    const { genesis, keys } = generateGenesis({
      nodes: f.nodes,
      chainId: f['chain-id'],
      host: f.host,
      gossipBasePort: f['gossip-port'],
      rpcBasePort: f['rpc-port'],
      engineSha256: engineSha256Hex(),
      genesisTime: f['genesis-time'] ?? Date.now(),
      keySeed: f['key-seed'],
      ma: { shards: f.shards, layers: f.layers, slots: f.slots, dim: f.dim, q: f.q, decay: f.decay, clip: f.clip },
      chain: { maxTxsPerBlock: f['max-txs'] },
      consensus: { blockIntervalMs: f['block-interval'], timeoutBaseMs: f['timeout-base'] },
    });
    const paths = writeGenesisFiles(f.out, genesis, keys);
    console.log(`wrote ${paths.genesis} (${genesis.validators.length} validators, chain ${genesis.chainId}, engine ${genesis.engine.sha256.slice(0, 12)}…)`);
    for (const p of paths.keys) console.log(`wrote ${p} (mode 0600)`);
    return 0;
  },
};
