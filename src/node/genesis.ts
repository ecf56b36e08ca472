// The genesis document: everything every node must agree on before block 1. Validated strictly so a
// typo fails at start-up with the field named, not as a consensus split later.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { keypairFromSeed, publicKeyOf } from '../crypto/ed25519.ts';
import { bytesEqual, fromHex, toHex } from '../crypto/sha256.ts';
import { DEFAULT_MA_PARAMS, type MaParams } from '../engine/types.ts';
import { parsePocParams, PocParamsError, type PocParams } from '../poc/params.ts';

export const GENESIS_VERSION = 1;

export interface GenesisValidator {
  readonly index: number;
  readonly name: string;
  /** Ed25519 public key, 64 hex characters */
  readonly publicKey: string;
  /** bonded voting power */
  readonly bond: number;
  /** host:port for msgpack TCP gossip */
  readonly gossip: string;
  /** host:port for the HTTP API */
  readonly rpc: string;
}

export interface GenesisChain {
  /** W: a transaction's validUntil may be at most height + W */
  readonly txWindow: number;
  readonly maxTxsPerBlock: number;
  readonly maxBlockBytes: number;
  readonly maxTxBytes: number;
}

export interface GenesisConsensus {
  readonly epochLength: number;
  readonly timeoutBaseMs: number;
  readonly timeoutExponentCap: number;
  /** pause a leader takes before proposing, so an idle chain does not spin */
  readonly blockIntervalMs: number;
  readonly slashPermille: number;
  readonly randaoPenaltyPermille: number;
}

export interface Genesis {
  readonly version: number;
  readonly chainId: string;
  /** ms since the epoch; the genesis block's timestamp (informational, never used by execution) */
  readonly genesisTime: number;
  readonly engine: { readonly sha256: string };
  readonly ma: MaParams;
  readonly chain: GenesisChain;
  readonly consensus: GenesisConsensus;
  readonly validators: readonly GenesisValidator[];
  /** proof of capacity and processing (docs/poc-pop.md); absent: off, and the chain is as before */
  readonly poc?: PocParams;
}

export interface KeyFile {
  readonly index: number;
  readonly publicKey: string;
  readonly secretKey: string;
}

export const DEFAULT_CHAIN: GenesisChain = Object.freeze({
  txWindow: 1000,
  maxTxsPerBlock: 2000,
  maxBlockBytes: 2 << 20,
  maxTxBytes: 4 * DEFAULT_MA_PARAMS.dim + 256,
});

export const DEFAULT_CONSENSUS: GenesisConsensus = Object.freeze({
  epochLength: 100,
  timeoutBaseMs: 1000,
  timeoutExponentCap: 6,
  blockIntervalMs: 50,
  slashPermille: 500,
  randaoPenaltyPermille: 100,
});

export class GenesisError extends Error {
  override readonly name = 'GenesisError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`genesis: ${field}: ${message}`);
  }
}

