/*
 * Durable consensus safety state (last voted round, locked round, highest QC round...), stored as
 * opaque bytes the consensus layer encodes. Consensus awaits save() before sending a vote, so a
 * restarted validator can never vote twice in a round.
 *
 * File format (little-endian):
 *   0  8 bytes  magic "NUMCSAFE"
 *   8  u32      format version (1)
 *   12 u32      payload length
 *   16 payload
 *   .. 32 bytes SHA-256 of every preceding byte
 *
 * save() writes a temp file, fsyncs it, renames it over the old one and fsyncs the directory:
 * two fsyncs, one small file. The file is therefore always either the old or the new state, so
 * a file that does not verify is real damage: load() throws `safety_corrupt` instead of
 * returning null, because starting from "no state" could sign a conflicting vote.
 */
import { readFile, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { StoreError } from './errors.ts';
import { atomicWriteFileSync } from './fs-util.ts';

const MAGIC = Buffer.from('NUMCSAFE', 'latin1');
const VERSION = 1;
const HEADER = 16;
const DIGEST = 32;
const DEFAULT_MAX_STATE = 1024 * 1024;

export interface SafetyStoreOptions {
  /** Largest state accepted by save() and load(). Default 1 MiB. */
  readonly maxStateBytes?: number;
}

export class SafetyStore {
  readonly path: string;
  private readonly maxStateBytes: number;
  private saves = 0;

  constructor(path: string, opts: SafetyStoreOptions = {}) {
    this.path = path;
    this.maxStateBytes = opts.maxStateBytes ?? DEFAULT_MAX_STATE;
  }

  get saveCount(): number {
    return this.saves;
  }

  /**
   * Durably replace the stored state. When the returned promise resolves the state survives a
   * crash. Concurrent calls are applied in call order.
   */
  async save(state: Uint8Array): Promise<void> {
    if (!(state instanceof Uint8Array)) throw new StoreError('bad_record', 'safety state must be a Uint8Array');
    if (state.length > this.maxStateBytes) {
      throw new StoreError('bad_record', `safety state is ${state.length} bytes; the limit is ${this.maxStateBytes}`, { path: this.path });
    }
    // Synchronous on purpose (see atomicWriteFileSync): calls are therefore applied in call order,
    // and the state is durable before this returns.
    atomicWriteFileSync(this.path, encodeSafetyFile(state));
    this.saves++;
  }

  /** The last saved state, or null if none was ever saved. Throws `safety_corrupt` naming the file. */
  async load(): Promise<Uint8Array | null> {
    // A temp file is an unfinished save that never returned, so it is not state anyone relied on.
    await unlink(`${this.path}.tmp`).catch(() => {});
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return decodeSafetyFile(bytes, this.path, this.maxStateBytes);
  }
}

export function encodeSafetyFile(state: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER + state.length + DIGEST);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(state.length, 12);
  out.set(state, HEADER);
  createHash('sha256').update(out.subarray(0, HEADER + state.length)).digest().copy(out, HEADER + state.length);
  return out;
}

export function decodeSafetyFile(bytes: Uint8Array, path: string, maxStateBytes = DEFAULT_MAX_STATE): Uint8Array {
  const corrupt = (why: string): StoreError =>
    new StoreError(
      'safety_corrupt',
      `consensus safety file ${path} is corrupt (${why}); refusing to start rather than risk a double vote. ` +
        'Restore it from a backup; delete it only if this validator key has never voted',
      { path },
    );
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < HEADER + DIGEST) throw corrupt(`${buf.length} bytes, too short`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw corrupt('bad magic');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw corrupt(`unknown format version ${version}`);
  const len = buf.readUInt32LE(12);
  if (len > maxStateBytes || HEADER + len + DIGEST !== buf.length) throw corrupt(`length field ${len} does not match file size ${buf.length}`);
  const digest = createHash('sha256').update(buf.subarray(0, HEADER + len)).digest();
  if (!digest.equals(buf.subarray(HEADER + len))) throw corrupt('SHA-256 mismatch');
  return new Uint8Array(buf.subarray(HEADER, HEADER + len));
}
