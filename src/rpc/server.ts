// The node's HTTP API: h3 routes over node:http that translate requests into NodeApi calls and back
// (the routes by group: tx-routes.ts, chain-routes.ts, light-routes.ts). This file is the server
// around them: the request rate per client, CORS, method dispatch, connection limits and timeouts.
// Every response is JSON except /metrics and the dashboard's static files. Every refusal is counted
// by reason (stats.rejected, and numchain_rpc_requests_rejected_total when a NodeMetrics is given),
// every series from 0. No handler can take the process down: anything unexpected becomes a 500 JSON
// and a count.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { H3, toNodeHandler, type H3Event } from 'h3';
import { KeyedBuckets, checkRateOptions, type RateOptions } from '../crypto/token-bucket.ts';
import type { NodeMetrics } from '../metrics/metrics.ts';
import type { NodeApi } from './api.ts';
import { DEFAULT_DRAIN_BOUND, dropUnreadBody, type DrainBound } from './body.ts';
import { chainRoutes } from './chain-routes.ts';
import { lightRoutes } from './light-routes.ts';
import { clientKey, Refusal, refuse, RPC_REJECT_REASONS, send, type Method, type RpcRejectReason } from './request.ts';
import { txRoutes } from './tx-routes.ts';
import type { UiAssets } from './ui-assets.ts';
import { DEFAULT_MAX_WAIT_MS } from './wire.ts';

export interface RpcStats {
  /** requests received (including refused ones) */
  requests: number;
  /** refused or failed requests by reason; every key present from the start */
  readonly rejected: Record<RpcRejectReason, number>;
  /** per-client rate buckets forgotten because more than maxClients were tracked */
  clientsEvicted: number;
}

export interface RpcServerOptions {
  /** listen address (default 127.0.0.1: the API is not meant to face the internet unprotected) */
  readonly host?: string;
  /** default 0 (a free port) */
  readonly port?: number;
  /** body limit for POST /tx (default 64 KiB) */
  readonly maxTxBodyBytes?: number;
  /** body limit for POST /txs (default 8 MiB) */
  readonly maxBatchBodyBytes?: number;
  /** requests per remote address (default 5,000/s, burst 10,000); null disables the limit */
  readonly rate?: RateOptions | null;
  /** remote addresses whose buckets are remembered (default 10,000) */
  readonly maxClients?: number;
  /**
   * after a refusal (a 413, a 429, ...), the rest of the body is read and dropped, up to this many
   * bytes and ms (default 64 MiB, 10 s), so the client reads the answer instead of a reset; past
   * that the connection is cut
   */
  readonly drain?: DrainBound;
  /** longest ?wait= honoured; longer values are clamped (default 30 s) */
  readonly maxWaitMs?: number;
  /** register numchain_rpc_requests_rejected_total{reason} on this registry (once per NodeMetrics) */
  readonly metrics?: NodeMetrics;
  /**
   * Let pages on another origin use the API: Access-Control-Allow-Origin with this origin (true: '*')
   * on every response, and preflights answered.
   */
  readonly cors?: boolean | string;
  /** the dashboard's files, served at GET / and /ui/* (null or absent: no dashboard) */
  readonly ui?: UiAssets | null;
  /** GET /snapshot/latest per remote address (default 2/s, burst 8): each answer is megabytes */
  readonly snapshotRate?: RateOptions;
  /** GET /blocks per remote address (default 20/s, burst 40): each answer may be megabytes read from the log */
  readonly blocksRate?: RateOptions;
  /** most blocks one GET /blocks returns (default 64) */
  readonly maxRawBlocks?: number;
  /** GET /blocks stops adding blocks once this many bytes of base64 are in it (default 16 MiB; at least one block) */
  readonly maxRawBytes?: number;
  /** GET /snapshot/latest refuses (413) a snapshot larger than this many bytes of base64 (default 256 MiB) */
  readonly maxSnapshotBytes?: number;
  /** clock for the rate limiter (default Date.now) */
  readonly now?: () => number;
  /** connections open at once (default 2,048); beyond it new ones are closed at once */
  readonly maxConnections?: number;
  /** connections open at once from one address (default 256) */
  readonly maxConnectionsPerClient?: number;
  /** ms a connection may take to send a request's headers, or stay idle before its first (default 10 s) */
  readonly headersTimeoutMs?: number;
}

