// Node-only stand-in for fetch() in NumchainClient: node:http with a keep-alive pool. A load
// generator sends thousands of requests a second from the machine it measures, and fetch's
// web-streams machinery costs it several times the CPU of a plain http.request (see
// `numchain flood`, which reports its own CPU per committed transaction). https URLs and request
// bodies other than bytes or text go to the global fetch unchanged.
import { Agent, request } from 'node:http';
import type { FetchLike, FetchResponse } from './client.ts';

export interface NodeHttpFetchOptions {
  /** keep-alive sockets per host (default 64) */
  readonly maxSockets?: number;
  /** largest response body accepted, bytes (default 64 MiB); a larger one fails the request */
  readonly maxResponseBytes?: number;
  /** send every request over this Unix socket (the URL then only names host and path), e.g. a forwarder into another network namespace */
  readonly socketPath?: string;
}

export function nodeHttpFetch(opts: NodeHttpFetchOptions = {}): FetchLike & { close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const maxBytes = opts.maxResponseBytes ?? 64 << 20;
  const f = (url: string, init: Parameters<FetchLike>[1]): Promise<FetchResponse> => {
    const body = init.body;
    if (!url.startsWith('http://') || (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array))) return globalThis.fetch(url, init);
    return once(url, init, body, true);
  };
  const once = (url: string, init: Parameters<FetchLike>[1], body: string | Uint8Array | undefined, mayRetry: boolean): Promise<FetchResponse> =>
    new Promise<FetchResponse>((resolve, reject) => {
      const req = request(url, { method: init.method, headers: init.headers, agent, signal: init.signal, ...(opts.socketPath === undefined ? {} : { socketPath: opts.socketPath }) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            res.destroy(new Error(`response body larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks, size).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: {
              get(name: string): string | null {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            },
            text: () => Promise.resolve(text),
          });
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while it sat idle fails the next request at once,
        // unread by the server: the case Node's documentation says to retry, once, on a new socket.
        // (A server that read the request and then died also resets; the one retry then finds it
        // gone, or answers a resubmitted batch with `duplicate`, never with a second admission.)
        if (mayRetry && req.reusedSocket && e.code === 'ECONNRESET' && !init.signal.aborted) once(url, init, body, false).then(resolve, reject);
        else reject(e);
      });
      req.end(body);
    });
  return Object.assign(f, { close: () => agent.destroy() });
}
