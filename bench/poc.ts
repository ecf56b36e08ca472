// PoC disk benchmark (issue 21; docs/poc-pop.md "Why cheating costs more than complying"): build a
// replica of --mib MiB on disk (encoding MiB/s), then over --epochs challenge windows with random
// seeds: the 2k positioned reads (latency per read p50/p99, ms per window), answer assembly, answer
// bytes, verification per answer; against a cheater who regenerates a challenged chunk from scratch.
// Run: nice -n 10 node --import tsx bench/poc.ts [--mib 256] (the issue's "several GiB": --mib 4096).
// The page cache is dropped before every window when this runs as root (/proc/sys/vm/drop_caches);
// otherwise the reads are said to be warm.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags, formatHelp } from '../src/cli/args.ts';
import { nodeSha256, nodeSha256Hex, nodeSha256Into } from '../src/crypto/fast-verify-node.ts';
import { useSha256 } from '../src/crypto/sha256.ts';
import { buildReplicaFile, openReplica, proveChallenge } from '../src/host/poc-store.ts';
import { deriveChallenge, popPairs } from '../src/poc/challenge.ts';
import { DEFAULT_POC_PARAMS, maxAnswerBytes, type PocParams } from '../src/poc/params.ts';
import { replicaChunk, replicaSeed } from '../src/poc/replica.ts';
import { verifyAnswer } from '../src/poc/verify.ts';
import { decodeAnswer, encodeSigned, wireLimits } from '../src/poc/wire.ts';
import { signEd25519 } from '../src/crypto/ed25519.ts';
import { blocks, CHAIN, context, keys, popItem, ROW_VALUES } from '../test/poc/fixture.ts';
import { jsonLine, sig, table } from './lib/report.ts';

const FLAGS = {
  mib: { type: 'number', help: 'replica size in MiB (the issue’s several-GiB run: 4096)', default: 256 },
  epochs: { type: 'number', help: 'challenge windows to measure', default: 200 },
  'chunk-bytes': { type: 'number', help: 'chunk size', default: DEFAULT_POC_PARAMS.chunkBytes },
  rounds: { type: 'number', help: 'encodeRounds', default: DEFAULT_POC_PARAMS.encodeRounds },
  k: { type: 'number', help: 'chunks challenged per window', default: DEFAULT_POC_PARAMS.k },
  pop: { type: 'boolean', help: 'include the test fixture’s PoP items (popSamples 2) in answers and verification' },
  'block-ms': { type: 'number', help: 'block interval for the deadline (D × this)', default: 80 },
  'deadline-blocks': { type: 'number', help: 'D, blocks from epoch start to the answer deadline', default: DEFAULT_POC_PARAMS.deadlineBlocks },
  'regen-chunks': { type: 'number', help: 'cheater: regenerate this many chunks and extrapolate to the median index (default: the whole median index, measured)' },
  warm: { type: 'boolean', help: 'do not drop the page cache before the windows' },
  dir: { type: 'string', help: 'parent directory of the replica (default: the OS temp dir); removed afterwards' },
  keep: { type: 'boolean', help: 'keep the replica directory' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const f = parseFlags(process.argv.slice(2), FLAGS);
if (f.help) {
  console.log(formatHelp('node --import tsx bench/poc.ts [--mib 256] [--epochs 200] [--pop]', 'PoC disk benchmark: replica encoding, honest answers from disk (cold reads), verification, and the cheater’s regeneration.', FLAGS));
  process.exit(0);
}
useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });

