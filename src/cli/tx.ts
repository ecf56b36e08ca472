// `numchain tx`: sign one Memory Arithmetic op, submit it, wait for its committed receipt and print
// it. Exit 0 applied, 1 rejected (at admission or by execution) or unreachable, 2 usage, 3 admitted
// but not committed within --wait.
import { readFileSync } from 'node:fs';
import { TxError, type TxFields } from '../chain/tx.ts';
import { NumchainClient, RpcError } from '../rpc/client.ts';
import { KeyFileError, parseKeyFile, testClientKey } from '../rpc/test-keys.ts';
import { parseCommandFlags, parseFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

const FLAGS = {
  rpc: { type: 'string', help: 'node HTTP API, e.g. http://127.0.0.1:26657' },
  key: { type: 'string', help: 'key file {"index", "publicKey", "secretKey"} (hex)' },
  seed: { type: 'number', help: 'derive a deterministic test key from this number (localnets only)' },
  op: { type: 'string', help: 'add | decay | mix | clip' },
  shard: { type: 'number', help: 'target shard' },
  layer: { type: 'number', help: 'target layer' },
  slot: { type: 'number', help: 'target slot' },
  vec: { type: 'string', help: 'add: comma-separated D integers' },
  fill: { type: 'number', help: 'add: D copies of this integer (instead of --vec)' },
  factor: { type: 'number', help: 'decay: factor k in [0, q] (omit for the genesis decay)' },
  src: { type: 'number', help: 'mix: source slot' },
  alpha: { type: 'number', help: 'mix: alpha in [0, q]' },
  bound: { type: 'number', help: 'clip: bound in [0, B]' },
  wait: { type: 'number', help: 'ms to wait for the committed receipt', default: 30_000 },
  margin: { type: 'number', help: 'validUntil = height + margin (default: half the chain txWindow)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain tx --rpc URL (--key FILE | --seed N) --op add|decay|mix|clip --shard S --layer L --slot T [op arguments] [--wait ms]';
const SUMMARY = `Sign one op, submit it to the node, wait for its committed receipt and print the receipt as JSON.
Op arguments: add --vec 1,2,... or --fill V; decay [--factor K]; mix --src S --alpha A; clip --bound B.
Exit codes: 0 applied, 1 rejected (the refusal or receipt is printed) or node unreachable, 2 usage,
3 admitted but not committed within --wait.`;

type Flags = ReturnType<typeof parseFlags<typeof FLAGS>>;

function need(v: number | undefined, name: string): number {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

function parseVec(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  return parts.map((s, i) => {
    if (!/^-?\d+$/.test(s)) throw new UsageError(`--vec: element ${i} ("${s}") is not an integer`);
    return Number(s);
  });
}

function buildOp(f: Flags, dim: number): TxFields['op'] {
  const target = { shard: need(f.shard, 'shard'), layer: need(f.layer, 'layer'), slot: need(f.slot, 'slot') };
  switch (f.op) {
    case 'add': {
      if ((f.vec === undefined) === (f.fill === undefined)) throw new UsageError('add needs exactly one of --vec or --fill');
      const vec = f.vec !== undefined ? parseVec(f.vec) : new Array<number>(dim).fill(f.fill!);
      return { op: 'add', ...target, vec };
    }
    case 'decay':
      return { op: 'decay', ...target, factor: f.factor ?? null };
    case 'mix':
      return { op: 'mix', ...target, src: need(f.src, 'src'), alpha: need(f.alpha, 'alpha') };
    case 'clip':
      return { op: 'clip', ...target, bound: need(f.bound, 'bound') };
    default:
      throw new UsageError(f.op === undefined ? '--op is required' : `--op must be add, decay, mix or clip, got "${f.op}"`);
  }
}

export function loadSecretKey(f: { key?: string; seed?: number }): Uint8Array {
  if ((f.key === undefined) === (f.seed === undefined)) throw new UsageError('give exactly one of --key FILE or --seed N');
  if (f.seed !== undefined) {
    if (!Number.isSafeInteger(f.seed) || f.seed < 0) throw new UsageError('--seed must be an integer ≥ 0');
    return testClientKey(f.seed).secretKey;
  }
  let text: string;
  try {
    text = readFileSync(f.key!, 'utf8');
  } catch (e) {
    throw new Error(`cannot read key file ${f.key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseKeyFile(text).secretKey;
  } catch (e) {
    if (e instanceof KeyFileError) throw new Error(`key file ${f.key}: ${e.field ? e.field + ': ' : ''}${e.message}`);
    throw e;
  }
}

export function requireRpc(rpc: string | undefined): string {
  if (rpc === undefined) throw new UsageError('--rpc URL is required');
  if (!/^https?:\/\/[^\s]+$/.test(rpc)) throw new UsageError(`--rpc must be an http(s) URL, got "${rpc}"`);
  return rpc;
}

export const command: Command = {
  summary: 'sign, submit and wait for one transaction',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    const client = new NumchainClient(requireRpc(f.rpc));
    const secretKey = loadSecretKey(f);
    if (!Number.isFinite(f.wait) || f.wait < 0) throw new UsageError('--wait must be ≥ 0');
    try {
      const params = await client.params();
      const op = buildOp(f, params.ma.dim);
      let tx;
      try {
        tx = await client.buildAndSign(op, secretKey, { margin: f.margin });
      } catch (e) {
        if (e instanceof TxError) throw new UsageError(`${e.field}: ${e.message}`);
        throw e;
      }
      const receipt = await client.submitAndWait(tx, { waitMs: f.wait });
      console.log(JSON.stringify(receipt));
      if (receipt.status === 'applied') return 0;
      console.error(`numchain tx: rejected by execution: ${String(receipt.reason ?? 'unknown')}${receipt.field ? ` (${String(receipt.field)})` : ''}`);
      return 1;
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      if (e.code === 'not_committed') {
        console.log(JSON.stringify({ accepted: true, txid: e.txid, committed: false }));
        console.error(`numchain tx: ${e.message}`);
        return 3;
      }
      if (e.status >= 400 && e.status < 600) {
        console.log(JSON.stringify({ accepted: false, code: e.code, field: e.field, message: e.message, txid: e.txid }));
        console.error(`numchain tx: refused (HTTP ${e.status} ${e.code}${e.field ? `, field ${e.field}` : ''}): ${e.message}`);
        return 1;
      }
      console.error(`numchain tx: ${e.message}`);
      return 1;
    }
  },
};
