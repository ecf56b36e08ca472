// HTTP API overhead per transaction: how many txs/s the RPC layer itself can hand to a node, for
// single POST /tx (JSON and binary) and POST /txs batches. The node behind it accepts everything
// without decoding, so this measures HTTP + body reading + envelope parsing only (in one process,
// client and server sharing the CPU). Bounded: each case runs ~1.5 s.
// Run: node --import tsx bench/rpc.ts
import { txToJson } from '../src/chain/tx.ts';
import { DEFAULT_MA_PARAMS } from '../src/engine/types.ts';
import type { NodeApi } from '../src/rpc/api.ts';
import { NumchainClient } from '../src/rpc/client.ts';
import { nodeSigner, signTxFast } from '../src/rpc/node-signer.ts';
import { startRpcServer } from '../src/rpc/server.ts';
import { testClientSeed } from '../src/rpc/test-keys.ts';
import { buildTx } from '../src/chain/tx.ts';
import { fmtRate, sig, table } from './lib/report.ts';

const RUN_MS = Number(process.env.BENCH_RPC_MS ?? 1500);
const CONCURRENCY = 8;

let submitted = 0;
const api: NodeApi = {
  submit: () => ({ accepted: true, txid: (submitted++).toString(16).padStart(64, '0') }),
  health: () => ({ chainId: 'bench', nodeIndex: 0, height: 1, stateRoot: '', lastBlockTime: null, syncing: false, peers: 0, validators: 1, version: 'bench', engineSha256: '' }),
  params: () => ({ chainId: 'bench', ma: { ...DEFAULT_MA_PARAMS }, bound: 8192, txWindow: 1000, maxTxBytes: 4096, maxBatch: 1000 }),
  block: async () => null,
  waitBlock: async () => null,
  receipt: () => null,
  waitReceipt: async () => null,
  state: () => {
    throw new Error('unused');
  },
  evidence: () => ({}),
  metricsText: async () => '',
  metricsContentType: 'text/plain',
};

const signer = nodeSigner(testClientSeed(1));
const vec = Array.from({ length: DEFAULT_MA_PARAMS.dim }, (_, i) => (i % 7) - 3);
const txs = Array.from({ length: 1000 }, (_, n) => signTxFast({ chainId: 'bench', nonce: n, validUntil: 100, op: { op: 'add', shard: 0, layer: 0, slot: 0, vec } }, signer).bytes);
const json = JSON.stringify(txToJson(buildTx({ chainId: 'bench', nonce: 1, validUntil: 100, op: { op: 'add', shard: 0, layer: 0, slot: 0, vec } }, testClientSeed(1))));

async function measure(send: () => Promise<number>): Promise<number> {
  const end = Date.now() + RUN_MS;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      // Not `n += await send()`: that reads n before the await, so concurrent loops overwrite each
      // other's counts (it reported about one loop's worth of the total).
      while (Date.now() < end) {
        const k = await send();
        n += k;
      }
    }),
  );
  return (n * 1000) / (performance.now() - t0);
}

const srv = await startRpcServer(api, { rate: null });
const client = new NumchainClient(srv.url);
const rows: [string, number][] = [];
try {
  rows.push(['POST /tx json (1 tx/request)', await measure(async () => (await client.submit(JSON.parse(json)), 1))]);
  rows.push(['POST /tx binary (1 tx/request)', await measure(async () => (await client.submit(txs[0]!), 1))]);
  for (const b of [10, 100, 1000]) {
    const batch = txs.slice(0, b);
    rows.push([`POST /txs binary (${b} tx/request)`, await measure(async () => (await client.submitBatch(batch)).accepted)]);
  }
} finally {
  await srv.close();
}
console.log(table(['case', 'txs/s'], rows.map(([c, r]) => [c, fmtRate(r)])));
console.log(JSON.stringify({ bench: 'rpc', runMs: RUN_MS, concurrency: CONCURRENCY, txsPerSecond: Object.fromEntries(rows.map(([c, r]) => [c, sig(r)])) }));
