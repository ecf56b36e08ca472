import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { StoreLogger } from '../../src/store/logger.ts';

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `numchain-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedLog {
  readonly logger: StoreLogger;
  readonly warnings: { msg: string; data?: Record<string, unknown> }[];
}

export function captureLogger(): CapturedLog {
  const warnings: CapturedLog['warnings'] = [];
  return { logger: { info: () => {}, warn: (msg, data) => warnings.push({ msg, data }) }, warnings };
}

/** One log line in the documented format, built independently of the writer. */
export function logLine(record: object): Buffer {
  const json = Buffer.from(JSON.stringify(record), 'utf8');
  return Buffer.concat([Buffer.from(crc32(json).toString(16).padStart(8, '0') + ' ', 'latin1'), json, Buffer.from('\n')]);
}

/** Deterministic payload for height h (the kill -9 fixture and its checker share it). */
export function payloadFor(h: number, maxBytes: number): string {
  const size = 10 + ((h * 7919) % maxBytes);
  return Buffer.alloc(size, h % 251).toString('base64');
}
