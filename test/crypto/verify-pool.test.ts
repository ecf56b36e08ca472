// The worker pool's answers are a fast path: "true" only for signatures that really verify, and the
// pool never changes which transactions a node admits (a "false" goes to ZIP-215 on the main thread).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keypairFromSeed, signEd25519, verifyZip215 } from '../../src/crypto/ed25519.ts';
import { VerifyPool } from '../../src/crypto/verify-pool.ts';

test('valid signatures say true, tampered ones false, order preserved across workers', async () => {
  const pool = new VerifyPool(2);
  try {
    const items = Array.from({ length: 200 }, (_, i) => {
      const kp = keypairFromSeed(new Uint8Array(32).fill(i + 1));
      const message = new TextEncoder().encode(`tx ${i}`);
      const signature = signEd25519(message, kp.secretKey);
      if (i % 7 === 3) signature[10] ^= 1;
      return { publicKey: kp.publicKey, message, signature };
    });
    const got = await pool.verify(items);
    assert.ok(got !== null);
    assert.equal(got, items.map((x) => verifyZip215(x.publicKey, x.message, x.signature)));
    assert.equal(await pool.verify([]), []);
  } finally {
    await pool.close();
  }
});

test('a key or signature of the wrong length is answered false in place; messages of any length, empty included', async () => {
  const pool = new VerifyPool(2);
  try {
    const items = Array.from({ length: 80 }, (_, i) => {
      const kp = keypairFromSeed(new Uint8Array(32).fill(i + 1));
      const message = new Uint8Array(i % 5 === 0 ? 0 : i * 13).fill(i);
      const signature = signEd25519(message, kp.secretKey);
      if (i === 7) return { publicKey: kp.publicKey.subarray(0, 31), message, signature };
      if (i === 41) return { publicKey: kp.publicKey, message, signature: new Uint8Array([...signature, 0]) };
      return { publicKey: kp.publicKey, message, signature };
    });
    const got = await pool.verify(items);
    assert.equal(got, items.map((_, i) => i !== 7 && i !== 41));
  } finally {
    await pool.close();
  }
});

test('a closed pool answers null (the caller verifies inline)', async () => {
  const pool = new VerifyPool(1);
  await pool.close();
  const kp = keypairFromSeed(new Uint8Array(32).fill(9));
  const m = new Uint8Array([1]);
  assert.is(await pool.verify([{ publicKey: kp.publicKey, message: m, signature: signEd25519(m, kp.secretKey) }]), null);
});

/** nice value of each thread of this process (Linux /proc), by thread id */
function threadNice(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      out.set(Number(t), Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

test('nice lowers the workers\' priority only, not the calling thread\'s', async () => {
  if (!existsSync('/proc/self/task')) return; // per-thread nice is a Linux property
  const before = threadNice();
  const pool = new VerifyPool(2, { nice: 7 });
  try {
    const kp = keypairFromSeed(new Uint8Array(32).fill(3));
    const m = new Uint8Array([1, 2]);
    // One answered batch per worker: both have started and run their start-up code.
    assert.equal(await pool.verify(Array.from({ length: 64 }, () => ({ publicKey: kp.publicKey, message: m, signature: signEd25519(m, kp.secretKey) }))), new Array(64).fill(true));
    const after = threadNice();
    assert.is(after.get(process.pid), before.get(process.pid), 'the main thread keeps its priority');
    const niced = [...after].filter(([tid, n]) => !before.has(tid) && n === 7);
    assert.is(niced.length, 2, `two new threads at nice 7, got ${JSON.stringify([...after])}`);
  } finally {
    await pool.close();
  }
});

test.run();