export const DEFAULT_RPC_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  maxTxBodyBytes: 64 * 1024,
  maxBatchBodyBytes: 8 * 1024 * 1024,
  rate: Object.freeze({ perSecond: 5_000, burst: 10_000 }),
  maxClients: 10_000,
  maxWaitMs: DEFAULT_MAX_WAIT_MS,
  snapshotRate: Object.freeze({ perSecond: 2, burst: 8 }),
  blocksRate: Object.freeze({ perSecond: 20, burst: 40 }),
  maxRawBlocks: 64,
  maxRawBytes: 16 << 20,
  maxSnapshotBytes: 256 << 20,
  maxConnections: 2048,
  maxConnectionsPerClient: 256,
  headersTimeoutMs: 10_000,
});

export interface RpcServer {
  /** http://host:port (no trailing slash) */
  readonly url: string;
  readonly port: number;
  readonly stats: RpcStats;
  /** Stop listening and drop open connections (including pending long-polls). */
  close(): Promise<void>;
}

export async function startRpcServer(api: NodeApi, opts: RpcServerOptions = {}): Promise<RpcServer> {
  const o = { ...DEFAULT_RPC_OPTIONS, ...opts };
  for (const k of ['maxTxBodyBytes', 'maxBatchBodyBytes', 'maxClients', 'maxWaitMs', 'maxRawBlocks', 'maxRawBytes', 'maxSnapshotBytes'] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 1) throw new RangeError(`${k} must be an integer ≥ 1`);
  }
  if (o.rate !== null) checkRateOptions(o.rate, 'rate');
  const drain = o.drain ?? DEFAULT_DRAIN_BOUND;
  if (!Number.isSafeInteger(drain.maxBytes) || drain.maxBytes < 0 || !Number.isSafeInteger(drain.maxMs) || drain.maxMs < 1) {
    throw new RangeError('drain.maxBytes must be an integer ≥ 0 and drain.maxMs an integer ≥ 1');
  }
  checkRateOptions(o.snapshotRate, 'snapshotRate');
  checkRateOptions(o.blocksRate, 'blocksRate');
  const allowOrigin = o.cors === true ? '*' : typeof o.cors === 'string' && o.cors !== '' ? o.cors : null;
  const now = o.now ?? Date.now;
  const rejected = Object.fromEntries(RPC_REJECT_REASONS.map((r) => [r, 0])) as Record<RpcRejectReason, number>;
  const stats: RpcStats = { requests: 0, rejected, clientsEvicted: 0 };
  const buckets = o.rate === null ? null : new KeyedBuckets(o.rate, o.maxClients);
  const perSecond = o.rate === null ? 0 : o.rate.perSecond;
  opts.metrics?.mirrorCounter('rpc_requests_rejected_total', 'HTTP API requests refused or failed, by reason.', 'reason', RPC_REJECT_REASONS, () => rejected);

  const fail = (event: H3Event, r: Refusal): unknown => {
    rejected[r.reason]++;
    // A refusal can come before the body was read (413, 415, 429, ...): let the client finish
    // sending, so it reads this answer instead of a reset.
    dropUnreadBody(event, drain);
    return send(event, r.status, r.body, r.headers);
  };

  const routes = {
    ...txRoutes(api, rejected, o),
    ...chainRoutes(api, o),
    ...lightRoutes(api, { ...o, ui: o.ui ?? null, now }),
  };

  const app = new H3({
    // h3 refuses some requests itself (e.g. a malformed URL) before any route runs; give those the
    // same JSON shape and count them too.
    onError(error, event) {
      stats.requests++;
      const status = Number.isInteger(error.status) && error.status >= 400 && error.status <= 599 ? error.status : 500;
      const reason: RpcRejectReason = status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : status === 413 ? 'body_too_large' : status < 500 ? 'bad_request' : 'internal_error';
      rejected[reason]++;
      const code = status === 400 ? 'bad_request' : reason;
      return new Response(JSON.stringify({ code, field: '', message: error.message || `HTTP ${status}` }), { status, headers: { 'content-type': 'application/json;charset=UTF-8' } });
    },
  });
  // Rate limit before routing, so unknown paths cost a token too.
  app.use((event) => {
    stats.requests++;
    if (allowOrigin !== null) {
      event.res.headers.set('access-control-allow-origin', allowOrigin);
      if (allowOrigin !== '*') event.res.headers.set('vary', 'origin');
    }
    if (buckets === null) return;
    const t = now();
    const bucket = buckets.bucket(clientKey(event), t);
    stats.clientsEvicted = buckets.evicted;
    if (!bucket.take(t)) {
      // Whole seconds until one token is back (Retry-After cannot say less than 1).
      const retry = perSecond > 0 ? Math.max(1, Math.ceil(1 / perSecond)) : 60;
      return fail(event, refuse(429, 'rate_limited', 'rate_limited', '', 'too many requests from this address', { 'retry-after': String(retry) }));
    }
  });
  for (const [path, methods] of Object.entries(routes)) {
    const allow = Object.keys(methods).join(', ');
    app.all(path, async (event) => {
      const method = event.req.method.toUpperCase();
      if (allowOrigin !== null && method === 'OPTIONS') {
        return send(event, 204, null, { 'access-control-allow-methods': allow, 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' });
      }
      const h = methods[method as Method];
      if (!h) return fail(event, refuse(405, 'method_not_allowed', 'method_not_allowed', 'method', `${method} is not allowed on ${path}; use ${allow}`, { allow }));
      try {
        return await h(event);
      } catch (e) {
        if (e instanceof Refusal) return fail(event, e);
        return fail(event, refuse(500, 'internal_error', 'internal_error', '', `internal error: ${(e as Error)?.message ?? String(e)}`));
      }
    });
  }
  app.all('/**', (event) => fail(event, refuse(404, 'not_found', 'not_found', 'path', `no route for ${event.req.method} ${event.url.pathname}`)));

  // Node checks the header timeout of waiting connections (idle ones included) this often.
  const server: Server = createServer({ connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(o.headersTimeoutMs / 4))) }, toNodeHandler(app));
  // Long-polls may take maxWaitMs; leave room beyond it before Node gives up on a request.
  server.requestTimeout = o.maxWaitMs + 30_000;
  // A client that trickles its headers (one byte a second), or opens connections and sends
  // nothing, is cut after headersTimeoutMs instead of holding a socket for good.
  server.headersTimeout = o.headersTimeoutMs;
  server.maxConnections = o.maxConnections;
  server.on('drop', () => {
    rejected.too_many_connections++;
  });
  const perClient = new Map<string, number>();
  server.on('connection', (socket) => {
    const who = socket.remoteAddress ?? '';
    const n = (perClient.get(who) ?? 0) + 1;
    if (n > o.maxConnectionsPerClient) {
      rejected.too_many_connections++;
      socket.destroy();
      return;
    }
    perClient.set(who, n);
    // Node's header timeout only starts with the first byte: a connection that never sends one
    // would be held for good.
    socket.setTimeout(o.headersTimeoutMs, () => {
      rejected.slow_client++;
      socket.destroy();
    });
    socket.once('data', () => socket.setTimeout(0));
    socket.once('close', () => {
      const left = (perClient.get(who) ?? 1) - 1;
      if (left <= 0) perClient.delete(who);
      else perClient.set(who, left);
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') rejected.slow_client++;
    else rejected.bad_request++;
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    stats,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