const MiB = 2 ** 20;
const chunkBytes = f['chunk-bytes'];
const chunks = Math.floor((f.mib * MiB) / chunkBytes);
const P: PocParams = { ...DEFAULT_POC_PARAMS, chunkBytes, encodeRounds: f.rounds, k: f.k, minChunks: 2, maxChunks: Math.max(chunks, DEFAULT_POC_PARAMS.maxChunks), popSamples: f.pop ? 2 : 0 };
const deadlineMs = f['deadline-blocks'] * f['block-ms'];
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Drop clean page-cache pages (root only), so the next reads come from the disk. */
function dropCaches(): boolean {
  if (f.warm) return false;
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

const parent = mkdtempSync(join(f.dir ?? tmpdir(), 'numchain-bench-poc-'));
const dir = join(parent, 'replica');
try {
  const publicKey = keys[0]!.publicKey;
  console.log(`# PoC disk bench: ${chunks} chunks × ${chunkBytes} B = ${((chunks * chunkBytes) / MiB).toFixed(0)} MiB in ${dir}; k ${P.k}, rounds ${P.encodeRounds}, PoP ${P.popSamples}; node:crypto SHA-256`);
  const t0 = performance.now();
  const root = await buildReplicaFile(dir, { chainId: CHAIN, publicKey, commitNonce: 0, chunks, chunkBytes, encodeRounds: P.encodeRounds }, { progressEvery: Math.max(1, chunks >> 3), onProgress: (p) => console.log(`  encoded ${p.done}/${p.chunks}`) });
  const buildS = (performance.now() - t0) / 1000;
  const encodeMiBs = (chunks * chunkBytes) / MiB / buildS;
  const tChunkMs = (buildS * 1000) / chunks;
  console.log(`built in ${buildS.toFixed(1)} s: ${encodeMiBs.toFixed(2)} MiB/s, ${tChunkMs.toFixed(3)} ms a chunk (encode + leaf hash + write)`);

  const commitment = { root, chunks, commitNonce: 0 };
  const lim = wireLimits(P, 256, ROW_VALUES, maxAnswerBytes(P, 256, ROW_VALUES));
  const readLat: number[] = [];
  const windowRead: number[] = [];
  const assemble: number[] = [];
  const answerMs: number[] = [];
  const signMs: number[] = [];
  const verifyMs: number[] = [];
  let answerBytes = 0;
  let cold = 0;
  const r = openReplica(dir);
  try {
    // Window −1 warms the JIT and Ed25519's tables and is not counted: a running node has both warm.
    for (let w = -1; w < f.epochs; w++) {
      // PoP items exist for the fixture's epochs 2..7 only; without PoP any epoch number does.
      const epoch = f.pop ? 2 + ((w + 6) % 6) : 3 + w;
      const ctx = { ...context({ commitments: [commitment], epoch }), params: P, epochSeed: new Uint8Array(randomBytes(32)) };
      const challenge = deriveChallenge(CHAIN, ctx.epochSeed, epoch, 0, root, chunks, P);
      const pairs = P.popSamples === 0 ? [] : popPairs(challenge, ctx.epochStart, P.popWindow, (h) => blocks.get(h)?.txCount ?? 0);
      if (dropCaches() && w >= 0) cold++;
      const res = proveChallenge(r, { validator: 0, challenge, pairs, popItem });
      if (res.badChunks.length > 0) throw new Error(`window ${w}: chunks ${res.badChunks} do not match the tree`);
      const s0 = performance.now();
      const wire = encodeSigned(res.bodyBytes, signEd25519(res.bodyBytes, keys[0]!.secretKey));
      const signed = performance.now() - s0;
      const v0 = performance.now();
      const v = verifyAnswer(decodeAnswer(wire, lim), ctx);
      const verified = performance.now() - v0;
      if (v.kind !== 'ontime') throw new Error(`window ${w}: the honest answer did not verify: ${JSON.stringify(v)}`);
      if (w < 0) continue;
      signMs.push(signed);
      verifyMs.push(verified);
      readLat.push(...res.readLatenciesMs);
      windowRead.push(res.readMs);
      assemble.push(res.assembleMs);
      answerMs.push(res.readMs + res.assembleMs + signed);
      answerBytes = Math.max(answerBytes, wire.length);
    }
  } finally {
    r.close();
  }

  // The cheater without the replica: chunk c needs chunks 0..c−1 first, strictly in sequence.
  const median = chunks >> 1;
  const regenN = Math.min(median, f['regen-chunks'] ?? median);
  const seed = replicaSeed(CHAIN, publicKey, 0);
  const g0 = performance.now();
  replicaChunk(seed, regenN - 1, chunkBytes, P.encodeRounds);
  const regenMeasuredMs = performance.now() - g0;
  const regenMs = (regenMeasuredMs * (median + 1)) / regenN;
  const regenChunkMs = regenMeasuredMs / regenN;

  const honestP50 = quantile(answerMs, 0.5);
  const honestP99 = quantile(answerMs, 0.99);
  const checkpointEvery = Math.floor(deadlineMs / regenChunkMs);
  const cache = cold === f.epochs ? 'dropped before every window (cold reads)' : cold === 0 ? 'WARM (page cache not dropped: not root, or --warm)' : `dropped before ${cold} of ${f.epochs} windows`;
  console.log(`\npage cache: ${cache}`);
  console.log(
    table(
      ['measure', 'p50', 'p99', 'max'],
      [
        ['read one chunk (pread)', ...[0.5, 0.99, 1].map((q) => `${quantile(readLat, q).toFixed(3)} ms`)],
        [`reads per window (${(readLat.length / f.epochs).toFixed(1)} chunks)`, ...[0.5, 0.99, 1].map((q) => `${quantile(windowRead, q).toFixed(2)} ms`)],
        ['assemble (paths, body)', ...[0.5, 0.99, 1].map((q) => `${quantile(assemble, q).toFixed(2)} ms`)],
        ['sign (Ed25519, JS)', ...[0.5, 0.99, 1].map((q) => `${quantile(signMs, q).toFixed(2)} ms`)],
        ['honest answer (read+assemble+sign)', ...[0.5, 0.99, 1].map((q) => `${quantile(answerMs, q).toFixed(2)} ms`)],
        ['verify answer (decode+verify)', ...[0.5, 0.99, 1].map((q) => `${quantile(verifyMs, q).toFixed(2)} ms`)],
      ],
    ),
  );
  console.log(`answer: ${answerBytes} B signed (k ${P.k}, PoP ${P.popSamples})`);
  console.log(`deadline: ${f['deadline-blocks']} blocks × ${f['block-ms']} ms = ${deadlineMs} ms; honest answer p99 / deadline = ${(honestP99 / deadlineMs).toExponential(2)}`);
  console.log(
    `cheater: regenerating chunk ${median} (the median index) from scratch ${regenN === median ? 'took' : `(measured ${regenN} chunks, extrapolated) takes`} ${(regenMs / 1000).toFixed(1)} s` +
      ` = ${(regenMs / honestP50).toExponential(2)} × the honest answer (p50), ${(regenMs / deadlineMs).toFixed(1)} × the deadline`,
  );
  console.log(`cheater with checkpoints: one every m > ${checkpointEvery} chunks misses the deadline (${(regenChunkMs * 1000).toFixed(0)} µs a chunk), so it keeps ≥ ${Math.ceil(chunks / checkpointEvery)} of ${chunks} chunks and regenerates up to ${checkpointEvery} chunks per challenge`);
  console.log(
    jsonLine('poc', {
      mib: f.mib,
      chunks,
      chunkBytes,
      rounds: P.encodeRounds,
      k: P.k,
      popSamples: P.popSamples,
      epochs: f.epochs,
      cold: cold === f.epochs,
      encodeMiBs: sig(encodeMiBs),
      tChunkMs: sig(tChunkMs),
      readP50Ms: sig(quantile(readLat, 0.5)),
      readP99Ms: sig(quantile(readLat, 0.99)),
      windowReadP50Ms: sig(quantile(windowRead, 0.5)),
      windowReadP99Ms: sig(quantile(windowRead, 0.99)),
      assembleP50Ms: sig(quantile(assemble, 0.5)),
      signP50Ms: sig(quantile(signMs, 0.5)),
      answerP50Ms: sig(honestP50),
      answerP99Ms: sig(honestP99),
      answerBytes,
      verifyP50Ms: sig(quantile(verifyMs, 0.5)),
      verifyP99Ms: sig(quantile(verifyMs, 0.99)),
      deadlineMs,
      answerP99OverDeadline: sig(honestP99 / deadlineMs),
      regenMedianMs: sig(regenMs),
      regenMeasured: regenN === median,
      regenOverHonest: sig(regenMs / honestP50),
    }),
  );
} finally {
  if (!f.keep) rmSync(parent, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
