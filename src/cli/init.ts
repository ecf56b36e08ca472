// `numchain init --home DIR`: a validator's key, signed record and config, made on the machine that
// will run it (cometbft init + the Cosmos SDK's gentx). The secret key never leaves HOME/key.json;
// what travels to whoever assembles genesis is HOME/validator.json, which carries no secret.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseCommandFlags, UsageError } from './args.ts';
import { DEFAULT_GOSSIP_PORT, DEFAULT_RPC_PORT, homePaths, initHome, nodeAddresses } from './home.ts';
import type { Command } from './main.ts';

const FLAGS = {
  home: { type: 'string', help: 'the node home to create (key.json, validator.json, config.toml)' },
  moniker: { type: 'string', help: 'validator name in genesis, 1–32 of [A-Za-z0-9._-] (default: this host name)' },
  advertise: { type: 'string', help: `gossip address other validators dial: host or host:port (port default ${DEFAULT_GOSSIP_PORT}); goes into the record` },
  listen: { type: 'string', help: 'gossip listen address host:port, or a bare port on 0.0.0.0 (default: the advertised port, on 0.0.0.0, or on the advertised host when it is a loopback address)' },
  'rpc-listen': { type: 'string', help: `HTTP API listen address host:port, or a bare port on 127.0.0.1 (default 127.0.0.1:${DEFAULT_RPC_PORT})` },
  'rpc-advertise': { type: 'string', help: 'HTTP API address put in the record (default: the listen address; the advertised host when listening on 0.0.0.0)' },
  bond: { type: 'number', help: 'bonded voting power', default: 100 },
  'chain-id': { type: 'string', help: 'the chain this record is for (signed into it; genesis must use the same)', default: 'numchain-localnet' },
  'keep-key': { type: 'boolean', help: 'sign a new record and config with the existing HOME/key.json (e.g. a changed address or bond)' },
  force: { type: 'boolean', help: 'replace existing files, the key included (a new validator identity)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain init --home DIR --advertise HOST[:PORT] [--moniker NAME] [--bond 100] [--listen ...] [--rpc-listen ...]';
const SUMMARY = `Create this validator's identity on the machine that will run it:
  HOME/key.json        a new Ed25519 secret key (mode 0600; never printed or logged)
  HOME/validator.json  the public record: moniker, public key, bond, gossip and RPC addresses, chain id,
                       signed by the key, so nobody can alter it on its way to the genesis assembler
  HOME/config.toml     settings for \`numchain run --home HOME\`
Send validator.json to whoever assembles genesis (\`numchain genesis --validators a.json,b.json,...\`), put the
genesis.json you get back into HOME, then start with \`numchain run --home HOME\`. Refuses to replace any of the
three files without --keep-key or --force.`;

export function defaultMoniker(): string {
  const m = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 32);
  return m === '' ? 'validator' : m;
}

export const command: Command = {
  summary: 'create a validator key, its signed public record and a config in a node home',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    if (f.home === undefined) throw new UsageError('--home DIR is required');
    if (f.advertise === undefined) throw new UsageError('--advertise is required: the address other validators dial to reach this one (e.g. 10.0.0.1 or 10.0.0.1:26656)');
    if (f.force && f['keep-key']) throw new UsageError('give --keep-key or --force, not both');
    const moniker = f.moniker ?? defaultMoniker();
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(moniker)) throw new UsageError(`--moniker must be 1–32 characters of [A-Za-z0-9._-], got "${moniker}"`);
    if (!Number.isSafeInteger(f.bond) || f.bond < 1 || f.bond > 1e12) throw new UsageError('--bond must be an integer in [1, 1e12]');
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(f['chain-id'])) throw new UsageError('--chain-id must be 1–64 characters of [A-Za-z0-9._:-]');
    const addresses = nodeAddresses({ advertise: f.advertise, listen: f.listen, rpcListen: f['rpc-listen'], rpcAdvertise: f['rpc-advertise'] });
    const hadData = existsSync(homePaths(f.home).data);
    const { paths, record, keptKey } = initHome({ home: f.home, moniker, chainId: f['chain-id'], bond: f.bond, addresses, force: f.force, keepKey: f['keep-key'] });
    console.log(keptKey ? `kept ${paths.key} (public key ${record.publicKey})` : `wrote ${paths.key} (mode 0600, public key ${record.publicKey})`);
    console.log(`wrote ${paths.record} (${record.moniker}: bond ${record.bond}, gossip ${record.gossip}, rpc ${record.rpc}, chain ${record.chainId}; signed)`);
    console.log(`wrote ${paths.config} (gossip listens on ${addresses.gossipListen}, HTTP API on ${addresses.rpcListen})`);
    if (hadData && !keptKey) console.log(`note: ${paths.data} holds data of an earlier chain; remove it before running a new genesis`);
    console.log(`next: send ${paths.record} to whoever assembles genesis; put the genesis.json you get back in ${paths.genesis}; then: numchain run --home ${f.home}`);
    return 0;
  },
};
