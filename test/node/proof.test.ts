// A real validator process: a submitted transaction commits, and the row it touched can be read back
// with a Merkle proof that verifies against the state root of a committed block.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rowLeafHash, verifyRowProof } from '../../src/engine/proof.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
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

test('submit → committed receipt → GET /state proof verifies against a committed block root', () =>
  withNodeLogs([node], async () => {
    const client = node.client;
    const target = { shard: 1, layer: 2, slot: 3 };
    const dim = (await client.params()).ma.dim;
    const tx = await client.buildAndSign({ op: 'add', ...target, vec: new Array<number>(dim).fill(100) }, testClientKey(1).secretKey);
    const receipt = await client.submitAndWait(tx, { waitMs: 20_000 });
    assert.is(receipt.status, 'applied');
    assert.is(receipt.txid, tx.txidHex);
    assert.ok(receipt.height >= 1);

    // The receipt's block holds the transaction at the receipt's index.
    const block = await client.block(receipt.height);
    assert.ok(block, `block ${receipt.height} is served`);
    assert.is(block!.txids[receipt.index as number], tx.txidHex);

    // Read the row verified (proof → the root it came with), then check that root is the root of
    // the committed block at the height it was read at, which is the receipt's height or later.
    const st = await client.verifiedState(target);
    assert.is(st.verified, true);
    assert.ok(st.height >= receipt.height, `state height ${st.height} ≥ receipt height ${receipt.height}`);
    const atHeight = await client.block(st.height);
    assert.is(st.stateRoot, atHeight!.stateRoot, 'GET /state root is the root of the block at its height');

    const proof = { ...st, values: Int32Array.from(st.values), path: st.path.map((h) => fromHex(h, 'path', 32)) };
    assert.ok(verifyRowProof(proof, fromHex(atHeight!.stateRoot, 'root', 32)), 'verifyRowProof accepts the served proof');
    // Nothing else touched the row: it holds what the add wrote, and its leaf is the receipt's leaf.
    assert.ok(st.values.every((v) => v !== 0), 'the add changed every element of the row');
    if (typeof receipt.leaf === 'string') assert.is(toHex(rowLeafHash(Int32Array.from(st.values))), receipt.leaf);

    // The check can fail: a changed value or a root from another block does not verify.
    const forged = Int32Array.from(st.values);
    forged[0]! += 1;
    assert.not.ok(verifyRowProof({ ...proof, values: forged }, fromHex(atHeight!.stateRoot, 'root', 32)));
    const before = await client.block(receipt.height - 1);
    if (before && before.stateRoot !== atHeight!.stateRoot) assert.not.ok(verifyRowProof(proof, fromHex(before.stateRoot, 'root', 32)));
  }));

test.run();
