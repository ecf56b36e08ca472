// The worker pool's answers are a fast path: "true" only for signatures that really verify, and the
// pool never changes which transactions a node admits (a "false" goes to ZIP-215 on the main thread).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keypairFromSeed, signEd25519, verifyZip215 } from '../../src/crypto/ed25519.ts';
import { VerifyPool, type SigItem } from '../../src/host/verify-pool.ts';

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

/** `n` signed items, every fifth one tampered, with the answers ZIP-215 gives. */
function signedItems(n: number, seed: number): { items: SigItem[]; want: boolean[] } {
  const items = Array.from({ length: n }, (_, i) => {
    const kp = keypairFromSeed(new Uint8Array(32).fill((seed * 31 + i) % 251 + 1));
    const message = new TextEncoder().encode(`job ${seed} item ${i}`);
    const signature = signEd25519(message, kp.secretKey);
    if (i % 5 === 2) signature[3] ^= 1;
    return { publicKey: kp.publicKey, message, signature };
  });
  return { items, want: items.map((x) => verifyZip215(x.publicKey, x.message, x.signature)) };
}

test('workers that die under a stream of jobs are replaced; every job is answered, right or null', async () => {
  // A long job bound, so only the exit handling (not the timeout) can answer the dead workers' jobs.
  const pool = new VerifyPool(2, { jobTimeoutMs: 600_000 });
  try {
    const batches = Array.from({ length: 12 }, (_, b) => signedItems(64, b));
    // Both workers have started (a worker that dies before starting is not restarted).
    assert.equal(await pool.verify(batches[0]!.items), batches[0]!.want);
    const answers: Promise<boolean[] | null>[] = [];
    for (let b = 0; b < batches.length; b++) {
      answers.push(pool.verify(batches[b]!.items)); // 64 items: one job on each worker
      // Worker 0 exits from inside with jobs queued behind the exit; worker 1 is killed from outside.
      if (b === 3) pool.injectFaultForTest(0, { kind: 'exit' });
      if (b === 7) pool.injectFaultForTest(1, { kind: 'terminate' });
    }
    const got = await Promise.all(answers);
    got.forEach((g, b) => {
      if (g !== null) assert.equal(g, batches[b]!.want, `batch ${b}: a non-null answer is the right one`);
    });
    assert.ok(got.some((g) => g === null), 'the jobs queued behind the exit were answered null');
    assert.is(pool.counters.workersReplaced, 2);
    assert.ok(pool.counters.jobsFailed >= 1, `jobs failed: ${pool.counters.jobsFailed}`);
    assert.is(pool.counters.jobsTimedOut, 0);
    assert.is(pool.pending, 0);
    // The replacements do the work from now on.
    assert.is(pool.size, 2);
    for (const b of batches.slice(0, 3)) assert.equal(await pool.verify(b.items), b.want);
  } finally {
    await pool.close();
  }
});

test('a job not answered within jobTimeoutMs is answered null; the late answer is dropped and the pool goes on', async () => {
  const pool = new VerifyPool(1, { jobTimeoutMs: 50 });
  try {
    const { items, want } = signedItems(8, 1);
    /** verify until an answer comes (each try ends within the bound), up to `tries` times */
    const answered = async (tries: number): Promise<boolean[] | null> => {
      let got: boolean[] | null = null;
      for (let i = 0; i < tries && got === null; i++) got = await pool.verify(items);
      return got;
    };
    // A worker's start-up (loading libsodium) can itself take longer than this short bound.
    assert.equal(await answered(200), want);
    const before = pool.counters.jobsTimedOut;
    // The worker hangs for 20 × the bound before it reaches the next job.
    pool.injectFaultForTest(0, { kind: 'stall', ms: 1000 });
    assert.is(await pool.verify(items), null);
    assert.is(pool.counters.jobsTimedOut, before + 1);
    assert.is(pool.pending, 0);
    // Once it is back, answers are right again (the late ones changed nothing).
    assert.equal(await answered(200), want);
    assert.is(pool.counters.workersReplaced, 0);
  } finally {
    await pool.close();
  }
});

test.run();
