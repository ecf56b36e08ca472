// The /metrics output a Prometheus server scrapes: every series present at 0 from the start, and
// clean under `promtool check metrics` (Debian package prometheus).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { NodeMetrics } from '../../src/metrics/metrics.ts';

const opts = { rejectReasons: ['bad_signature', 'duplicate', 'mempool_full'], messageTypes: ['PROPOSAL', 'VOTE', 'TXGOSSIP'] };

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool (Debian package prometheus) is needed for this test: ${r.error.message}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

test('every labelled series exists at 0 before anything happened', async () => {
  const m = new NodeMetrics(opts);
  const text = await m.text();
  for (const r of opts.rejectReasons) assert.match(text, `numchain_mempool_tx_rejected_total{reason="${r}"} 0`);
  for (const t of opts.messageTypes) assert.match(text, `numchain_p2p_message_send_bytes_total{message_type="${t}"} 0`);
  assert.match(text, /\nnumchain_consensus_height 0\n/);
  assert.match(text, /numchain_tx_submit_to_commit_seconds_count 0/);
  assert.match(text, /numchain_process_resident_memory_bytes \d+/);
  assert.match(text, /numchain_process_cpu_seconds_total \d/);
});

test('promtool check metrics passes on the real output, before and after traffic', async () => {
  const m = new NodeMetrics(opts);
  let r = promtool(await m.text());
  assert.is(r.status, 0, r.out);
  m.height.set(42);
  m.txRejected.labels('duplicate').inc(3);
  m.submitToCommitSeconds.observe(0.2);
  m.p2pSentBytes.labels('VOTE').inc(1234);
  r = promtool(await m.text());
  assert.is(r.status, 0, r.out);
  // The lint is real: a gauge named like a counter fails it.
  const bad = '# HELP x_total bad\n# TYPE x_total gauge\nx_total 1\n';
  assert.is.not(promtool(bad).status, 0);
});

test('chain_id on every series, the validator series from the start; promtool passes', async () => {
  const m = new NodeMetrics(opts);
  m.setChainId('chain-7');
  m.setValidators([{ name: 'alice', power: 100 }, { name: 'bob', power: 50 }]);
  m.blockInterval.observe(0.12);
  m.blockSizeBytes.set(4096);
  m.validatorMissedBlocks.inc(m.validatorLabel(1));
  const text = await m.text();
  const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.equal(samples.filter((l) => !l.includes('chain_id="chain-7"')).slice(0, 3), []);
  assert.match(text, 'numchain_consensus_validators{chain_id="chain-7"} 2');
  assert.match(text, 'numchain_consensus_validators_power{chain_id="chain-7"} 150');
  assert.match(text, 'numchain_consensus_validator_power{validator="1",name="bob",chain_id="chain-7"} 50');
  assert.match(text, 'numchain_consensus_validator_missed_blocks_total{validator="0",name="alice",chain_id="chain-7"} 0');
  assert.match(text, 'numchain_consensus_validator_missed_blocks_total{validator="1",name="bob",chain_id="chain-7"} 1');
  assert.match(text, 'numchain_consensus_block_interval_seconds_count{chain_id="chain-7"} 1');
  const r = promtool(text);
  assert.is(r.status, 0, r.out);
});

test('mirrored counters follow the source module and never go backwards', async () => {
  const m = new NodeMetrics({ ...opts, defaultMetrics: false });
  const stats: Record<string, number> = { ok: 0, dropped: 0 };
  m.mirrorCounter('test_events_total', 'Test events.', 'kind', ['ok', 'dropped'], () => stats);
  assert.match(await m.text(), 'numchain_test_events_total{kind="dropped"} 0');
  stats.ok = 5;
  stats.dropped = 2;
  let text = await m.text();
  assert.match(text, 'numchain_test_events_total{kind="ok"} 5');
  assert.match(text, 'numchain_test_events_total{kind="dropped"} 2');
  stats.ok = 7;
  text = await m.text();
  assert.match(text, 'numchain_test_events_total{kind="ok"} 7');
});

test.run();
