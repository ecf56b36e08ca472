// A validator's home directory, as `numchain init` makes it on the validator's own machine and
// `numchain testnet` makes one per host:
//
//   HOME/key.json        the validator's secret key, mode 0600 (never printed, never logged)
//   HOME/validator.json  the public validator record, signed by that key (src/node/validator-record.ts)
//   HOME/config.toml     `numchain run` settings; `numchain run --home HOME` reads it
//   HOME/genesis.json    copied in once genesis is assembled from everyone's validator.json
//   HOME/data/           block log, snapshots, safety state (made by the first `run`)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keypairFromSeed, publicKeyOf } from '../crypto/ed25519.ts';
import { toHex } from '../crypto/sha256.ts';
import { AddressError, barePort, formatHostPort, isLoopbackHost, isUnspecifiedHost, listenAddress, parseHostPort, type HostPort } from '../node/addresses.ts';
import { FileExistsError, readSecretKey, writeKeyFile, writeNewFile } from '../node/genesis.ts';
import { signRecord, type ValidatorRecord } from '../node/validator-record.ts';
import { UsageError } from './args.ts';
import { tomlString } from './config.ts';

export const DEFAULT_GOSSIP_PORT = 26656;
export const DEFAULT_RPC_PORT = 26657;

export function homePaths(home: string): { key: string; record: string; config: string; genesis: string; data: string } {
  const h = resolve(home);
  return { key: join(h, 'key.json'), record: join(h, 'validator.json'), config: join(h, 'config.toml'), genesis: join(h, 'genesis.json'), data: join(h, 'data') };
}

/** Listen and advertised addresses of one validator, all "host:port". */
export interface NodeAddresses {
  /** where gossip listens */
  readonly gossipListen: string;
  /** where other validators dial it (goes into the record and genesis) */
  readonly gossipAdvertise: string;
  /** where the HTTP API listens */
  readonly rpcListen: string;
  /** the HTTP API address put in the record (the listen address, unless that is 0.0.0.0) */
  readonly rpcAdvertise: string;
}

function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof AddressError ? new UsageError(e.message) : e;
  }
}

/** "host", "[v6]" or "host:port" (a host alone takes `port`); never a bare port. */
function dialable(s: string, port: number, what: string): HostPort {
  const t = s.trim();
  if (barePort(t) !== null) throw new UsageError(`${what} needs a host other machines reach this one at, got only a port (${t})`);
  const hostOnly = /^[A-Za-z0-9.-]+$/.test(t) ? t : /^\[([0-9a-fA-F:]+)\]$/.exec(t)?.[1];
  const a = hostOnly !== undefined ? { host: hostOnly, port } : usage(() => parseHostPort(t, what));
  if (isUnspecifiedHost(a.host)) throw new UsageError(`${what} ${t}: ${a.host} means "every interface" and cannot be dialed; give this machine's address (listen on 0.0.0.0 with --listen)`);
  if (a.port === 0) throw new UsageError(`${what} ${t}: port 0 cannot be dialed`);
  return a;
}

/**
 * Addresses from what the operator typed. Gossip listens on the advertised port: on the advertised
 * host itself when that is a loopback address (a localnet), else on 0.0.0.0 (the advertised address
 * may be a NAT or DNS name not bound here). The HTTP API listens on 127.0.0.1 unless told otherwise.
 */
export function nodeAddresses(o: { advertise: string; listen?: string; rpcListen?: string; rpcAdvertise?: string }): NodeAddresses {
  const adv = dialable(o.advertise, DEFAULT_GOSSIP_PORT, '--advertise');
  const gossipListen = o.listen !== undefined
    ? usage(() => listenAddress(o.listen!, '0.0.0.0', '--listen'))
    : formatHostPort({ host: isLoopbackHost(adv.host) ? adv.host : '0.0.0.0', port: adv.port });
  const rpcListen = usage(() => listenAddress(o.rpcListen ?? DEFAULT_RPC_PORT, '127.0.0.1', '--rpc-listen'));
  const rl = parseHostPort(rpcListen, '--rpc-listen');
  if (rl.port === 0) throw new UsageError('--rpc-listen: port 0 is not allowed here (the record advertises the port)');
  const rpcAdvertise = o.rpcAdvertise !== undefined
    ? formatHostPort(dialable(o.rpcAdvertise, rl.port, '--rpc-advertise'))
    : formatHostPort(isUnspecifiedHost(rl.host) ? { host: adv.host, port: rl.port } : rl);
  return { gossipListen, gossipAdvertise: formatHostPort(adv), rpcListen, rpcAdvertise };
}

