// `numchain testnet --hosts h0,h1,... --out DIR`: one ready node home per host (cometbft testnet):
// DIR/node-<i>/ with key.json, validator.json, config.toml and the same genesis.json. The same code
// as `numchain init` on every host and `numchain genesis --validators` on their records, run on one
// machine: convenient for test networks, but every secret key exists on this machine once, so a
// network that matters is made with init on each validator's own machine (docs/operators.md).
import { join, resolve } from 'node:path';
import { formatHostPort, isLoopbackHost, parseHostPort } from '../node/addresses.ts';
import { refuseExisting, writeGenesis } from '../node/genesis.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import { CHAIN_PARAM_FLAGS, chainParams, genesisFromRecords, sha256File } from './genesis.ts';
import { checkHomeFree, DEFAULT_GOSSIP_PORT, homePaths, initHome, nodeAddresses, type NodeAddresses } from './home.ts';
import type { Command } from './main.ts';

const FLAGS = {
  hosts: { type: 'string', help: 'comma list, one per validator: host, or host:port to give its gossip port (e.g. several validators on one host)' },
  out: { type: 'string', help: 'directory for the node homes node-0, node-1, ...', default: 'testnet' },
  'gossip-port': { type: 'number', help: 'gossip port of a host given without one', default: DEFAULT_GOSSIP_PORT },
  'rpc-port': { type: 'number', help: 'HTTP API port of every node (default: its gossip port + 1)' },
  'listen-host': { type: 'string', help: 'gossip listen host (default: 0.0.0.0, or the host itself when it is a loopback address)' },
  'rpc-listen-host': { type: 'string', help: 'HTTP API listen host; 0.0.0.0 advertises the node’s host in genesis', default: '127.0.0.1' },
  bond: { type: 'number', help: 'bond of every validator', default: 100 },
  'chain-id': { type: 'string', help: 'chain id', default: 'numchain-testnet' },
  ...CHAIN_PARAM_FLAGS,
  force: { type: 'boolean', help: 'replace existing keys, configs and genesis in the node homes' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain testnet --hosts 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4 [--out testnet] [--gossip-port 26656]';
const SUMMARY = `Make one node home per host, ready to copy to that host and start with \`numchain run --home DIR\`:
  OUT/node-<i>/key.json, validator.json, config.toml (as \`numchain init\` writes them) and genesis.json
  (as \`numchain genesis --validators\` assembles it from all the records; the same file in every home).
Gossip listens on the advertised port; the HTTP API on 127.0.0.1 (--rpc-listen-host to change).
All secret keys are made on this machine: for test networks. Refuses to replace existing files without --force.`;

interface Planned {
  readonly home: string;
  readonly moniker: string;
  readonly addresses: NodeAddresses;
}

export const command: Command = {
  summary: 'make one ready node home per host (key, config, record, shared genesis)',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    if (f.hosts === undefined) throw new UsageError('--hosts is required (one host per validator)');
    const hosts = f.hosts.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (hosts.length < 1 || hosts.length > 100) throw new UsageError('--hosts must name 1 to 100 hosts');
    const port = (n: number, what: string): number => {
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${what} must be a port in [1, 65535]`);
      return n;
    };
    port(f['gossip-port'], '--gossip-port');
    if (f['rpc-port'] !== undefined) port(f['rpc-port'], '--rpc-port');

    // Plan every home first, so a clash refuses the whole testnet before anything is written.
    const used = new Map<string, string>();
    const plans: Planned[] = hosts.map((h, i) => {
      const explicit = /:\d{1,5}$/.test(h) && !/^[0-9a-fA-F:]+$/.test(h);
      const adv = explicit ? parseHostPort(h, `--hosts entry "${h}"`) : { host: h.replace(/^\[|\]$/g, ''), port: f['gossip-port'] };
      const rpcPort = port(f['rpc-port'] ?? adv.port + 1, `the HTTP API port of ${h} (its gossip port + 1)`);
      const listenHost = f['listen-host'] ?? (isLoopbackHost(adv.host) ? adv.host : '0.0.0.0');
      const addresses = nodeAddresses({
        advertise: formatHostPort(adv),
        listen: formatHostPort({ host: listenHost, port: adv.port }),
        rpcListen: formatHostPort({ host: f['rpc-listen-host'], port: rpcPort }),
      });
      for (const [what, p] of [['gossip', adv.port], ['HTTP API', rpcPort]] as const) {
        const k = `${adv.host}:${p}`;
        const other = used.get(k);
        if (other !== undefined) throw new UsageError(`--hosts: node-${i} (${what}) and ${other} both use port ${p} on ${adv.host}; give validators on one host distinct gossip ports (host:port; the HTTP API takes port + 1)`);
        used.set(k, `node-${i} (${what})`);
      }
      return { home: join(resolve(f.out), `node-${i}`), moniker: `node-${i}`, addresses };
    });
    for (const p of plans) {
      checkHomeFree(p.home, { force: f.force });
      refuseExisting([homePaths(p.home).genesis], { force: f.force });
    }

    const records = plans.map((p) => {
      const r = initHome({ home: p.home, moniker: p.moniker, chainId: f['chain-id'], bond: f.bond, addresses: p.addresses, force: f.force });
      return { file: r.paths.record, record: r.record };
    });
    const genesis = genesisFromRecords(records, chainParams(f, f['chain-id']));
    for (const p of plans) writeGenesis(homePaths(p.home).genesis, genesis, { force: f.force });
    console.log(`wrote ${plans.length} node homes in ${resolve(f.out)} (chain ${genesis.chainId}, genesis sha256 ${sha256File(homePaths(plans[0]!.home).genesis)})`);
    for (const [i, p] of plans.entries()) {
      console.log(`  node-${i}  gossip ${p.addresses.gossipAdvertise} (listens ${p.addresses.gossipListen})  rpc ${p.addresses.rpcListen}  key ${genesis.validators[i]!.publicKey.slice(0, 16)}…`);
    }
    console.log(`copy node-<i> to host i (key.json is secret: copy it over a private channel and keep no other running copy), then: numchain run --home <its directory>`);
    return 0;
  },
};