function int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new GenesisError(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, field: string, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) throw new GenesisError(field, `must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new GenesisError(field, 'must be an object');
  return v as Record<string, unknown>;
}

const HOST_PORT = /^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** Parse and validate a genesis document (any JSON value). */
export function parseGenesis(json: unknown): Genesis {
  const g = obj(json, '(root)');
  if (g.version !== GENESIS_VERSION) throw new GenesisError('version', `must be ${GENESIS_VERSION}, got ${JSON.stringify(g.version)}`);
  const chainId = str(g.chainId, 'chainId', /^[A-Za-z0-9._:-]{1,64}$/, '1–64 characters of [A-Za-z0-9._:-]');
  const genesisTime = int(g.genesisTime, 'genesisTime', 0);
  const engine = obj(g.engine, 'engine');
  const sha = str(engine.sha256, 'engine.sha256', /^[0-9a-f]{64}$/, '64 lowercase hex characters');
  const m = obj(g.ma, 'ma');
  const ma: MaParams = {
    shards: int(m.shards, 'ma.shards', 1),
    layers: int(m.layers, 'ma.layers', 1),
    slots: int(m.slots, 'ma.slots', 1),
    dim: int(m.dim, 'ma.dim', 1),
    q: int(m.q, 'ma.q', 1, 2 ** 31 - 1),
    decay: positive(m.decay, 'ma.decay'),
    clip: positive(m.clip, 'ma.clip'),
  };
  const c = obj(g.chain, 'chain');
  const chain: GenesisChain = {
    txWindow: int(c.txWindow, 'chain.txWindow', 1, 1_000_000),
    maxTxsPerBlock: int(c.maxTxsPerBlock, 'chain.maxTxsPerBlock', 1, 100_000),
    maxBlockBytes: int(c.maxBlockBytes, 'chain.maxBlockBytes', 1024, 64 << 20),
    maxTxBytes: int(c.maxTxBytes, 'chain.maxTxBytes', 64, 16 << 20),
  };
  const k = obj(g.consensus, 'consensus');
  const consensus: GenesisConsensus = {
    epochLength: int(k.epochLength, 'consensus.epochLength', 2, 1_000_000),
    timeoutBaseMs: int(k.timeoutBaseMs, 'consensus.timeoutBaseMs', 10, 600_000),
    timeoutExponentCap: int(k.timeoutExponentCap, 'consensus.timeoutExponentCap', 0, 20),
    blockIntervalMs: int(k.blockIntervalMs, 'consensus.blockIntervalMs', 0, 600_000),
    slashPermille: int(k.slashPermille, 'consensus.slashPermille', 0, 1000),
    randaoPenaltyPermille: int(k.randaoPenaltyPermille, 'consensus.randaoPenaltyPermille', 0, 1000),
  };
  if (!Array.isArray(g.validators) || g.validators.length < 1 || g.validators.length > 100) {
    throw new GenesisError('validators', 'must be a list of 1 to 100 validators');
  }
  const keys = new Set<string>();
  const validators = g.validators.map((raw, i): GenesisValidator => {
    const v = obj(raw, `validators[${i}]`);
    const f = (name: string) => `validators[${i}].${name}`;
    if (v.index !== i) throw new GenesisError(f('index'), `must be ${i} (validators are listed in index order)`);
    const publicKey = str(v.publicKey, f('publicKey'), /^[0-9a-f]{64}$/, '64 lowercase hex characters');
    if (keys.has(publicKey)) throw new GenesisError(f('publicKey'), 'is used by another validator');
    keys.add(publicKey);
    return {
      index: i,
      name: str(v.name, f('name'), /^[A-Za-z0-9._-]{1,32}$/, '1–32 characters of [A-Za-z0-9._-]'),
      publicKey,
      bond: int(v.bond, f('bond'), 1, 1e12),
      gossip: str(v.gossip, f('gossip'), HOST_PORT, 'host:port'),
      rpc: str(v.rpc, f('rpc'), HOST_PORT, 'host:port'),
    };
  });
  let poc: PocParams | undefined;
  if (g.poc !== undefined) {
    try {
      poc = parsePocParams(g.poc, consensus.epochLength);
    } catch (e) {
      if (e instanceof PocParamsError) throw new GenesisError(e.field, e.message);
      throw e;
    }
    if (poc.popWindow > consensus.epochLength) throw new GenesisError('poc.popWindow', `must be at most consensus.epochLength (${consensus.epochLength})`);
  }
  return { version: GENESIS_VERSION, chainId, genesisTime, engine: { sha256: sha }, ma, chain, consensus, validators, ...(poc !== undefined ? { poc } : {}) };
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new GenesisError(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

export function readGenesis(path: string): Genesis {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GenesisError('(file)', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GenesisError('(file)', `${path} is not JSON: ${(e as Error).message}`);
  }
  return parseGenesis(json);
}

/**
 * The secret key in a key file. Errors never quote the file: JSON.parse's message shows the text
 * around a syntax error, which here is the secret.
 */
export function readSecretKey(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GenesisError('key', `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GenesisError('key', `key file ${path} is not valid JSON`);
  }
  if (json === null || typeof json !== 'object') throw new GenesisError('key', `key file ${path} must hold a JSON object with secretKey`);
  try {
    return fromHex((json as Record<string, unknown>).secretKey, 'secretKey', 32);
  } catch (e) {
    throw new GenesisError('key', `key file ${path}: ${(e as Error).message}`);
  }
}

/** The index of the validator whose key is in `path`: how a node started with --home finds itself. */
export function validatorIndexOfKey(path: string, genesis: Genesis, genesisPath = 'genesis'): number {
  const pub = toHex(publicKeyOf(readSecretKey(path)));
  const i = genesis.validators.findIndex((v) => v.publicKey === pub);
  if (i < 0) {
    throw new GenesisError('key', `the key in ${path} (public key ${pub}) is not a validator in ${genesisPath}: was it assembled from this node's validator.json?`);
  }
  return i;
}

/** Read a validator key file and check it against genesis. */
export function readKeyFile(path: string, genesis: Genesis, index: number): Uint8Array {
  const secretKey = readSecretKey(path);
  const v = genesis.validators[index];
  if (!v) throw new GenesisError('key', `node index ${index} is not a validator in genesis (it has ${genesis.validators.length})`);
  const pub = publicKeyOf(secretKey);
  if (!bytesEqual(pub, fromHex(v.publicKey, 'publicKey', 32))) {
    throw new GenesisError('key', `key file ${path} holds public key ${toHex(pub)}, but genesis validator ${index} is ${v.publicKey}`);
  }
  return secretKey;
}

export interface GenerateOptions {
  readonly nodes: number;
  readonly chainId?: string;
  readonly host?: string;
  readonly gossipBasePort?: number;
  readonly rpcBasePort?: number;
  readonly engineSha256: string;
  readonly genesisTime: number;
  readonly ma?: MaParams;
  readonly chain?: Partial<GenesisChain>;
  readonly consensus?: Partial<GenesisConsensus>;
  readonly bonds?: readonly number[];
  /** deterministic keys from this seed (test localnets); random keys otherwise */
  readonly keySeed?: number;
}

