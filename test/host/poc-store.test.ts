// The PoC replica on disk (src/host/poc-store.ts): build → open → prove → verifyAnswer passes; a
// truncated, deleted or damaged replica fails to open with a typed error, or yields an answer every
// node counts as a `wrong` fault; no manifest exists until the replica is complete.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/crypto/sha256.ts';
import { deriveChallenge, popPairs } from '../../src/poc/challenge.ts';
import { maxAnswerBytes } from '../../src/poc/params.ts';
import { verifyAnswer } from '../../src/poc/verify.ts';
import { decodeAnswer, wireLimits } from '../../src/poc/wire.ts';
import { buildReplicaFile, checkReplica, MANIFEST_FILE, openReplica, proveChallenge, REPLICA_FILE, ReplicaError, TREE_FILE, treeBytes, type ReplicaParams } from '../../src/host/poc-store.ts';
import { blocks, CHAIN, context, keys, makeReplica, P, popItem, ROW_VALUES, sign } from '../poc/fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'numchain-poc-store-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const CHUNKS = 512;
const params: ReplicaParams = { chainId: CHAIN, publicKey: keys[0]!.publicKey, commitNonce: 3, chunks: CHUNKS, chunkBytes: P.chunkBytes, encodeRounds: P.encodeRounds };
const LIM = wireLimits(P, 256, ROW_VALUES, maxAnswerBytes(P, 256, ROW_VALUES));
let n = 0;
const fresh = (): string => join(root, `r${n++}`);

async function built(): Promise<{ dir: string; rootHash: Uint8Array }> {
  const dir = fresh();
  return { dir, rootHash: await buildReplicaFile(dir, params, { progressEvery: 100 }) };
}

/** The replica's answer in epoch e, signed by validator 0, and the verdict every node reaches on it. */
function proveAndVerify(dir: string, epoch = 2) {
  const r = openReplica(dir);
  try {
    const commitment = { root: r.root, chunks: r.chunks, commitNonce: params.commitNonce };
    const ctx = context({ commitments: [commitment], epoch });
    const challenge = deriveChallenge(CHAIN, ctx.epochSeed, epoch, 0, r.root, r.chunks, P);
    const pairs = popPairs(challenge, ctx.epochStart, P.popWindow, (h) => blocks.get(h)?.txCount ?? 0);
    const res = proveChallenge(r, { validator: 0, challenge, pairs, popItem });
    return { res, challenge, verdict: verifyAnswer(decodeAnswer(sign(res.answer, 0), LIM), ctx) };
  } finally {
    r.close();
  }
}

function expectError(f: () => unknown, code: string, msg: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, ReplicaError);
    assert.is((e as ReplicaError).code, code, (e as Error).message);
    assert.match((e as Error).message, msg);
    return;
  }
  assert.unreachable(`expected ReplicaError ${code}`);
}

test('build writes data, tree and manifest; the root is the pure layer’s; progress is reported', async () => {
  const dir = fresh();
  const seen: number[] = [];
  const rootHash = await buildReplicaFile(dir, params, { progressEvery: 100, onProgress: (p) => seen.push(p.done) });
  assert.equal(seen, [100, 200, 300, 400, 500, 512]);
  assert.is(toHex(rootHash), toHex(makeReplica(0, CHUNKS, 3).root), 'same root as ReplicaBuilder in memory');
  assert.equal(readdirSync(dir).sort(), [REPLICA_FILE, MANIFEST_FILE, TREE_FILE].sort(), 'no temp files left');
  const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  assert.is(m.root, toHex(rootHash));
  assert.is(m.replicaBytes, CHUNKS * P.chunkBytes);
  assert.is(m.treeBytes, treeBytes(CHUNKS));
  const r = openReplica(dir);
  try {
    const mem = makeReplica(0, CHUNKS, 3);
    for (const i of [0, 1, 255, 511]) assert.equal(r.readChunk(i), mem.chunks[i], `chunk ${i}`);
    assert.equal(await checkReplica(r).then((c) => [c.checked, c.bad]), [CHUNKS, []]);
  } finally {
    r.close();
  }
  try {
    await buildReplicaFile(dir, params);
    assert.unreachable('an existing replica is not replaced without force');
  } catch (e) {
    assert.is((e as ReplicaError).code, 'exists');
  }
});

test('round trip: the answer from disk verifies on time, with PoP items, over several epochs', async () => {
  const { dir } = await built();
  for (let e = 2; e < 6; e++) {
    const { res, verdict, challenge } = proveAndVerify(dir, e);
    assert.equal(verdict, { kind: 'ontime' }, `epoch ${e}`);
    assert.equal(res.badChunks, []);
    assert.is(res.answer.pop.length, P.popSamples);
    const distinct = new Set(challenge.chunks.flatMap((c) => [c - 1, c])).size;
    assert.is(res.readLatenciesMs.length, distinct, 'one positioned read per distinct chunk');
    assert.ok(res.readMs >= 0 && res.assembleMs >= 0 && res.bodyBytes.length > P.k * 2 * P.chunkBytes);
  }
});

