// PoC/PoP micro benchmark (docs/poc-pop.md, "Why cheating costs more than complying"): the cost for
// every node of verifying one answer (median µs, default k = 8 at 4 KiB chunks and 4 rounds, PoP
// items included) and the replica encoding rate (MiB/s, one core, strictly sequential) that sets
// t_chunk. Both with the JS SHA-256 (noble: browsers, the simulator) and node:crypto (what a Node
// validator swaps in). Not a test: run `node --import tsx bench/poc-verify.ts [chunks]`.
import { useSha256 } from '../src/crypto/sha256.ts';
import { nodeSha256, nodeSha256Hex, nodeSha256Into } from '../src/crypto/fast-verify-node.ts';
import { DEFAULT_POC_PARAMS, maxAnswerBytes, type PocParams } from '../src/poc/params.ts';
import { deriveChallenge, popPairs } from '../src/poc/challenge.ts';
import { buildAnswer } from '../src/poc/prove.ts';
import { ReplicaBuilder, replicaSeed } from '../src/poc/replica.ts';
import { verifyAnswer } from '../src/poc/verify.ts';
import { decodeAnswer, wireLimits } from '../src/poc/wire.ts';
import { CHAIN, context, keys, popItem, ROW_VALUES, sign, blocks } from '../test/poc/fixture.ts';

const chunks = Number(process.argv[2] ?? 1024);
const P: PocParams = { ...DEFAULT_POC_PARAMS, minChunks: 2 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function run(label: string): void {
  const seed = replicaSeed(CHAIN, keys[0]!.publicKey, 0);
  const b = new ReplicaBuilder(seed, chunks, P.chunkBytes, P.encodeRounds);
  const stored: Uint8Array[] = [];
  const t0 = performance.now();
  for (let i = 0; i < chunks; i++) stored.push(b.next());
  const levels = b.finish();
  const ms = performance.now() - t0;
  const mib = (chunks * P.chunkBytes) / 2 ** 20;
  const root = levels.levels[levels.levels.length - 1]!.slice(0, 32);
  const commitment = { root, chunks, commitNonce: 0 };
  const lim = wireLimits(P, 256, ROW_VALUES, maxAnswerBytes(P, 256, ROW_VALUES));
  const times: number[] = [];
  const decodeTimes: number[] = [];
  let bytes = 0;
  for (let e = 2; e < 7; e++) {
    const ctx = { ...context({ commitments: [commitment], epoch: e }), params: P };
    const challenge = deriveChallenge(CHAIN, ctx.epochSeed, e, 0, root, chunks, P);
    const pairs = popPairs(challenge, ctx.epochStart, P.popWindow, (h) => blocks.get(h)?.txCount ?? 0);
    const wire = sign(buildAnswer({ chainId: CHAIN, validator: 0, challenge, levels, readChunk: (i) => stored[i]!, pairs, popItem }), 0);
    bytes = wire.length;
    for (let r = 0; r < 20; r++) {
      const a = performance.now();
      const dec = decodeAnswer(wire, lim);
      const m = performance.now();
      const v = verifyAnswer(dec, ctx);
      const z = performance.now();
      if (v.kind !== 'ontime') throw new Error(`bench answer did not verify: ${JSON.stringify(v)}`);
      decodeTimes.push((m - a) * 1000);
      times.push((z - a) * 1000);
    }
  }
  console.log(
    `${label.padEnd(12)} encode ${(mib / (ms / 1000)).toFixed(2)} MiB/s (${((ms / chunks) * 1000).toFixed(0)} µs/chunk = t_chunk, ${chunks} chunks)` +
      ` | verify answer (k=${P.k}, pop=${P.popSamples}, ${bytes} B): median ${median(times).toFixed(0)} µs, of which decode ${median(decodeTimes).toFixed(0)} µs`,
  );
}

console.log(`PoC defaults: chunkBytes ${P.chunkBytes}, encodeRounds ${P.encodeRounds}, k ${P.k}, popSamples ${P.popSamples}`);
run('noble');
useSha256(nodeSha256, { hex: nodeSha256Hex, into: nodeSha256Into });
run('node:crypto');
