/*
 * Durable consensus safety state (last voted round, locked round, highest QC round...), stored as
 * opaque bytes the consensus layer encodes. Consensus awaits save() before sending a vote, so a
 * restarted validator can never vote twice in a round.
 *
 * The file holds two slots, at offset 0 and at offset SLOT (a multiple of 4 KiB that fits the
 * largest state); save number n goes to slot n mod 2. Each slot (little-endian):
 *   0  8 bytes  magic "NUMCSAFE"
 *   8  u32      format version (2)
 *   12 u32      sequence number, low 32 bits
 *   16 u32      sequence number, high 21 bits
 *   20 u32      payload length
 *   24 payload
 *   .. 32 bytes SHA-256 of every preceding byte of the slot
 * load() returns the valid slot with the highest sequence number.
 *
 * Why two slots: a save is one pwrite + one fdatasync into the slot the previous save did not use,
 * so a crash mid-write can only damage that slot, and the other still holds the previous state,
 * which is the last one anything was sent under (save() had not returned). A whole-file replace
 * (temp file, fsync, rename, fsync the directory) would cost two fsyncs plus a journal commit per
 * vote, and validators sharing a disk would pay it on every round.
 *
 * The first save creates the file atomically (temp file + rename), so an existing file always has
 * a valid slot unless it was damaged: a file with no valid slot makes load() throw `safety_corrupt`
 * instead of returning null, because starting from "no state" could sign a conflicting vote. A file
 * in the old single-record format (version 1) is read as sequence 0 and replaced slot by slot.
 */
