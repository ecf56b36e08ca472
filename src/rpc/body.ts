// Reading a request body with a hard size limit that is enforced while reading: a client that
// declares or sends more than `limit` bytes gets 413 after at most `limit` + one chunk has been held
// in memory. On Node the body is read straight from the IncomingMessage (h3's web-stream path costs
// ~3× more per request); elsewhere from the web ReadableStream.
//
// After a refusal on Node (a 413, or any answer given before the body was read), the rest of the
// body is read and dropped (up to a bound in bytes and time) instead of closing the connection at
// once: see dropUnreadBody().
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { H3Event } from 'h3';

/** How much of a refused body is read and dropped before the connection is cut. */
export interface DrainBound {
  readonly maxBytes: number;
  readonly maxMs: number;
}

export const DEFAULT_DRAIN_BOUND: DrainBound = Object.freeze({ maxBytes: 64 * 1024 * 1024, maxMs: 10_000 });

export type BodyResult = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

const TOO_LARGE: BodyResult = Object.freeze({ ok: false, reason: 'too_large' });
const ABORTED: BodyResult = Object.freeze({ ok: false, reason: 'aborted' });

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function declaredLength(header: string | null | undefined): number | null {
  if (header === null || header === undefined || !/^\d{1,15}$/.test(header)) return null;
  return Number(header);
}

/**
 * Read and drop what a refused request still has to send, so the answer reaches a client that is
 * still sending; past `bound` bytes or ms, cut the connection (the client may then see a reset).
 * A socket closed with unread bytes in it is reset (RST), and a client still writing its body (most
 * send it all before reading anything) then gets EPIPE or ECONNRESET instead of the answer already
 * on its way. The answer must not close the connection by itself either: Node destroys the socket
 * of a `Connection: close` response once it is written, unread bytes and all. So the response keeps
 * the connection open, even when the client asked to close it (it will, once it has read the answer).
 * Call it before the answer is sent. Does nothing when the body is read or being read, or off Node.
 */
export function dropUnreadBody(event: H3Event, bound: DrainBound): void {
  const node = event.runtime?.node;
  const req = node?.req as IncomingMessage | undefined;
  if (!req || req.complete || req.destroyed || req.listenerCount('data') > 0) return;
  const res = node?.res as ServerResponse | undefined;
  if (res && !res.headersSent) res.shouldKeepAlive = true;
  let left = bound.maxBytes;
  const stop = (): void => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', stop);
    req.off('close', stop);
  };
  const cut = (): void => {
    stop();
    req.socket.destroy();
  };
  const onData = (c: Buffer): void => {
    left -= c.length;
    if (left < 0) cut();
  };
  const timer = setTimeout(cut, bound.maxMs);
  timer.unref();
  req.on('data', onData);
  req.on('end', stop);
  req.on('close', stop);
  req.resume();
}

function readNode(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let done = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      resolve(r);
    };
    const onData = (c: Buffer): void => {
      total += c.length;
      if (total > limit) return finish(TOO_LARGE);
      chunks.push(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    };
    const onEnd = (): void => finish({ ok: true, bytes: concat(chunks, total) });
    const onError = (): void => finish(ABORTED);
    if (req.readableEnded) return finish({ ok: true, bytes: new Uint8Array(0) });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

async function readWeb(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyResult> {
  if (body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        void reader.cancel().catch(() => {});
        return TOO_LARGE;
      }
      chunks.push(value);
    }
  } catch {
    return ABORTED;
  }
  return { ok: true, bytes: concat(chunks, total) };
}

/** Read the whole body if it is at most `limit` bytes (the caller drops the rest: dropUnreadBody). */
export function readBodyLimited(event: H3Event, limit: number): Promise<BodyResult> {
  const declared = declaredLength(event.req.headers.get('content-length'));
  if (declared !== null && declared > limit) return Promise.resolve(TOO_LARGE);
  const node = event.runtime?.node?.req as IncomingMessage | undefined;
  if (node) return readNode(node, limit);
  return readWeb(event.req.body, limit);
}
