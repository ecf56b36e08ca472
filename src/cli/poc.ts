// `numchain poc init|prove|check`: the operator's tools for the proof-of-capacity replica
// (docs/poc-pop.md, "What a node does"): build it on disk, answer one challenge from it with
// timings, and scrub every chunk against the stored tree. Exit codes: 0 ok, 1 failed, 2 usage.
import { publicKeyOf, keypairFromSeed } from '../crypto/ed25519.ts';
import { nodeSha256, nodeSha256Hex, nodeSha256Into } from '../crypto/fast-verify-node.ts';
import { fromHex, toHex, useSha256 } from '../crypto/sha256.ts';
import { buildReplicaFile, checkReplica, openReplica, proveChallenge, treeBytes, type BuildProgress } from '../host/poc-store.ts';
import { readSecretKey, seededKey } from '../node/genesis.ts';
import { deriveChallenge } from '../poc/challenge.ts';
import { DEFAULT_POC_PARAMS } from '../poc/params.ts';
import { parseCommandFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

const MiB = 2 ** 20;

const INIT_FLAGS = {
  dir: { type: 'string', help: 'directory for replica.bin, replica.tree and replica.json (e.g. HOME/data/poc)' },
  chunks: { type: 'number', help: 'capacity in chunks (≥ 2; the genesis minChunks/maxChunks bound what a commit may declare)' },
  'chunk-bytes': { type: 'number', help: 'chunk size, a multiple of 32 (the genesis chunkBytes)', default: DEFAULT_POC_PARAMS.chunkBytes },
  rounds: { type: 'number', help: 'SHA-256 rounds per word (the genesis encodeRounds)', default: DEFAULT_POC_PARAMS.encodeRounds },
  key: { type: 'string', help: 'the validator key file (HOME/key.json); only its public key is used' },
  'key-seed': { type: 'number', help: 'localnet: the key of validator --validator under `numchain genesis --key-seed S`' },
  validator: { type: 'number', help: 'with --key-seed: the validator index', default: 0 },
  'public-key': { type: 'string', help: 'the validator public key, 64 hex characters' },
  'chain-id': { type: 'string', help: 'the chain id (part of the replica seed)', default: 'numchain-localnet' },
  nonce: { type: 'number', help: 'commit nonce (a new nonce makes a new replica)', default: 0 },
  force: { type: 'boolean', help: 'replace an existing replica in --dir' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const PROVE_FLAGS = {
  dir: { type: 'string', help: 'the replica directory' },
  'epoch-seed': { type: 'string', help: 'the epoch RANDAO seed, 64 hex characters' },
  epoch: { type: 'number', help: 'the epoch number' },
  validator: { type: 'number', help: 'this validator’s index in the validator set' },
  k: { type: 'number', help: 'chunks challenged per epoch (the genesis k)', default: DEFAULT_POC_PARAMS.k },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const CHECK_FLAGS = {
  dir: { type: 'string', help: 'the replica directory' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const OVERVIEW = `usage: numchain poc <init|prove|check> [options]   (numchain poc <sub> --help for its flags)

Proof of capacity (docs/poc-pop.md): the replica a validator keeps on disk.
  init   encode the replica into --dir (sequential, one core; prints its Merkle root, size and MiB/s)
  prove  answer one epoch's challenge from the replica: timed positioned reads, answer size (no PoP items)
  check  re-read every chunk and compare it with the stored tree; prints the bad chunks (exit 1 if any)`;

function intFlag(v: number | undefined, name: string, lo: number, hi = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  if (!Number.isSafeInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer in [${lo}, ${hi}]`);
  return v;
}

function hexFlag(v: string | undefined, name: string): Uint8Array {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  try {
    return fromHex(v, `--${name}`, 32);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function publicKeyFrom(f: { key?: string; 'key-seed'?: number; 'public-key'?: string; validator: number }): Uint8Array {
  const given = [f.key, f['key-seed'], f['public-key']].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --key FILE, --key-seed S or --public-key HEX');
  if (f.key !== undefined) return publicKeyOf(readSecretKey(f.key));
  if (f['public-key'] !== undefined) return hexFlag(f['public-key'], 'public-key');
  return keypairFromSeed(seededKey(intFlag(f['key-seed'], 'key-seed', 0, 2 ** 32 - 1), intFlag(f.validator, 'validator', 0, 2 ** 32 - 1))).publicKey;
}

function progressPrinter(what: string): (p: BuildProgress) => void {
  let shown = -1;
  return (p) => {
    const pct = Math.floor((100 * p.done) / p.chunks / 10) * 10;
    if (pct > shown && pct > 0 && pct < 100) {
      shown = pct;
      process.stderr.write(`${what}: ${pct}% (${p.done}/${p.chunks} chunks)\n`);
    }
  };
}

/** "3, 7-9, 12" for sorted indices; at most `max` ranges. */
export function ranges(xs: readonly number[], max = 20): string {
  const out: string[] = [];
  let i = 0;
  for (; i < xs.length && out.length < max; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ') + (i < xs.length ? ', ...' : '');
}

async function init(argv: string[]): Promise<number> {
  const f = parseCommandFlags(argv, INIT_FLAGS, 'numchain poc init --dir DIR --chunks N (--key FILE | --key-seed S [--validator V] | --public-key HEX) [options]', 'Encode the proof-of-capacity replica into DIR: replica.bin (chunks × chunk-bytes), replica.tree (the Merkle levels, 32 bytes a node) and replica.json (written last: a directory with it holds a complete replica). Prints the root to commit.');
  if (f === null) return 0;
  if (f.dir === undefined) throw new UsageError('--dir DIR is required');
  const chunks = intFlag(f.chunks, 'chunks', 2, 2 ** 30);
  const chunkBytes = intFlag(f['chunk-bytes'], 'chunk-bytes', 32, 1 << 20);
  if (chunkBytes % 32 !== 0) throw new UsageError('--chunk-bytes must be a multiple of 32');
  const rounds = intFlag(f.rounds, 'rounds', 1, 1 << 16);
  const nonce = intFlag(f.nonce, 'nonce', 0, 2 ** 32 - 1);
  const publicKey = publicKeyFrom(f);
  const bytes = chunks * chunkBytes;
  console.log(`encoding ${chunks} chunks × ${chunkBytes} B = ${(bytes / MiB).toFixed(1)} MiB (+ ${(treeBytes(chunks) / MiB).toFixed(2)} MiB tree) for ${toHex(publicKey)} on ${f['chain-id']}, nonce ${nonce}, ${rounds} rounds`);
  const t0 = performance.now();
  const root = await buildReplicaFile(f.dir, { chainId: f['chain-id'], publicKey, commitNonce: nonce, chunks, chunkBytes, encodeRounds: rounds }, { force: f.force, onProgress: progressPrinter('encoding'), progressEvery: Math.max(1, Math.floor(chunks / 100)) });
  const s = (performance.now() - t0) / 1000;
  console.log(`root ${toHex(root)}`);
  console.log(`wrote ${f.dir}: ${(bytes / MiB).toFixed(1)} MiB in ${s.toFixed(1)} s (${(bytes / MiB / s).toFixed(2)} MiB/s, ${((s * 1e3) / chunks).toFixed(3)} ms a chunk)`);
  return 0;
}

async function prove(argv: string[]): Promise<number> {
  const f = parseCommandFlags(argv, PROVE_FLAGS, 'numchain poc prove --dir DIR --epoch-seed HEX --epoch E --validator V [--k 8]', "Derive this validator's challenge for an epoch from the stored root and answer it from disk (chunks only; PoP items need the chain). Prints the read and assembly times and the answer size; exit 1 if a read chunk does not match the tree (the answer would be a fault).");
  if (f === null) return 0;
  if (f.dir === undefined) throw new UsageError('--dir DIR is required');
  const epochSeed = hexFlag(f['epoch-seed'], 'epoch-seed');
  const epoch = intFlag(f.epoch, 'epoch', 0);
  const validator = intFlag(f.validator, 'validator', 0, 2 ** 32 - 1);
  const k = intFlag(f.k, 'k', 1, 256);
  const r = openReplica(f.dir);
  try {
    const challenge = deriveChallenge(r.manifest.chainId, epochSeed, epoch, validator, r.root, r.chunks, { k, popSamples: 0, popWindow: 1 });
    const res = proveChallenge(r, { validator, challenge });
    const lat = [...res.readLatenciesMs].sort((a, b) => a - b);
    console.log(`challenge (epoch ${epoch}, validator ${validator}): chunks ${challenge.chunks.join(', ')}`);
    console.log(`reads: ${lat.length} positioned reads in ${res.readMs.toFixed(3)} ms (per read: median ${lat[lat.length >> 1]!.toFixed(3)} ms, max ${lat[lat.length - 1]!.toFixed(3)} ms)`);
    console.log(`assemble: ${res.assembleMs.toFixed(3)} ms; answer body ${res.bodyBytes.length} B (+ ~70 B signature and envelope)`);
    if (res.badChunks.length > 0) {
      console.log(`BAD: chunks ${ranges(res.badChunks)} do not match the stored tree; this answer would count as a wrong fault (restore or re-init the replica)`);
      return 1;
    }
    console.log('ok: every read chunk matches the stored tree');
    return 0;
  } finally {
    r.close();
  }
}

async function check(argv: string[]): Promise<number> {
  const f = parseCommandFlags(argv, CHECK_FLAGS, 'numchain poc check --dir DIR', 'Open the replica (manifest, file sizes, tree checksum and root), then read every chunk and compare it with its leaf in the stored tree. Exit 0 if all match, 1 if any does not (or the replica does not open).');
  if (f === null) return 0;
  if (f.dir === undefined) throw new UsageError('--dir DIR is required');
  const r = openReplica(f.dir);
  try {
    console.log(`replica ${f.dir}: ${r.chunks} chunks × ${r.chunkBytes} B, root ${r.manifest.root}`);
    const c = await checkReplica(r, progressPrinter('checking'));
    const mib = (r.chunks * r.chunkBytes) / MiB;
    console.log(`read ${c.checked} chunks in ${(c.ms / 1000).toFixed(2)} s (${(mib / (c.ms / 1000)).toFixed(1)} MiB/s)`);
    if (c.bad.length > 0) {
      console.log(`BAD: ${c.bad.length} chunks do not match the tree: ${ranges(c.bad)}`);
      return 1;
    }
    console.log('ok: every chunk matches the tree');
    return 0;
  } finally {
    r.close();
  }
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { init, prove, check };

export const command: Command = {
  summary: 'proof-of-capacity replica: `poc init` builds it on disk, `poc prove` answers a challenge, `poc check` scrubs it',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      console.log(OVERVIEW);
      return sub === undefined ? 2 : 0;
    }
    const run = SUBCOMMANDS[sub];
    if (run === undefined) throw new UsageError(`unknown subcommand "${sub}" (init, prove or check)`);
    // The encoding and the checks are SHA-256 bound; node:crypto is ~6× the JS implementation.
    useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });
    return run(rest);
  },
};
