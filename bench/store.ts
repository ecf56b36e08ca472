// Store benchmarks: prints numbers, asserts nothing. Run: node --import tsx bench/store.ts
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockLog } from '../src/store/block-log.ts';
import type { LogRecord } from '../src/util/log-record.ts';
import { SnapshotStore } from '../src/store/snapshot.ts';
import { SafetyStore } from '../src/store/safety-store.ts';
import { silentStoreLogger } from '../src/store/logger.ts';

const quiet = { logger: silentStoreLogger };
const root = await mkdtemp(join(tmpdir(), 'numchain-bench-store-'));
const ms = (t0: number): number => performance.now() - t0;
const fmt = (n: number, d = 1): string => n.toFixed(d);

function smallRecord(h: number): LogRecord {
  return { h, block: Buffer.alloc(120, h & 0xff).toString('base64'), cert: 'Y2VydA==', receipts: [0], root: (h % 256).toString(16).padStart(2, '0').repeat(32) };
}

/** A block carrying `txs` transactions of ~150 bytes each, as the node would log it. */
function blockRecord(h: number, txs: number): LogRecord {
  return {
    h,
    block: Buffer.alloc(150 * txs + 200, h & 0xff).toString('base64'),
    cert: Buffer.alloc(4 * 64 + 40, 1).toString('base64'),
    receipts: Array.from({ length: txs }, (_, i) => [i, 0]),
    root: 'ab'.repeat(32),
  };
}

try {
  console.log('# store bench (disk under', tmpdir() + ')');

  // 1. append + fsync throughput, sequential callers, by batch size
  for (const batch of [1, 16, 128]) {
    const log = await BlockLog.open(join(root, `tp-${batch}.log`), quiet);
    const total = batch === 1 ? 500 : 4000;
    let h = 1;
    const t0 = performance.now();
    while (h <= total) {
      const recs: LogRecord[] = [];
      for (let i = 0; i < batch; i++) recs.push(smallRecord(h++));
      await log.appendAndSync(recs);
    }
    const t = ms(t0);
    console.log(`append+fsync batch=${batch}: ${fmt((total / t) * 1000, 0)} records/s, ${fmt(t / log.stats().syncs, 3)} ms per fsync'd batch`);
    await log.close();
  }

  // 2. group commit: many concurrent single-record appendAndSync callers
  {
    const log = await BlockLog.open(join(root, 'group.log'), quiet);
    const total = 4000;
    const t0 = performance.now();
    const ps: Promise<void>[] = [];
    for (let h = 1; h <= total; h++) {
      ps.push(log.appendAndSync([smallRecord(h)]));
      if (ps.length === 64) await Promise.all(ps.splice(0));
    }
    await Promise.all(ps);
    const t = ms(t0);
    console.log(`group commit, 64 concurrent callers: ${fmt((total / t) * 1000, 0)} records/s, ${log.stats().syncs} fsyncs for ${total} records`);
    await log.close();
  }

  // 3. open/scan of 100,000 small records, reads, replay
  for (const [name, n, make] of [
    ['100,000 small records', 100_000, smallRecord],
    ['1,000 blocks x 100 txs (100,000 txs)', 1_000, (h: number) => blockRecord(h, 100)],
    ['10,000 blocks x 10 txs (100,000 txs)', 10_000, (h: number) => blockRecord(h, 10)],
  ] as const) {
    const path = join(root, `scan-${n}.log`);
    const w = await BlockLog.open(path, quiet);
    const t0 = performance.now();
    for (let h = 1; h <= n; h += 1000) {
      const recs: LogRecord[] = [];
      for (let k = h; k < h + 1000 && k <= n; k++) recs.push(make(k));
      await w.append(recs);
    }
    await w.sync();
    const tWrite = ms(t0);
    await w.close();
    const size = (await stat(path)).size;
    const t1 = performance.now();
    const log = await BlockLog.open(path, quiet);
    const tOpen = ms(t1);
    const t2 = performance.now();
    let count = 0;
    for await (const _ of log.readRange(1)) count++;
    const tRange = ms(t2);
    const reads = 2000;
    const t3 = performance.now();
    for (let i = 0; i < reads; i++) await log.read(1 + ((i * 7919) % n));
    const tRead = ms(t3);
    console.log(
      `${name}: ${fmt(size / 1048576)} MiB, write ${fmt(tWrite, 0)} ms; open+scan ${fmt(tOpen, 1)} ms; ` +
        `readRange all ${fmt(tRange, 0)} ms (${count} records); random read ${fmt((tRead / reads) * 1000, 1)} µs`,
    );
    await log.close();
  }

  // 4. snapshots: 512 KiB tensor + 256 KiB app state
  {
    const store = await SnapshotStore.open(join(root, 'snapshots'), { ...quiet, keep: 3 });
    const tensor = new Uint8Array(512 * 1024).map((_, i) => i & 0xff);
    const app = new Uint8Array(256 * 1024).fill(3);
    const consensus = new Uint8Array(4096).fill(5);
    const writes: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const t0 = performance.now();
      await store.write(i * 100, { tensor, app, consensus });
      writes.push(ms(t0));
    }
    const loads: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await store.latestValid();
      loads.push(ms(t0));
    }
    writes.sort((a, b) => a - b);
    loads.sort((a, b) => a - b);
    console.log(`snapshot 772 KiB: write+fsync+rename median ${fmt(writes[5]!, 2)} ms; latestValid (read+verify) median ${fmt(loads[10]!, 2)} ms`);
  }

  // 5. safety state save latency
  {
    const store = new SafetyStore(join(root, 'safety.bin'));
    const lat: number[] = [];
    const state = new Uint8Array(64).fill(1);
    for (let i = 0; i < 200; i++) {
      state[0] = i & 0xff;
      const t0 = performance.now();
      await store.save(state);
      lat.push(ms(t0));
    }
    lat.sort((a, b) => a - b);
    console.log(`safety save (64 B, one pwrite + fdatasync into the other slot): p50 ${fmt(lat[100]!, 3)} ms, p99 ${fmt(lat[198]!, 3)} ms`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