import { closeSync, fdatasyncSync, openSync, readSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { StoreError } from './errors.ts';
import { atomicWriteFileSync, writeFullySync } from './fs-util.ts';

const MAGIC = Buffer.from('NUMCSAFE', 'latin1');
const VERSION = 2;
const LEGACY_VERSION = 1;
const HEADER = 24;
const LEGACY_HEADER = 16;
const DIGEST = 32;
const DEFAULT_MAX_STATE = 1024 * 1024;

export interface SafetyStoreOptions {
  /** Largest state accepted by save() and load(). Default 1 MiB. */
  readonly maxStateBytes?: number;
}

interface Slot {
  readonly seq: number;
  readonly state: Uint8Array;
}

export class SafetyStore {
  readonly path: string;
  private readonly maxStateBytes: number;
  /** byte offset of slot 1 (slot 0 is at 0) */
  private readonly slotBytes: number;
  private fd: number | null = null;
  /** sequence number of the newest valid slot on disk; -1: no file yet; null: not read yet */
  private seq: number | null = null;
  private saves = 0;

  constructor(path: string, opts: SafetyStoreOptions = {}) {
    this.path = path;
    this.maxStateBytes = opts.maxStateBytes ?? DEFAULT_MAX_STATE;
    this.slotBytes = Math.ceil((HEADER + this.maxStateBytes + DIGEST) / 4096) * 4096;
  }

  get saveCount(): number {
    return this.saves;
  }

  /**
   * Durably replace the stored state. When the returned promise resolves the state survives a
   * crash. Synchronous inside (one pwrite + fdatasync, see above), so calls apply in call order.
   */
  async save(state: Uint8Array): Promise<void> {
    this.saveNow(state);
  }

  /** save(), returning once the state is durable (it is synchronous inside anyway). */
  saveNow(state: Uint8Array): void {
    if (!(state instanceof Uint8Array)) throw new StoreError('bad_record', 'safety state must be a Uint8Array');
    if (state.length > this.maxStateBytes) {
      throw new StoreError('bad_record', `safety state is ${state.length} bytes; the limit is ${this.maxStateBytes}`, { path: this.path });
    }
    if (this.seq === null) this.seq = this.readNewest()?.seq ?? -1;
    const seq = this.seq + 1;
    const slot = encodeSlot(state, seq);
    if (this.seq < 0) {
      atomicWriteFileSync(this.path, slot); // first save: the file appears complete or not at all
    } else {
      const fd = this.open();
      writeFullySync(fd, slot, (seq % 2) * this.slotBytes);
      fdatasyncSync(fd);
    }
    this.seq = seq;
    this.saves++;
  }

  /** The last saved state, or null if none was ever saved. Throws `safety_corrupt` naming the file. */
  async load(): Promise<Uint8Array | null> {
    // A temp file is an unfinished first save that never returned, so no one relied on it.
    try {
      unlinkSync(`${this.path}.tmp`);
    } catch {
      // none there
    }
    const newest = this.readNewest();
    this.seq = newest?.seq ?? -1;
    return newest ? newest.state.slice() : null;
  }

  /** Close the file (a later save or load reopens it). */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): number {
    if (this.fd === null) this.fd = openSync(this.path, 'r+');
    return this.fd;
  }

  /** The valid slot with the highest sequence number; null when there is no file. */
  private readNewest(): Slot | null {
    let fd: number;
    try {
      fd = this.open();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const slots = [readSlot(fd, 0, this.slotBytes, this.maxStateBytes), readSlot(fd, this.slotBytes, this.slotBytes, this.maxStateBytes)];
    const valid = slots.filter((x): x is Slot => typeof x !== 'string');
    if (valid.length === 0) {
      throw new StoreError(
        'safety_corrupt',
        `consensus safety file ${this.path} is corrupt (slot 0: ${slots[0] as string}; slot 1: ${slots[1] as string}); refusing to start rather than risk a double vote. ` +
          'Restore it from a backup; delete it only if this validator key has never voted',
        { path: this.path },
      );
    }
    return valid.reduce((a, b) => (b.seq > a.seq ? b : a));
  }
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** One slot's state, or why it is not valid. */
function readSlot(fd: number, offset: number, slotBytes: number, maxState: number): Slot | string {
  const head = readAt(fd, HEADER, offset);
  if (head.length < LEGACY_HEADER) return head.length === 0 ? 'empty' : `${head.length} bytes, too short`;
  if (!head.subarray(0, 8).equals(MAGIC)) return head.every((b) => b === 0) ? 'empty' : 'bad magic';
  const version = head.readUInt32LE(8);
  if (version === LEGACY_VERSION && offset === 0) {
    const len = head.readUInt32LE(12);
    if (len > maxState) return `length field ${len} exceeds ${maxState}`;
    return checkDigest(readAt(fd, LEGACY_HEADER + len + DIGEST, 0), LEGACY_HEADER, len, 0);
  }
  if (version !== VERSION) return `unknown format version ${version}`;
  if (head.length < HEADER) return `${head.length} bytes, too short`;
  const seq = head.readUInt32LE(12) + head.readUInt32LE(16) * 2 ** 32;
  const len = head.readUInt32LE(20);
  if (len > maxState || HEADER + len + DIGEST > slotBytes) return `length field ${len} exceeds ${maxState}`;
  return checkDigest(readAt(fd, HEADER + len + DIGEST, offset), HEADER, len, seq);
}

function checkDigest(buf: Buffer, header: number, len: number, seq: number): Slot | string {
  if (buf.length < header + len + DIGEST) return `truncated: ${buf.length} of ${header + len + DIGEST} bytes`;
  const digest = createHash('sha256').update(buf.subarray(0, header + len)).digest();
  if (!digest.equals(buf.subarray(header + len, header + len + DIGEST))) return 'SHA-256 mismatch';
  return { seq, state: new Uint8Array(buf.subarray(header, header + len)) };
}

function encodeSlot(state: Uint8Array, seq: number): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new StoreError('bad_record', `safety sequence number ${seq} is out of range`);
  const out = Buffer.allocUnsafe(HEADER + state.length + DIGEST);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(seq % 2 ** 32, 12);
  out.writeUInt32LE(Math.floor(seq / 2 ** 32), 16);
  out.writeUInt32LE(state.length, 20);
  out.set(state, HEADER);
  createHash('sha256').update(out.subarray(0, HEADER + state.length)).digest().copy(out, HEADER + state.length);
  return out;
}