/** Everything in a genesis document but its validators, with the defaults of a localnet. */
export interface GenesisParams {
  readonly chainId?: string;
  readonly engineSha256: string;
  readonly genesisTime: number;
  readonly ma?: MaParams;
  readonly chain?: Partial<GenesisChain>;
  readonly consensus?: Partial<GenesisConsensus>;
  /** a `poc` block (missing fields take the defaults of docs/poc-pop.md); absent: no PoC */
  readonly poc?: Partial<PocParams>;
}

/** A checked genesis document for these validators (from generateGenesis or validator records). */
export function buildGenesis(o: GenesisParams, validators: readonly GenesisValidator[]): Genesis {
  return parseGenesis({
    version: GENESIS_VERSION,
    chainId: o.chainId ?? 'numchain-localnet',
    genesisTime: o.genesisTime,
    engine: { sha256: o.engineSha256 },
    ma: o.ma ?? DEFAULT_MA_PARAMS,
    chain: { ...DEFAULT_CHAIN, ...(o.ma ? { maxTxBytes: 4 * o.ma.dim + 256 } : {}), ...o.chain },
    consensus: { ...DEFAULT_CONSENSUS, ...o.consensus },
    validators,
    ...(o.poc !== undefined ? { poc: o.poc } : {}),
  });
}

/** Make a genesis document and one secret key per validator. */
export function generateGenesis(o: GenerateOptions): { genesis: Genesis; keys: KeyFile[] } {
  const host = o.host ?? '127.0.0.1';
  const gp = o.gossipBasePort ?? 26650;
  const rp = o.rpcBasePort ?? 26660;
  const keys: KeyFile[] = [];
  const validators: GenesisValidator[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const seed = o.keySeed === undefined ? new Uint8Array(randomBytes(32)) : seededKey(o.keySeed, i);
    const kp = keypairFromSeed(seed);
    keys.push({ index: i, publicKey: toHex(kp.publicKey), secretKey: toHex(kp.secretKey) });
    validators.push({ index: i, name: `v${i}`, publicKey: toHex(kp.publicKey), bond: o.bonds?.[i] ?? 100, gossip: `${host}:${gp + i}`, rpc: `${host}:${rp + i}` });
  }
  return { genesis: buildGenesis(o, validators), keys };
}

/** The localnet key seed of validator `index` under `--key-seed seed` (also `numchain poc init --key-seed`). */
export function seededKey(seed: number, index: number): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  view.setUint32(0, seed >>> 0);
  view.setUint32(4, index >>> 0);
  out.set(new TextEncoder().encode('numchain-test-key'), 8);
  return out;
}

/** Refusing to replace a key or a genesis document (or another file that must not change unnoticed). */
export class FileExistsError extends Error {
  override readonly name = 'FileExistsError';
  readonly code = 'exists';
  constructor(
    readonly path: string,
    hint = '--force replaces it',
  ) {
    super(`${path} already exists; refusing to overwrite it (${hint})`);
  }
}

export interface WriteOptions {
  /** replace existing files (default: refuse with FileExistsError) */
  readonly force?: boolean;
}

/** Throw FileExistsError for the first of `paths` that exists, unless `force`. */
export function refuseExisting(paths: readonly string[], o: WriteOptions = {}): void {
  if (o.force) return;
  for (const p of paths) if (existsSync(p)) throw new FileExistsError(p);
}

/**
 * Write a file, creating its directory. Without `force` the open is exclusive ('wx'), so a file that
 * appeared since refuseExisting() is not replaced either. `mode` 0o600 is re-applied to a replaced file.
 */
export function writeNewFile(path: string, text: string, o: WriteOptions & { mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, text, { mode: o.mode ?? 0o644, flag: o.force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path);
    throw e;
  }
  if (o.mode !== undefined) chmodSync(path, o.mode);
}

export function writeGenesis(path: string, genesis: Genesis, o: WriteOptions = {}): string {
  const p = resolve(path);
  writeNewFile(p, JSON.stringify(genesis, null, 2) + '\n', o);
  return p;
}

/** A key file (mode 0600). The secret is written here and nowhere else. */
export function writeKeyFile(path: string, key: { readonly index?: number; readonly publicKey: string; readonly secretKey: string }, o: WriteOptions = {}): string {
  const p = resolve(path);
  writeNewFile(p, JSON.stringify(key, null, 2) + '\n', { ...o, mode: 0o600 });
  return p;
}

/**
 * Write genesis.json and key-<i>.json (mode 0600) beside it. Returns the paths. Refuses (before
 * writing anything) when any of them exists, unless `force`.
 */
export function writeGenesisFiles(out: string, genesis: Genesis, keys: readonly KeyFile[], o: WriteOptions = {}): { genesis: string; keys: string[] } {
  const path = resolve(out);
  const keyPaths = keys.map((k) => join(dirname(path), `key-${k.index}.json`));
  refuseExisting([path, ...keyPaths], o);
  writeGenesis(path, genesis, o);
  keys.forEach((k, i) => writeKeyFile(keyPaths[i]!, k, o));
  return { genesis: path, keys: keyPaths };
}

export function keyPathFor(genesisPath: string, index: number): string {
  return join(dirname(resolve(genesisPath)), `key-${index}.json`);
}
