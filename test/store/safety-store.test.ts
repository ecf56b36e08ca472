import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetyStore } from '../../src/store/safety-store.ts';
import { StoreError } from '../../src/store/errors.ts';
import { tempDir } from './helpers.ts';

const state = (n: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ lastVotedRound: n, lockedRound: n - 1, highQcRound: n - 1 }));

async function expectCorrupt(store: SafetyStore, path: string): Promise<void> {
  try {
    await store.load();
    assert.unreachable('load must refuse a corrupt safety file');
  } catch (e) {
    assert.instance(e, StoreError);
    assert.is((e as StoreError).code, 'safety_corrupt');
    assert.ok((e as Error).message.includes(path), 'message names the file');
  }
}

test('load is null before the first save, then returns the last saved state', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const path = join(dir, 'safety.bin');
    const store = new SafetyStore(path);
    assert.is(await store.load(), null);
    await store.save(state(1));
    await store.save(state(2));
    assert.equal(await store.load(), state(2));
    assert.equal(await new SafetyStore(path).load(), state(2), 'a new instance (restart) sees it');
  } finally {
    await cleanup();
  }
});

test('concurrent saves land in call order; the caller may reuse its buffer', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const store = new SafetyStore(join(dir, 'safety.bin'));
    const buf = state(5);
    const p = store.save(buf);
    buf.fill(0);
    await Promise.all([p, store.save(state(6)), store.save(state(7))]);
    assert.equal(await store.load(), state(7));
    assert.is(store.saveCount, 3);
  } finally {
    await cleanup();
  }
});

test('a damaged or truncated safety file is an error naming the file, never "no state"', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const path = join(dir, 'safety.bin');
    const store = new SafetyStore(path);
    await store.save(state(9));
    const good = await readFile(path);
    const flipped = Buffer.from(good);
    flipped[18] ^= 0x01;
    await writeFile(path, flipped);
    await expectCorrupt(store, path);
    await writeFile(path, good.subarray(0, good.length - 5));
    await expectCorrupt(store, path);
    await writeFile(path, Buffer.alloc(0));
    await expectCorrupt(store, path);
  } finally {
    await cleanup();
  }
});

test('a torn write of the newest slot falls back to the previous save; both slots damaged is an error', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const path = join(dir, 'safety.bin');
    const store = new SafetyStore(path, { maxStateBytes: 1000 });
    for (let n = 1; n <= 4; n++) await store.save(state(n));
    // Save 4 (sequence 3, the newest) is in slot 1 at 4096; save 3 (sequence 2) is in slot 0.
    const good = await readFile(path);
    const torn = Buffer.from(good);
    torn.fill(0xee, 4096 + 30, 4096 + 60); // a write that stopped halfway
    await writeFile(path, torn);
    assert.equal(await new SafetyStore(path, { maxStateBytes: 1000 }).load(), state(3), 'the slot the torn write did not touch');
    const both = Buffer.from(torn);
    both[30] ^= 0x01;
    await writeFile(path, both);
    await expectCorrupt(new SafetyStore(path, { maxStateBytes: 1000 }), path);
    // Saving after a fallback continues from the surviving sequence number.
    await writeFile(path, torn);
    const again = new SafetyStore(path, { maxStateBytes: 1000 });
    assert.equal(await again.load(), state(3));
    await again.save(state(10));
    assert.equal(await new SafetyStore(path, { maxStateBytes: 1000 }).load(), state(10));
  } finally {
    await cleanup();
  }
});

test('a file in the earlier single-record format (version 1) is read, then replaced slot by slot', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const path = join(dir, 'safety.bin');
    const payload = state(42);
    const head = Buffer.alloc(16);
    Buffer.from('NUMCSAFE', 'latin1').copy(head, 0);
    head.writeUInt32LE(1, 8);
    head.writeUInt32LE(payload.length, 12);
    const body = Buffer.concat([head, payload]);
    await writeFile(path, Buffer.concat([body, createHash('sha256').update(body).digest()]));
    const store = new SafetyStore(path);
    assert.equal(await store.load(), payload);
    await store.save(state(43));
    await store.save(state(44));
    assert.equal(await new SafetyStore(path).load(), state(44));
  } finally {
    await cleanup();
  }
});

test('a temp file from a save that never finished is ignored', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const path = join(dir, 'safety.bin');
    const store = new SafetyStore(path);
    await store.save(state(3));
    await writeFile(`${path}.tmp`, 'partial');
    assert.equal(await store.load(), state(3));
  } finally {
    await cleanup();
  }
});

test('oversized state is refused', async () => {
  const { dir, cleanup } = await tempDir('safety');
  try {
    const store = new SafetyStore(join(dir, 'safety.bin'), { maxStateBytes: 16 });
    try {
      await store.save(new Uint8Array(17));
      assert.unreachable();
    } catch (e) {
      assert.is((e as StoreError).code, 'bad_record');
    }
    assert.is(await store.load(), null);
  } finally {
    await cleanup();
  }
});

test.run();
