// Worker thread for VerifyPool (src/host/verify-pool.ts): answers "does the fast path accept this
// signature?" for batches. Plain JavaScript so it loads without the TypeScript loader. Its answer
// is only ever used as "valid"; a `false` sends the signature to the ZIP-215 slow path on the main
// thread, exactly as the in-thread fast path does (src/crypto/fast-verify-node.ts).
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function pickVerifier() {
  try {
    const sodium = require('sodium-native');
    return (pk, msg, sig) => sodium.crypto_sign_verify_detached(sig, msg, pk);
  } catch {
    return (pk, msg, sig) => {
      try {
        const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
        return nodeVerify(null, msg, key, sig);
      } catch {
        return false;
      }
    };
  }
}

const verify = pickVerifier();
// Lower this thread's priority only (Linux keeps nice per thread; pid 0 means the calling thread).
// Best effort: where the OS refuses, the thread runs at the caller's priority.
if (workerData?.nice) {
  try {
    setPriority(0, workerData.nice);
  } catch {
    /* not permitted here */
  }
}

// Tell the pool this thread's kernel id (Linux: /proc/thread-self links to "<pid>/task/<tid>"), so
// the node can report the CPU time spent verifying (src/metrics/thread-cpu.ts).
function threadId() {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}
parentPort.postMessage({ tid: threadId() });

// A job is one transferred buffer (layout in verify-pool.ts, packBatch): `count` items of a 32-byte
// public key and a 64-byte signature, then the messages back to back, item i ending at ends[i].
parentPort.on('message', (job) => {
  // Fault tests (VerifyPool.injectFaultForTest): die, or hang for a while, as a broken worker does.
  if (typeof job.exit === 'number') process.exit(job.exit);
  if (typeof job.stallMs === 'number') return void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.stallMs);
  const { id, count, buf } = job;
  const bytes = new Uint8Array(buf);
  const ends = new Uint32Array(buf, 0, count);
  const fixed = 4 * count;
  const msgs = fixed + 96 * count;
  const out = new Uint8Array(count);
  for (let i = 0, start = msgs; i < count; i++) {
    const k = fixed + 96 * i;
    const end = msgs + ends[i];
    try {
      out[i] = verify(bytes.subarray(k, k + 32), bytes.subarray(start, end), bytes.subarray(k + 32, k + 96)) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
    start = end;
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
