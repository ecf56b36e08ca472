// Free loopback ports for a localnet. Genesis numbers validator i's ports base + i, so a localnet
// needs two contiguous blocks; we probe by binding every port of a candidate block, then release.
import { createServer } from 'node:net';

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** True when every port in [base, base + count) can be bound on `host` right now. */
export async function portsFree(base: number, count: number, host = '127.0.0.1'): Promise<boolean> {
  if (base < 1 || base + count - 1 > 65535) return false;
  for (let p = base; p < base + count; p++) if (!(await canBind(p, host))) return false;
  return true;
}

/**
 * A base port such that [base, base + count) is free. Candidates are random in a range above the
 * usual ephemeral-port floor of Linux (32768–60999 is where the kernel hands out client ports, so
 * we stay below it) to make collisions between concurrent localnets unlikely. A port can still be
 * taken between this probe and the node binding it; callers see that as a node failing to start.
 */
export async function findFreePortBlock(count: number, host = '127.0.0.1', attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const base = 20_000 + Math.floor(Math.random() * (32_000 - 20_000 - count));
    if (await portsFree(base, count, host)) return base;
  }
  throw new Error(`no block of ${count} free ports found on ${host} after ${attempts} attempts`);
}
