// kill -9 in the middle of a flood, then restart on the same data directory: nothing a client was
// told is committed may be lost, changed or applied twice.
// Debug knobs: NUMCHAIN_LOG_LEVEL=debug, NUMCHAIN_KEEP_TMP=1 (keep the data dir), NUMCHAIN_REPORT_DIR=dir
// (the node runs with --report-on-signal; a diagnostic report is taken if commits stall after restart).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlockFollower, stopAllFollowers, TxSource } from '../helpers/load.ts';
import { createLocalnet, killAllNodes, NodeProcess, sleep, waitFor, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;
let node: NodeProcess;
let sending = false;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
  // snapshots on, so recovery uses snapshot + replay rather than replay from genesis
  node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0), snapshotEvery: 20, logLevel: process.env.NUMCHAIN_LOG_LEVEL as 'debug' | undefined, nodeArgs: process.env.NUMCHAIN_REPORT_DIR ? ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${process.env.NUMCHAIN_REPORT_DIR}`] : [] });
  await node.start();
});

test.after(async () => {
  sending = false;
  await stopAllFollowers();
  await killAllNodes();
  await net?.cleanup();
});

test('kill -9 during a flood: committed blocks, roots and receipts survive; no tx is applied twice', () =>
  withNodeLogs([node], async () => {
    const client = node.client;
    const params = await client.params();
    const source = new TxSource(params, { senders: 16 });
    const follower = new BlockFollower(client, 1);

    // Flood: batches of 200 from 16 senders, two requests in flight, until ≥ 3,000 commits are seen.
    sending = true;
    let sent = 0;
    const bytesOf = new Map<string, Uint8Array>();
    const sender = async (): Promise<void> => {
      while (sending) {
        const h = follower.height;
        try {
          const txs = source.batch(200, h + 500);
          for (const t of txs) bytesOf.set(t.txid, t.bytes);
          await client.submitBatch(txs.map((t) => t.bytes));
          sent += 200;
        } catch {
          if (sending) await sleep(20);
        }
      }
    };
    const senders = [sender(), sender()];
    await waitFor('3,000 committed transactions', () => follower.receipts.size >= 3000, 40_000);
    await node.kill9(); // batches still in flight
    sending = false;
    await Promise.all(senders);
    await follower.stop();

    // The height the node had = the highest block it served (GET /block serves fsynced blocks only;
    // /health reports the in-memory commit height, which can be one block ahead of the disk).
    const preHeight = follower.height;
    const committed = new Map(follower.receipts);
    assert.equal(follower.duplicates, [], 'no txid in two blocks before the kill');
    assert.ok(sent > committed.size, 'the kill happened with transactions still pending');

    // Restart on the same directory.
    const health = await node.start();
    assert.ok(health.height >= preHeight, `recovered height ${health.height} ≥ pre-kill height ${preHeight}`);
    assert.match(node.log, /recovered height=\d+ snapshot=\d+ replayed=\d+/);
    const c2 = node.client;

    // Every block a client saw before the kill is unchanged: same hash and state root.
    for (const [h, root] of follower.roots) {
      const b = await c2.block(h);
      assert.ok(b, `block ${h} still served`);
      assert.is(b!.stateRoot, root, `state root at height ${h}`);
      assert.is(b!.hash, follower.hashes.get(h), `block hash at height ${h}`);
    }
    assert.is(follower.roots.size, follower.height, 'the follower saw every height 1..its last');

    // Every receipt a client saw is still there, at the same place.
    for (const [txid, r] of committed) {
      const now = await c2.receipt(txid);
      assert.ok(now, `receipt for ${txid} after restart`);
      assert.is(now!.height, r.height, `height of ${txid}`);
      assert.is(now!.index, r.index, `index of ${txid}`);
      assert.is(now!.status, r.status);
    }

    // Resubmitting committed transactions is refused as a replay, not applied again.
    const sample = [...committed.keys()].slice(0, 20).map((id) => bytesOf.get(id)!);
    const replay = await c2.submitBatch(sample);
    assert.is(replay.accepted, 0, 'no committed transaction is admitted again');
    for (const r of replay.results) {
      assert.is(r.accepted, false);
      if (!r.accepted) {
        assert.is(r.status, 409, `replay refused with 409, got ${r.status} ${r.code}`);
        assert.ok(['replayed', 'duplicate'].includes(r.code), r.code);
      }
    }

    // The chain goes on after the restart, and no txid ever appears in two blocks.
    const more = source.batch(50, health.height + 500);
    const res = await c2.submitBatch(more.map((t) => t.bytes));
    assert.is(res.accepted, 50);
    const after = new BlockFollower(c2, 1);
    await waitFor('the new transactions to commit', () => more.every((t) => after.receipts.has(t.txid)), 20_000).catch(async (e) => {
      if (process.env.NUMCHAIN_REPORT_DIR) {
        process.kill(node.pid!, 'SIGUSR2');
        await sleep(1000);
      }
      const m = (await c2.metricsText()).split('\n').filter((l) => /^numchain_(mempool|consensus_events|signature)/.test(l) && !/ 0$/.test(l));
      throw new Error(`${(e as Error).message}; follower at ${after.height}, committed ${more.filter((t) => after.receipts.has(t.txid)).length}/50; health ${JSON.stringify(await c2.health())}\n${m.join('\n')}`);
    });
    await after.stop();
    assert.equal(after.duplicates, [], 'no txid committed twice across the restart');
    for (const [txid, r] of committed) assert.is(after.receipts.get(txid)?.height, r.height);
  }));

test.run();
