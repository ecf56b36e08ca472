// `numchain genesis`: a genesis document, either
//   - from signed validator records (`--validators a.json,b.json,...`, each made by `numchain init` on
//     its validator's machine): every signature is checked, and duplicates, conflicting keys, bad
//     addresses and a wrong chain id are refused naming the record and field; or
//   - for a one-machine localnet (`--nodes N`): genesis plus key-<i>.json for every validator beside it.
// Neither replaces an existing genesis or key file without --force.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { engineSha256Hex } from '../host/node-loader.ts';
import { DEFAULT_MA_PARAMS } from '../engine/types.ts';
import { buildGenesis, generateGenesis, writeGenesis, writeGenesisFiles, type Genesis, type GenesisParams } from '../node/genesis.ts';
import { readRecordFile, validatorsFromRecords, type ValidatorRecord } from '../node/validator-record.ts';
import { parseGivenFlags, formatHelp, UsageError, withDefaults, type FlagSpecs, type Flags } from './args.ts';
import type { Command } from './main.ts';

/** The parameters of a chain: flags shared by `genesis` and `testnet`. */
export const CHAIN_PARAM_FLAGS = {
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
} as const satisfies FlagSpecs;

export function chainParams(f: Flags<typeof CHAIN_PARAM_FLAGS>, chainId: string): GenesisParams {
  return {
    chainId,
    engineSha256: engineSha256Hex(),
    genesisTime: f['genesis-time'] ?? Date.now(),
    ma: { shards: f.shards, layers: f.layers, slots: f.slots, dim: f.dim, q: f.q, decay: f.decay, clip: f.clip },
    chain: { maxTxsPerBlock: f['max-txs'] },
    consensus: { blockIntervalMs: f['block-interval'], timeoutBaseMs: f['timeout-base'] },
  };
}

/** Genesis from checked records (file order = validator index). The chain id defaults to the records'. */
export function genesisFromRecords(records: readonly { file: string; record: ValidatorRecord }[], params: Omit<GenesisParams, 'chainId'> & { chainId?: string }): Genesis {
  const chainId = params.chainId ?? records[0]?.record.chainId ?? 'numchain-localnet';
  return buildGenesis({ ...params, chainId }, validatorsFromRecords(records, chainId));
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const LOCALNET_FLAGS = ['nodes', 'host', 'gossip-port', 'rpc-port', 'key-seed'] as const;

const FLAGS = {
  out: { type: 'string', help: 'where to write genesis.json (with --nodes, key-<i>.json files go beside it)', default: 'genesis.json' },
  validators: { type: 'string', help: 'comma list of validator.json records (from `numchain init`); validator i is the i-th file' },
  'chain-id': { type: 'string', help: 'chain id (default: the records’ chain id with --validators, else numchain-localnet)' },
  nodes: { type: 'number', help: 'one-machine localnet: number of validators, keys generated here', default: 4 },
  host: { type: 'string', help: 'localnet: host for gossip and RPC addresses', default: '127.0.0.1' },
  'gossip-port': { type: 'number', help: 'localnet: gossip port of validator 0 (validator i uses +i)', default: 26650 },
  'rpc-port': { type: 'number', help: 'localnet: RPC port of validator 0 (validator i uses +i)', default: 26660 },
  'key-seed': { type: 'number', help: 'localnet: derive keys from this seed (reproducible test localnets; never for real keys)' },
  ...CHAIN_PARAM_FLAGS,
  force: { type: 'boolean', help: 'replace an existing genesis (and key files)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain genesis --validators a.json,b.json,... [--out genesis.json]   or   numchain genesis --nodes 4 [--out genesis.json]';
const SUMMARY = `Writes genesis.json: chain id, MA parameters, the engine SHA-256, the validators (name, public key, bond, gossip
and RPC addresses) and consensus parameters.

With --validators, the validators come from the records their operators made with \`numchain init\`: each
signature is checked, and a record that was altered, a key or moniker or gossip address used twice, an
address peers cannot dial or a record for another chain is refused with the file and field named. Hand the
same genesis.json to every operator (compare the printed SHA-256).

Without it, a one-machine localnet: --nodes validators with keys generated here, key-<i>.json (mode 0600)
beside genesis. Existing files are never replaced without --force.`;

export const command: Command = {
  summary: 'assemble genesis from signed validator records, or make a one-machine localnet genesis with keys',
  async run(argv) {
    const given = parseGivenFlags(argv, FLAGS);
    if (given.help) {
      console.log(formatHelp(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    if (given._.length) throw new UsageError(`unexpected argument "${given._[0]}"`);
    const f = withDefaults(given, FLAGS);
    if (f.validators !== undefined) {
      const clash = LOCALNET_FLAGS.find((k) => given[k] !== undefined);
      if (clash) throw new UsageError(`--${clash} is for a one-machine localnet; with --validators the records give keys and addresses`);
      const files = f.validators.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (files.length === 0) throw new UsageError('--validators needs at least one record file');
      const records = files.map((file) => ({ file, record: readRecordFile(file) }));
      const genesis = genesisFromRecords(records, { ...chainParams(f, ''), chainId: f['chain-id'] });
      const path = writeGenesis(f.out, genesis, { force: f.force });
      console.log(`wrote ${path} (${genesis.validators.length} validators, chain ${genesis.chainId}, engine ${genesis.engine.sha256.slice(0, 12)}…)`);
      for (const v of genesis.validators) console.log(`  ${v.index}  ${v.name.padEnd(16)} bond ${String(v.bond).padEnd(6)} gossip ${v.gossip.padEnd(22)} key ${v.publicKey.slice(0, 16)}…`);
      console.log(`sha256 ${sha256File(path)}  (every operator should see the same: sha256sum genesis.json)`);
      return 0;
    }
    if (!Number.isInteger(f.nodes) || f.nodes < 1 || f.nodes > 100) throw new UsageError('--nodes must be an integer in [1, 100]');
    const { genesis, keys } = generateGenesis({
      nodes: f.nodes,
      host: f.host,
      gossipBasePort: f['gossip-port'],
      rpcBasePort: f['rpc-port'],
      keySeed: f['key-seed'],
      ...chainParams(f, f['chain-id'] ?? 'numchain-localnet'),
    });
    const paths = writeGenesisFiles(f.out, genesis, keys, { force: f.force });
    console.log(`wrote ${paths.genesis} (${genesis.validators.length} validators, chain ${genesis.chainId}, engine ${genesis.engine.sha256.slice(0, 12)}…)`);
    for (const p of paths.keys) console.log(`wrote ${p} (mode 0600)`);
    return 0;
  },
};
