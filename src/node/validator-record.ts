// The public validator record: what an operator sends to whoever assembles genesis (the Cosmos SDK's
// gentx, without a transaction). `numchain init` makes it on the validator's own machine and signs it
// with the validator key, so nobody between that machine and genesis can change the bond or redirect
// the gossip address: the signature covers
//
//   encodeCanonical(["numchain/validator-record/v1", chainId, moniker, publicKey(32 bytes), bond, gossip, rpc])
//
// and `verifyRecord` recomputes those bytes from the JSON fields. The chain id is inside so that a
// record cannot be carried into the genesis of another chain without its key holder. The JSON file
// holds exactly the signed fields plus `signature` (hex); any other field is refused.
import { readFileSync } from 'node:fs';
import { encodeCanonical } from '../codec/canonical.ts';
import { publicKeyOf, signEd25519, verifyZip215 } from '../crypto/ed25519.ts';
import { fromHex, toHex } from '../crypto/sha256.ts';
import { AddressError, formatHostPort, isLoopbackHost, isUnspecifiedHost, parseHostPort } from './addresses.ts';
import type { GenesisValidator } from './genesis.ts';

export const RECORD_TYPE = 'numchain/validator-record/v1';

export interface ValidatorRecord {
  readonly type: typeof RECORD_TYPE;
  readonly chainId: string;
  /** becomes the validator's name in genesis */
  readonly moniker: string;
  /** Ed25519 public key, 64 lowercase hex characters */
  readonly publicKey: string;
  readonly bond: number;
  /** host:port other validators dial for gossip */
  readonly gossip: string;
  /** host:port of the HTTP API (127.0.0.1:… when it serves only its own machine) */
  readonly rpc: string;
  /** Ed25519 signature over the canonical bytes, 128 hex characters */
  readonly signature: string;
}

export type UnsignedRecord = Omit<ValidatorRecord, 'type' | 'signature'>;

const FIELDS = ['type', 'chainId', 'moniker', 'publicKey', 'bond', 'gossip', 'rpc', 'signature'] as const;
const SIGNED = 'chainId, moniker, publicKey, bond, gossip, rpc';

/** A record refused: `file` and `field` say which and where. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
  }
}

export function recordSigningBytes(r: UnsignedRecord): Uint8Array {
  return encodeCanonical([RECORD_TYPE, r.chainId, r.moniker, fromHex(r.publicKey, 'publicKey', 32), r.bond, r.gossip, r.rpc]);
}

/** Sign a record with the validator's secret key (its public key is taken from the key itself). */
export function signRecord(fields: Omit<UnsignedRecord, 'publicKey'>, secretKey: Uint8Array): ValidatorRecord {
  const unsigned: UnsignedRecord = { ...fields, publicKey: toHex(publicKeyOf(secretKey)) };
  const record = { type: RECORD_TYPE, ...unsigned, signature: toHex(signEd25519(recordSigningBytes(unsigned), secretKey)) } as const;
  return parseRecord(record, '(new record)');
}

/**
 * Validate a record (any JSON value) and check its signature. `file` names it in errors. Every field
 * is checked on its own first, so a malformed field is named even when the signature would also fail.
 */
