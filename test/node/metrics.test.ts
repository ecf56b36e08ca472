// The /metrics a Prometheus server scrapes from a real validator: `promtool check metrics` (Debian
// package prometheus) passes on it, before and after traffic, and the series a dashboard needs are
// there, every one labelled with the chain id. (test/metrics/prometheus.test.ts scrapes a localnet
// with the real server.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { testClientKey } from '../../src/rpc/test-keys.ts';
import { createLocalnet, killAllNodes, NodeProcess, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;
let node: NodeProcess;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
  node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0) });
  await node.start();
});

test.after(async () => {
  await killAllNodes();
  await net?.cleanup();
});

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool (Debian package prometheus) is needed for this test: ${r.error.message}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

test('promtool check metrics passes on a running node’s /metrics, before and after a transaction', () =>
  withNodeLogs([node], async () => {
    const before = await node.client.metricsText();
    let r = promtool(before);
    assert.is(r.status, 0, r.out);
    for (const name of ['numchain_consensus_height', 'numchain_mempool_size', 'numchain_mempool_tx_rejected_total', 'numchain_tx_submit_to_commit_seconds_bucket', 'numchain_store_fsync_seconds_bucket', 'numchain_p2p_peers', 'numchain_process_cpu_seconds_total', 'numchain_process_resident_memory_bytes', 'numchain_rpc_requests_rejected_total', 'numchain_consensus_validators', 'numchain_consensus_validators_power', 'numchain_consensus_missing_validators', 'numchain_consensus_byzantine_validators', 'numchain_consensus_block_interval_seconds_bucket', 'numchain_consensus_block_size_bytes', 'numchain_consensus_validator_power', 'numchain_consensus_validator_missed_blocks_total']) {
      assert.ok(before.includes(name), `${name} is exported from the start`);
    }
    // Every sample carries chain_id (CometBFT's label).
    const samples = before.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const unlabelled = samples.filter((l) => !l.includes('chain_id="numchain-test"'));
    assert.equal(unlabelled.slice(0, 3), [], 'samples without chain_id');
    assert.match(before, /numchain_consensus_validators\{chain_id="numchain-test"\} 1\n/);
    assert.match(before, /numchain_consensus_validator_power\{validator="0",name="v0",chain_id="numchain-test"\} \d+/);
    const client = node.client;
    const dim = (await client.params()).ma.dim;
    const tx = await client.buildAndSign({ op: 'add', shard: 0, layer: 0, slot: 0, vec: new Array<number>(dim).fill(1) }, testClientKey(3).secretKey);
    await client.submitAndWait(tx, { waitMs: 20_000 });
    const after = await client.metricsText();
    r = promtool(after);
    assert.is(r.status, 0, r.out);
    assert.match(after, /numchain_tx_submit_to_commit_seconds_count\{chain_id="numchain-test"\} [1-9]/);
    assert.match(after, /numchain_mempool_tx_accepted_total\{chain_id="numchain-test"\} [1-9]/);
    assert.match(after, /numchain_consensus_block_size_bytes\{chain_id="numchain-test"\} [1-9]/);
    if (existsSync('/proc/self/task')) {
      // CPU by thread (Linux): the main thread has at least started the node; every role is a series.
      assert.match(after, /numchain_thread_cpu_seconds_total\{thread="consensus",chain_id="numchain-test"\} (0\.0[1-9]|0\.[1-9]|[1-9])/);
      for (const t of ['verify', 'other']) assert.ok(after.includes(`numchain_thread_cpu_seconds_total{thread="${t}",`), t);
    }
  }));

test.run();
