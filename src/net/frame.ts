// Length-prefixed framing: every frame is a 4-byte big-endian body length followed by the body.
// The decoder is incremental (TCP delivers arbitrary splits and coalescings) and checks the
// declared length against its cap as soon as the 4 header bytes are in, so a peer that claims a
// 1 GiB frame is refused before a single body byte is kept, and nothing is ever preallocated.
import { NetError } from './errors.ts';

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Prefix `body` with its length. The result is one contiguous buffer, ready for socket.write. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  if (body.byteLength === 0) throw new NetError('empty_frame', 'frame body must not be empty', 'body');
  if (body.byteLength > 0xffffffff) throw new NetError('oversize_frame', `frame body of ${body.byteLength} bytes cannot be length-prefixed`, 'body');
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength, false);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

export interface FrameDecoderOptions {
  /** Largest body accepted; a larger declared length throws `oversize_frame`. */
  readonly maxFrameBytes: number;
}

/**
 * Feed it socket chunks with `push`, then drain complete bodies with `next()` until it returns null.
 * Drain after every push: the decoder only bounds what it holds because the caller drains it
 * (it then holds at most one partial frame, i.e. at most 4 + maxFrameBytes bytes).
 * After `next()` has thrown, the stream is out of sync and the decoder stays failed.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private head = 0; // index into chunks of the first unread chunk
  private offset = 0; // read position inside chunks[head]
  private buffered = 0; // unread bytes across chunks
  private bodyLength = -1; // declared length of the frame being read, -1 while reading the header
  private failed: NetError | null = null;
  private maxFrameBytes: number;

  constructor(options: FrameDecoderOptions) {
    this.maxFrameBytes = checkCap(options.maxFrameBytes);
  }

  /** Unread bytes currently held (for tests and gauges). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Change the cap for frames whose header has not been read yet (e.g. raise it after auth). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = checkCap(maxFrameBytes);
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /** The next complete body, or null if more bytes are needed. Throws NetError on a bad header. */
  next(): Uint8Array | null {
    if (this.failed) throw this.failed;
    if (this.bodyLength < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const h = this.take(FRAME_HEADER_BYTES);
      const len = ((h[0] << 24) >>> 0) + (h[1] << 16) + (h[2] << 8) + h[3];
      if (len === 0) return this.fail(new NetError('empty_frame', 'frame length prefix is 0', 'length'));
      if (len > this.maxFrameBytes) {
        return this.fail(new NetError('oversize_frame', `frame length ${len} exceeds cap ${this.maxFrameBytes}`, 'length'));
      }
      this.bodyLength = len;
    }
    if (this.buffered < this.bodyLength) return null;
    const body = this.take(this.bodyLength);
    this.bodyLength = -1;
    return body;
  }

  private fail(e: NetError): never {
    this.failed = e;
    // Let go of whatever the peer sent; the connection is going away.
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    throw e;
  }

  // Take n bytes (n <= buffered). Zero-copy when they lie inside one chunk; one exact copy otherwise.
  private take(n: number): Uint8Array {
    const first = this.chunks[this.head];
    let out: Uint8Array;
    if (first.byteLength - this.offset >= n) {
      out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.byteLength) this.dropHead();
    } else {
      out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[this.head];
        const k = Math.min(n - filled, c.byteLength - this.offset);
        out.set(c.subarray(this.offset, this.offset + k), filled);
        filled += k;
        this.offset += k;
        if (this.offset === c.byteLength) this.dropHead();
      }
    }
    this.buffered -= n;
    return out;
  }

  private dropHead(): void {
    this.head++;
    this.offset = 0;
    // Compact the chunk list now and then so consumed chunks can be collected.
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

function checkCap(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) {
    throw new NetError('bad_argument', `maxFrameBytes must be an integer in [1, 2^32-1], got ${n}`, 'maxFrameBytes');
  }
  return n;
}