export function parseRecord(json: unknown, file: string): ValidatorRecord {
  const fail = (field: string, message: string): never => {
    throw new RecordError(file, field, message);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('(root)', 'must be a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(FIELDS as readonly string[]).includes(k)) fail(k, `is not a field of a validator record (fields: ${FIELDS.join(', ')})`);
  if (o.type !== RECORD_TYPE) fail('type', `must be ${JSON.stringify(RECORD_TYPE)}, got ${JSON.stringify(o.type)}`);
  const str = (field: string, re: RegExp, what: string): string => {
    const v = o[field];
    return typeof v === 'string' && re.test(v) ? v : fail(field, `must be ${what}, got ${JSON.stringify(v)}`);
  };
  const chainId = str('chainId', /^[A-Za-z0-9._:-]{1,64}$/, '1–64 characters of [A-Za-z0-9._:-]');
  const moniker = str('moniker', /^[A-Za-z0-9._-]{1,32}$/, '1–32 characters of [A-Za-z0-9._-]');
  const publicKey = str('publicKey', /^[0-9a-f]{64}$/, '64 lowercase hex characters');
  const bond = o.bond;
  if (typeof bond !== 'number' || !Number.isSafeInteger(bond) || bond < 1 || bond > 1e12) fail('bond', `must be an integer in [1, 1e12], got ${JSON.stringify(bond)}`);
  const gossip = dialAddress(o.gossip, file, 'gossip');
  const rpc = dialAddress(o.rpc, file, 'rpc');
  const signature = str('signature', /^[0-9a-f]{128}$/, '128 lowercase hex characters');
  const r: ValidatorRecord = { type: RECORD_TYPE, chainId, moniker, publicKey, bond: bond as number, gossip, rpc, signature };
  if (!verifyZip215(fromHex(publicKey, 'publicKey', 32), recordSigningBytes(r), fromHex(signature, 'signature', 64))) {
    fail('signature', `does not verify against publicKey ${publicKey.slice(0, 16)}…: one of the signed fields (${SIGNED}) was changed after signing, or another key signed it`);
  }
  return r;
}

/** An address other machines dial: host:port with a real host (not 0.0.0.0) and a port other than 0. */
function dialAddress(v: unknown, file: string, field: string): string {
  if (typeof v !== 'string') throw new RecordError(file, field, `must be host:port, got ${JSON.stringify(v)}`);
  let a;
  try {
    a = parseHostPort(v, field);
  } catch (e) {
    throw new RecordError(file, field, (e as AddressError).message.replace(`${field} `, ''));
  }
  if (isUnspecifiedHost(a.host)) throw new RecordError(file, field, `${v} cannot be dialed: ${a.host} means "every interface"; advertise the address peers reach this machine at`);
  if (a.port === 0) throw new RecordError(file, field, `${v}: port 0 cannot be dialed`);
  if (formatHostPort(a) !== v) throw new RecordError(file, field, `must be written ${formatHostPort(a)}`);
  return v;
}

export function readRecordFile(path: string): ValidatorRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RecordError(path, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RecordError(path, '(file)', `is not JSON: ${(e as Error).message}`);
  }
  return parseRecord(json, path);
}

/**
 * Genesis validators from checked records, in the order given (index i = records[i]). Refuses what
 * would make a broken network, naming the record file and field: one key twice (the same record
 * given twice, or two records signed by one key), two validators with one moniker or one gossip
 * address, a record for another chain, and a loopback gossip address among addresses of other
 * machines (those peers could never dial it).
 */
export function validatorsFromRecords(records: readonly { readonly file: string; readonly record: ValidatorRecord }[], chainId: string): GenesisValidator[] {
  if (records.length < 1 || records.length > 100) throw new RecordError('--validators', '(list)', `must name 1 to 100 records, got ${records.length}`);
  const byKey = new Map<string, string>();
  const byMoniker = new Map<string, string>();
  const byGossip = new Map<string, string>();
  const remote = records.find(({ record }) => !isLoopbackHost(parseHostPort(record.gossip, 'gossip').host));
  return records.map(({ file, record: r }, index) => {
    if (r.chainId !== chainId) throw new RecordError(file, 'chainId', `is ${JSON.stringify(r.chainId)}, but this genesis is for ${JSON.stringify(chainId)} (make the record again with numchain init --chain-id ${chainId} --keep-key)`);
    const seen = (m: Map<string, string>, k: string, field: string, what: string): void => {
      const other = m.get(k);
      if (other !== undefined) throw new RecordError(file, field, `${what} ${k} is also in ${other}${other === file ? ' (the same file given twice)' : ''}`);
      m.set(k, file);
    };
    seen(byKey, r.publicKey, 'publicKey', 'key');
    seen(byMoniker, r.moniker, 'moniker', 'moniker');
    seen(byGossip, r.gossip, 'gossip', 'gossip address');
    if (remote && isLoopbackHost(parseHostPort(r.gossip, 'gossip').host)) {
      throw new RecordError(file, 'gossip', `${r.gossip} is a loopback address, but ${remote.file} advertises ${remote.record.gossip}: validators on other machines cannot dial it`);
    }
    return { index, name: r.moniker, publicKey: r.publicKey, bond: r.bond, gossip: r.gossip, rpc: r.rpc };
  });
}
