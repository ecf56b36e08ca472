import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotStore, decodeSnapshot, encodeSnapshot, snapshotFileName } from '../../src/store/snapshot.ts';
import { StoreError } from '../../src/store/errors.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import { captureLogger, tempDir } from './helpers.ts';

function blobsFor(height: number): Record<string, Uint8Array> {
  const tensor = new Uint8Array(512 * 1024);
  for (let i = 0; i < tensor.length; i++) tensor[i] = (i * 31 + height) & 0xff;
  return { tensor, app: new TextEncoder().encode(`app state at ${height}`), consensus: new Uint8Array([height & 0xff, 1, 2]), empty: new Uint8Array(0) };
}

function assertBlobs(got: Record<string, Uint8Array>, want: Record<string, Uint8Array>): void {
  assert.equal(Object.keys(got), Object.keys(want));
  for (const k of Object.keys(want)) assert.ok(Buffer.from(got[k]!).equals(Buffer.from(want[k]!)), `blob ${k} differs`);
}

test('write then latestValid returns the newest snapshot byte for byte', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const store = await SnapshotStore.open(join(dir, 'snapshots'), { logger: silentStoreLogger });
    assert.is(await store.latestValid(), null);
    await store.write(100, blobsFor(100));
    await store.write(200, blobsFor(200));
    const snap = await store.latestValid();
    assert.ok(snap);
    assert.is(snap!.height, 200);
    assertBlobs(snap!.blobs, blobsFor(200));
    assertBlobs((await store.load(100)).blobs, blobsFor(100));
    assert.equal(await store.heights(), [100, 200]);
  } finally {
    await cleanup();
  }
});

test('a caller reusing its buffer after write() does not corrupt the snapshot', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const store = await SnapshotStore.open(dir, { logger: silentStoreLogger });
    const tensor = new Uint8Array(1024).fill(7);
    const p = store.write(5, { tensor });
    tensor.fill(9);
    await p;
    assert.ok((await store.load(5)).blobs.tensor!.every((b) => b === 7));
  } finally {
    await cleanup();
  }
});

test('a handed-over write gives the same file as a copied one', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const copied = await SnapshotStore.open(join(dir, 'a'), { logger: silentStoreLogger });
    const handed = await SnapshotStore.open(join(dir, 'b'), { logger: silentStoreLogger });
    await copied.write(300, blobsFor(300));
    await handed.write(300, blobsFor(300), { handOver: true });
    const name = snapshotFileName(300);
    assert.ok((await readFile(join(dir, 'a', name))).equals(await readFile(join(dir, 'b', name))));
    assertBlobs((await handed.load(300)).blobs, blobsFor(300));
  } finally {
    await cleanup();
  }
});

test('a corrupt or truncated newest snapshot is skipped with a warning', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const cap = captureLogger();
    const store = await SnapshotStore.open(dir, { logger: cap.logger, keep: 5 });
    await store.write(10, blobsFor(10));
    await store.write(20, blobsFor(20));
    await store.write(30, blobsFor(30));
    const p30 = join(dir, snapshotFileName(30));
    const bytes = await readFile(p30);
    bytes[1000] ^= 0x40;
    await writeFile(p30, bytes);
    const p20 = join(dir, snapshotFileName(20));
    await writeFile(p20, (await readFile(p20)).subarray(0, 5000));

    const snap = await store.latestValid();
    assert.is(snap?.height, 10);
    assertBlobs(snap!.blobs, blobsFor(10));
    assert.is(cap.warnings.length, 2);
    assert.is(cap.warnings[0]!.data?.height, 30);
    assert.is(store.stats().skippedCorrupt, 2);
    try {
      await store.load(30);
      assert.unreachable('load of a corrupt snapshot must throw');
    } catch (e) {
      assert.instance(e, StoreError);
      assert.is((e as StoreError).code, 'snapshot_corrupt');
      assert.match((e as Error).message, /snap-30\.bin/);
    }
  } finally {
    await cleanup();
  }
});

test('all snapshots corrupt gives null (replay from genesis), not a crash', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const store = await SnapshotStore.open(dir, { logger: silentStoreLogger });
    await store.write(1, blobsFor(1));
    await writeFile(join(dir, snapshotFileName(1)), Buffer.from('garbage'));
    assert.is(await store.latestValid(), null);
  } finally {
    await cleanup();
  }
});

test('a snapshot file renamed to another height does not verify', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const store = await SnapshotStore.open(dir, { logger: silentStoreLogger });
    await store.write(7, blobsFor(7));
    await rename(join(dir, snapshotFileName(7)), join(dir, snapshotFileName(8)));
    assert.is(await store.latestValid(), null);
  } finally {
    await cleanup();
  }
});

test('only the newest K snapshots are kept, and crash leftovers are removed at open', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    await writeFile(join(dir, 'snap-99.bin.tmp'), 'half written');
    const store = await SnapshotStore.open(dir, { logger: silentStoreLogger, keep: 2 });
    for (const h of [5, 10, 15, 20, 25]) await store.write(h, { s: new Uint8Array([h]) });
    assert.equal((await readdir(dir)).sort(), ['snap-20.bin', 'snap-25.bin']);
    assert.is(store.stats().pruned, 3);
    // rewriting an existing height replaces it
    await store.write(25, { s: new Uint8Array([42]) });
    assert.equal([...(await store.load(25)).blobs.s!], [42]);
  } finally {
    await cleanup();
  }
});

test('bad input is rejected with typed errors; decode rejects trailing bytes', async () => {
  const { dir, cleanup } = await tempDir('snap');
  try {
    const store = await SnapshotStore.open(dir, { logger: silentStoreLogger });
    for (const [h, blobs] of [
      [-1, {}],
      [1.5, {}],
      [1, { 'bad/name': new Uint8Array(1) }],
      [1, { ok: [1, 2, 3] as unknown as Uint8Array }],
    ] as const) {
      try {
        await store.write(h, blobs);
        assert.unreachable(`write(${h}) must fail`);
      } catch (e) {
        assert.is((e as StoreError).code, 'bad_snapshot_input');
      }
    }
    const bytes = Buffer.concat(encodeSnapshot(3, { a: new Uint8Array([1]) }));
    assert.is(decodeSnapshot(bytes).height, 3);
    const padded = Buffer.concat([bytes.subarray(0, bytes.length - 32), Buffer.from([0])]);
    const { createHash } = await import('node:crypto');
    const forged = Buffer.concat([padded, createHash('sha256').update(padded).digest()]);
    assert.throws(() => decodeSnapshot(forged), /unexpected bytes/);
  } finally {
    await cleanup();
  }
});

test.run();
