// CPU accounting by thread (Linux /proc): work on the main thread shows up as consensus, signature
// checks on the worker pool as verify, and neither leaks into the other.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keypairFromSeed, signEd25519 } from '../../src/crypto/ed25519.ts';
import { VerifyPool } from '../../src/host/verify-pool.ts';
import { threadCpuReader, threadCpuSeconds } from '../../src/metrics/thread-cpu.ts';

const linux = existsSync('/proc/self/task');

test('off Linux there is no reader; on Linux a thread that does not exist reads as null', () => {
  const read = threadCpuReader(() => []);
  if (!linux) {
    assert.is(read, null);
    return;
  }
  assert.ok(read !== null);
  assert.is(threadCpuSeconds(2 ** 31 - 1), null);
  assert.ok((threadCpuSeconds(process.pid) ?? -1) >= 0);
});

test('main-thread work is counted as consensus, pool work as verify', async () => {
  if (!linux) return;
  const pool = new VerifyPool(2);
  try {
    const kp = keypairFromSeed(new Uint8Array(32).fill(5));
    const message = new TextEncoder().encode('thread cpu');
    const item = { publicKey: kp.publicKey, message, signature: signEd25519(message, kp.secretKey) };
    assert.equal(await pool.verify([item, item]), [true, true]); // both workers have reported their ids
    const read = threadCpuReader(() => pool.threadIds)!;

    // Busy on the main thread until its own counter moved by 0.3 s.
    const a = read();
    const start = threadCpuSeconds(process.pid)!;
    let x = 0;
    while (threadCpuSeconds(process.pid)! - start < 0.3) for (let i = 0; i < 1e5; i++) x = (x * 31 + i) | 0;
    const b = read();
    assert.ok(b.consensus - a.consensus >= 0.29, `consensus +${b.consensus - a.consensus}`);
    assert.ok(b.verify - a.verify <= 0.02, `verify +${b.verify - a.verify} while the workers were idle`);

    // 20,000 verifications on the pool: at least 0.1 s of worker CPU on any machine this runs on.
    const said = await pool.verify(new Array(20_000).fill(item));
    assert.ok(said !== null && said.every((v) => v));
    const c = read();
    assert.ok(c.verify - b.verify >= 0.1, `verify +${c.verify - b.verify}`);
    assert.ok(c.verify - b.verify > c.consensus - b.consensus, 'the workers did the verifying');
    assert.is(pool.threadIds.length, 2);
    assert.ok(!pool.threadIds.includes(process.pid));
  } finally {
    await pool.close();
  }
});

test.run();