test('zeroed chunks: the prover sees them, and every node counts the signed answer as a wrong fault', async () => {
  const { dir } = await built();
  // zero the upper half of the replica on disk
  const fd = openSync(join(dir, REPLICA_FILE), 'r+');
  writeSync(fd, new Uint8Array((CHUNKS / 2) * P.chunkBytes), 0, (CHUNKS / 2) * P.chunkBytes, (CHUNKS / 2) * P.chunkBytes);
  closeSync(fd);
  // it still opens (sizes and tree are intact); the damage is in the data
  let hit = 0;
  for (let e = 2; e < 8; e++) {
    const { res, verdict, challenge } = proveAndVerify(dir, e);
    const touched = challenge.chunks.some((c) => c >= CHUNKS / 2 || c - 1 >= CHUNKS / 2);
    if (!touched) {
      assert.equal(verdict, { kind: 'ontime' });
      continue;
    }
    hit++;
    assert.is(verdict.kind, 'wrong', JSON.stringify(verdict));
    assert.ok(verdict.kind === 'wrong' && verdict.fault === 'chunk_path');
    assert.ok(res.badChunks.length > 0 && res.badChunks.every((i) => i >= CHUNKS / 2), `${res.badChunks}`);
  }
  assert.ok(hit > 0, 'some epoch challenged the zeroed half');
  const r = openReplica(dir);
  try {
    const c = await checkReplica(r);
    assert.is(c.bad.length, CHUNKS / 2);
    assert.is(c.bad[0], CHUNKS / 2);
  } finally {
    r.close();
  }
});

test('truncated, deleted or damaged files fail to open with a typed error naming the file', async () => {
  const { dir } = await built();
  const data = join(dir, REPLICA_FILE);
  truncateSync(data, CHUNKS * P.chunkBytes - 1);
  expectError(() => openReplica(dir), 'wrong_size', /replica\.bin is \d+ bytes, the manifest says \d+ \(truncated\)/);
  rmSync(data);
  expectError(() => openReplica(dir), 'missing', /replica\.bin is missing/);

  const b = await built();
  rmSync(join(b.dir, TREE_FILE));
  expectError(() => openReplica(b.dir), 'missing', /replica\.tree is missing/);

  const c = await built();
  const tree = new Uint8Array(readFileSync(join(c.dir, TREE_FILE)));
  tree[100]! ^= 1;
  writeFileSync(join(c.dir, TREE_FILE), tree);
  expectError(() => openReplica(c.dir), 'manifest_mismatch', /treeSha256/);

  const d = await built();
  const m = JSON.parse(readFileSync(join(d.dir, MANIFEST_FILE), 'utf8'));
  writeFileSync(join(d.dir, MANIFEST_FILE), JSON.stringify({ ...m, chunks: 511 }));
  expectError(() => openReplica(d.dir), 'bad_manifest', /replicaBytes/);
  writeFileSync(join(d.dir, MANIFEST_FILE), '{not json');
  expectError(() => openReplica(d.dir), 'bad_manifest', /not JSON/);
  rmSync(join(d.dir, MANIFEST_FILE));
  expectError(() => openReplica(d.dir), 'missing', /no complete replica/);
});

test('a file truncated after opening: the read fails with short_read, no answer is made', async () => {
  const { dir } = await built();
  const r = openReplica(dir);
  try {
    truncateSync(join(dir, REPLICA_FILE), P.chunkBytes);
    expectError(() => r.readChunk(CHUNKS - 1), 'short_read', /truncated after it was opened/);
  } finally {
    r.close();
  }
});

test('crash safety: no replica.json until the replica is complete; an aborted build leaves no files', async () => {
  const dir = fresh();
  let sawManifest = false;
  try {
    await buildReplicaFile(dir, params, {
      progressEvery: 64,
      onProgress: (p) => {
        sawManifest ||= existsSync(join(dir, MANIFEST_FILE));
        if (p.done >= 256) throw new Error('power cut');
      },
    });
    assert.unreachable('the build was aborted');
  } catch (e) {
    assert.is((e as Error).message, 'power cut');
  }
  assert.not.ok(sawManifest, 'no manifest while building');
  assert.not.ok(existsSync(join(dir, MANIFEST_FILE)));
  assert.equal(readdirSync(dir), [], 'temp files removed');
  expectError(() => openReplica(dir), 'missing', /no complete replica/);
  // a forced rebuild over a complete replica removes the old manifest before anything else
  const { dir: d2 } = await built();
  try {
    await buildReplicaFile(d2, params, { force: true, progressEvery: 64, onProgress: () => { throw new Error('crash'); } });
  } catch {
    /* expected */
  }
  expectError(() => openReplica(d2), 'missing', /no complete replica/);
});

test('bad parameters are refused before anything is written', async () => {
  const dir = fresh();
  for (const bad of [{ chunks: 1 }, { chunkBytes: 33 }, { encodeRounds: 0 }, { publicKey: new Uint8Array(31) }]) {
    try {
      await buildReplicaFile(dir, { ...params, ...bad });
      assert.unreachable(JSON.stringify(Object.keys(bad)));
    } catch (e) {
      assert.is((e as ReplicaError).code, 'bad_params');
    }
  }
  assert.not.ok(existsSync(dir));
});

test.run();
