// Property tests of the block log reader (src/store/block-log.ts) over random corruptions and
// truncations: opening either keeps a prefix of the records, exactly as written, and leaves a log
// that takes the next append, or refuses with StoreError (log_corrupt, height_gap, height_repeat);
// a file damaged after open reads back right or throws StoreError log_corrupt. Nothing else is
// ever thrown. Files live in /dev/shm when there is one, so 100,000 cases do not wear a disk.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { test } from 'uvu';
import { BlockLog, type BlockLogOptions } from '../../src/store/block-log.ts';
import { StoreError } from '../../src/store/errors.ts';
import { silentStoreLogger } from '../../src/store/logger.ts';
import { expectTyped, fuzz, mutate, mutationArb, type Mutation } from './fuzz.ts';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'numchain-fuzz-log-'));
const path = join(dir, 'blocks.log');

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Record bodies: JSON objects of a few fields (integer-like keys included: JSON puts them before "h"). */
const bodyArb = fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('1', '07', 'txs', 'hash')), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((d) => {
  const { h: _h, ...rest } = d;
  return rest;
});

const optionsArb: fc.Arbitrary<BlockLogOptions> = fc.record({
  maxLineBytes: fc.oneof(fc.constant(16 << 20), fc.integer({ min: 64, max: 2048 })),
  scanChunkBytes: fc.oneof(fc.constant(4 << 20), fc.integer({ min: 1, max: 512 })),
  rangeBatchBytes: fc.integer({ min: 1, max: 4096 }),
  cacheEntries: fc.integer({ min: 1, max: 4 }),
});

/** A damage to the file: the generic byte edits, or what a crash or a bad disk typically leaves. */
type Damage = Mutation | { readonly kind: 'repeat-line'; readonly at: number } | { readonly kind: 'zero-tail'; readonly count: number } | { readonly kind: 'garbage-tail'; readonly bytes: Uint8Array };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { arbitrary: mutationArb, weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('repeat-line' as const), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('zero-tail' as const), count: fc.integer({ min: 1, max: 300 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('garbage-tail' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 60 }) }), weight: 1 },
);

function damage(file: Uint8Array, edits: readonly Damage[]): Uint8Array {
  let b = file;
  for (const d of edits) {
    if (d.kind === 'repeat-line') {
      const lines = Buffer.from(b).toString('latin1').split(/(?<=\n)/);
      if (lines.length > 0) lines.splice(d.at % lines.length, 0, lines[d.at % lines.length]!);
      b = Uint8Array.from(Buffer.from(lines.join(''), 'latin1'));
    } else if (d.kind === 'zero-tail') {
      b = Uint8Array.from([...b, ...new Uint8Array(d.count)]);
    } else if (d.kind === 'garbage-tail') {
      b = Uint8Array.from([...b, ...d.bytes]);
    } else {
      b = mutate(b, [d]);
    }
  }
  return b;
}

/**
 * A log file holding `bodies` as heights 1..n, in the line format src/store/log-line.ts documents (checked
 * against the writer by the first property: the log must take an append and reopen clean). Returns
 * each record's JSON text. Written directly: the writer's own open, append and close would double
 * the time of a case.
 */
function writeLog(bodies: readonly Record<string, unknown>[]): string[] {
  const texts = bodies.map((b, i) => JSON.stringify({ h: i + 1, ...b }));
  const lines = texts.map((t) => {
    const json = Buffer.from(t, 'utf8');
    return Buffer.concat([Buffer.from(`${(crc32(json) >>> 0).toString(16).padStart(8, '0')} `, 'latin1'), json, Buffer.from('\n')]);
  });
  writeFileSync(path, Buffer.concat(lines));
  return texts;
}

const OPEN_REFUSALS = new Set(['log_corrupt', 'height_gap', 'height_repeat']);

test('block log: a damaged file opens to a prefix of what was written, which takes the next append, or is refused with StoreError', () =>
  fuzz('block-log/open-damaged', 300, fc.asyncProperty(fc.array(bodyArb, { maxLength: 8 }), fc.array(damageArb, { minLength: 1, maxLength: 3 }), optionsArb, async (bodies, edits, opts) => {
    const texts = writeLog(bodies);
    writeFileSync(path, damage(readFileSync(path), edits));
    let log: BlockLog;
    try {
      log = await BlockLog.open(path, { ...opts, logger: silentStoreLogger });
    } catch (e) {
      const err = expectTyped(e, StoreError);
      if (!OPEN_REFUSALS.has(err.code)) throw new Error(`open refused with ${err.code}`);
      return;
    }
    let n: number;
    try {
      n = log.lastHeight;
      if (n > texts.length) throw new Error(`opened ${n} records, ${texts.length} were written`);
      for (let h = 1; h <= n; h++) if ((await log.readJson(h)) !== texts[h - 1]) throw new Error(`height ${h} reads back differently`);
      let h = 0;
      for await (const r of log.readRange(1, n)) if (JSON.stringify(r) !== JSON.stringify(JSON.parse(texts[h++]!))) throw new Error(`readRange differs at height ${h}`);
      if (h !== n) throw new Error(`readRange gave ${h} of ${n} records`);
      await log.appendAndSync([{ h: n + 1, next: true }]);
    } finally {
      await log.close();
    }
    const again = await BlockLog.open(path, { logger: silentStoreLogger });
    try {
      if (again.lastHeight !== n + 1 || again.openReport.tornTail !== null) throw new Error('the log did not reopen clean after the append');
    } finally {
      await again.close();
    }
  })));

test('block log: a file damaged while open reads back right or throws StoreError log_corrupt', () =>
  fuzz('block-log/read-damaged', 300, fc.asyncProperty(
    fc.array(bodyArb, { minLength: 1, maxLength: 8 }),
    fc.array(fc.oneof(mutationArb.filter((m) => m.kind === 'flip' || m.kind === 'set' || m.kind === 'truncate')), { minLength: 1, maxLength: 3 }),
    fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    optionsArb,
    async (bodies, edits, heights, opts) => {
      const texts = writeLog(bodies);
      // The default line limit: a smaller one would make open itself refuse or cut valid records.
      const log = await BlockLog.open(path, { ...opts, maxLineBytes: undefined, logger: silentStoreLogger });
      if (log.lastHeight !== texts.length) throw new Error(`opened ${log.lastHeight} of ${texts.length} undamaged records`);
      try {
        writeFileSync(path, mutate(readFileSync(path), edits));
        const read = async (fn: () => Promise<void>): Promise<void> => {
          try {
            await fn();
          } catch (e) {
            const err = expectTyped(e, StoreError);
            if (err.code !== 'log_corrupt') throw new Error(`read refused with ${err.code}`);
          }
        };
        for (const x of heights) {
          const h = 1 + (x % texts.length);
          await read(async () => {
            if ((await log.readJson(h)) !== texts[h - 1]) throw new Error(`height ${h} reads back differently`);
          });
        }
        await read(async () => {
          let h = 0;
          for await (const r of log.readRange(1)) if (JSON.stringify(r) !== JSON.stringify(JSON.parse(texts[h++]!))) throw new Error(`readRange differs at height ${h}`);
        });
      } finally {
        await log.close();
      }
    },
  )));

test.run();
