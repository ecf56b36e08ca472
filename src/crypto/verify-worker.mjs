// Worker thread for VerifyPool (src/crypto/verify-pool.ts): answers "does the fast path accept this
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

parentPort.on('message', (job) => {
  const { id, publicKeys, messages, signatures } = job;
  const out = new Uint8Array(publicKeys.length);
  for (let i = 0; i < out.length; i++) {
    try {
      out[i] = verify(publicKeys[i], messages[i], signatures[i]) ? 1 : 0;
    } catch {
      out[i] = 0;
    }
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