export interface InitOptions {
  readonly home: string;
  readonly moniker: string;
  readonly chainId: string;
  readonly bond: number;
  readonly addresses: NodeAddresses;
  /** replace existing key, record and config */
  readonly force?: boolean;
  /** sign with the existing HOME/key.json; replace record and config */
  readonly keepKey?: boolean;
}

export interface InitResult {
  readonly paths: ReturnType<typeof homePaths>;
  readonly record: ValidatorRecord;
  readonly keptKey: boolean;
}

/** The files initHome would refuse to replace (FileExistsError naming the first), before anything is written. */
export function checkHomeFree(home: string, o: { force?: boolean; keepKey?: boolean }): void {
  const p = homePaths(home);
  if (o.force) return;
  if (o.keepKey) {
    if (!existsSync(p.key)) throw new UsageError(`--keep-key: there is no ${p.key}`);
    return;
  }
  for (const f of [p.key, p.record, p.config]) {
    if (existsSync(f)) throw new FileExistsError(f, '--keep-key signs a new record with the existing key; --force replaces the key too');
  }
}

/** Make (or, with keepKey, reuse) the key, then write the signed record and the config. */
export function initHome(o: InitOptions): InitResult {
  checkHomeFree(o.home, o);
  const paths = homePaths(o.home);
  let secretKey: Uint8Array;
  const keptKey = !o.force && o.keepKey === true;
  if (keptKey) secretKey = readSecretKey(paths.key);
  else {
    secretKey = keypairFromSeed(new Uint8Array(randomBytes(32))).secretKey;
    writeKeyFile(paths.key, { publicKey: toHex(publicKeyOf(secretKey)), secretKey: toHex(secretKey) }, { force: o.force });
  }
  const a = o.addresses;
  const record = signRecord({ chainId: o.chainId, moniker: o.moniker, bond: o.bond, gossip: a.gossipAdvertise, rpc: a.rpcAdvertise }, secretKey);
  const replace = { force: o.force || keptKey };
  writeNewFile(paths.record, JSON.stringify(record, null, 2) + '\n', replace);
  writeNewFile(paths.config, configText(record, a), replace);
  return { paths, record, keptKey };
}

/** config.toml as init writes it: the keys a validator on its own machine needs, explained. */
export function configText(r: ValidatorRecord, a: NodeAddresses): string {
  const line = (k: string, v: string, comment: string): string => `${`${k} = ${v}`.padEnd(34)} # ${comment}`;
  return [
    `# numchain node config for validator "${r.moniker}" (public key ${r.publicKey}), chain ${r.chainId}.`,
    '# Every key is the `numchain run` flag of the same name (numchain help run); a flag given on the',
    '# command line overrides it, and an unknown key is an error. Relative paths resolve against this',
    '# directory. Start with: numchain run --home <this directory>',
    '',
    line('genesis', tomlString('genesis.json'), 'the assembled genesis; every validator has the same file'),
    line('key', tomlString('key.json'), 'secret (0600): on one machine at a time, with its data dir'),
    line('data-dir', tomlString('data'), 'block log, snapshots, safety state'),
    line('gossip', tomlString(a.gossipListen), `gossip listens here; peers dial ${r.gossip} (genesis)`),
    line('rpc', tomlString(a.rpcListen), 'HTTP API listen address'),
    line('peer-tls', tomlString('on'), 'TLS 1.3 on peer links, certificates from the genesis keys'),
    line('log-level', tomlString('info'), 'debug, info, warn or error'),
    line('snapshot-every', '200', 'blocks between snapshots (0 = never)'),
    line('verify-workers', '2', 'signature-verifying threads'),
    line('verify-nice', '10', 'their nice value'),
    '# peers = ["1=10.0.0.2:26656"]     # dial validator 1 here instead of its genesis address',
    '',
  ].join('\n');
}
