// The light verifier's speed, measured the same way wherever it runs (Node, or bundled into a page
// for Chromium and Firefox): replaying certified blocks (QC check + re-execution + roots), with the
// Web Crypto fast path the dashboard uses and with ZIP-215 in JS alone, and QC verifications per
// second both ways. Portable: no node:* imports.
import { decodeCanonical } from '../../src/codec/canonical.ts';
import { qcFromCanon } from '../../src/consensus/block.ts';
import { toHex } from '../../src/crypto/sha256.ts';
import { LightClient } from '../../src/light/light-client.ts';
import type { AsyncFastVerifier } from '../../src/light/webcrypto-ed25519.ts';
import type { GenesisJson, RawBlockJson } from '../../src/rpc/api.ts';
import { fromBase64 } from '../../src/util/base64.ts';

export interface LightBenchInput {
  readonly genesis: GenesisJson;
  readonly records: readonly RawBlockJson[];
  /** state root after the last record */
  readonly finalRoot: string;
  /** blocks replayed with ZIP-215 in JS alone (it is slow) */
  readonly zip215Blocks: number;
  /** how long each QC measurement runs */
  readonly qcMs: number;
}

export interface Rate {
  readonly blocks?: number;
  readonly txs?: number;
  readonly count?: number;
  readonly ms: number;
}

export interface LightBenchResult {
  readonly fastPath: string | null;
  readonly replayFast: Rate | null;
  readonly replayZip215: Rate;
  readonly qcFast: Rate | null;
  readonly qcZip215: Rate;
}

async function replay(input: LightBenchInput, wasm: Uint8Array, fast: AsyncFastVerifier | null, blocks: number): Promise<Rate> {
  const c = await LightClient.create(input.genesis, wasm, { fast });
  const list = input.records.slice(0, blocks);
  const t0 = performance.now();
  for (const r of list) await c.applyBlock(r);
  const ms = performance.now() - t0;
  if (blocks === input.records.length && toHex(c.tip.stateRoot) !== input.finalRoot) throw new Error(`replay ended at root ${toHex(c.tip.stateRoot)}, expected ${input.finalRoot}`);
  return { blocks: list.length, txs: c.stats.txs, ms };
}

async function qcs(input: LightBenchInput, wasm: Uint8Array, fast: AsyncFastVerifier | null): Promise<Rate> {
  const c = await LightClient.create(input.genesis, wasm, { fast });
  const list = input.records.map((r) => qcFromCanon(decodeCanonical(fromBase64(r.qc)), 'qc'));
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < input.qcMs) {
    await c.verifyQc(list[n % list.length]!);
    n++;
  }
  return { count: n, ms: performance.now() - t0 };
}

export async function runLightBench(input: LightBenchInput, wasm: Uint8Array, fast: AsyncFastVerifier | null): Promise<LightBenchResult> {
  return {
    fastPath: fast?.name ?? null,
    replayFast: fast ? await replay(input, wasm, fast, input.records.length) : null,
    replayZip215: await replay(input, wasm, null, input.zip215Blocks),
    qcFast: fast ? await qcs(input, wasm, fast) : null,
    qcZip215: await qcs(input, wasm, null),
  };
}
