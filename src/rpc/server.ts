// The node's HTTP API: h3 routes over node:http that translate requests into NodeApi calls and back.
// Every response is JSON except /metrics and the dashboard's static files (GET /, /ui/*: see
// ui-assets.ts). Every refusal is counted by reason (stats.rejected, and
// numchain_rpc_requests_rejected_total when a NodeMetrics is given), every series from 0.
// No handler can take the process down: anything unexpected becomes a 500 JSON and a count.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { H3, toNodeHandler, type H3Event } from 'h3';
import { decodeCanonical, CanonicalError } from '../codec/canonical.ts';
import { KeyedBuckets, checkRateOptions, type RateOptions } from '../crypto/token-bucket.ts';
import { MaError } from '../engine/types.ts';
import type { NodeMetrics } from '../metrics/metrics.ts';
import type { BlockJson, NodeApi, RawBlockJson, SubmitResult } from './api.ts';
import { DEFAULT_DRAIN_BOUND, dropUnreadBody, readBodyLimited, type DrainBound } from './body.ts';
import { JSON_TYPES, mediaType, parseIndex, parseJson, Refusal, refuse, retryHeaders, submitStatus } from './request.ts';
import type { UiAssets } from './ui-assets.ts';
import { BINARY_TYPES, DEFAULT_MAX_WAIT_MS, TXID_RE, type BatchItemJson, type BatchResultJson } from './wire.ts';

export const RPC_REJECT_REASONS = [
  'not_found',
  'method_not_allowed',
  'body_too_large',
  'bad_request',
  'unsupported_media_type',
  'rate_limited',
  'tx_rejected',
  'internal_error',
  /** a connection refused: too many open at once, or from one address */
  'too_many_connections',
  /** a connection cut because its request headers did not arrive in time (slowloris, idle, half-open) */
  'slow_client',
] as const;
export type RpcRejectReason = (typeof RPC_REJECT_REASONS)[number];

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

type Method = 'GET' | 'POST';
type Handler = (event: H3Event) => unknown | Promise<unknown>;

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
  const snapshotBuckets = new KeyedBuckets(o.snapshotRate, o.maxClients);
  const blocksBuckets = new KeyedBuckets(o.blocksRate, o.maxClients);
  const now = o.now ?? Date.now;
  const rejected = Object.fromEntries(RPC_REJECT_REASONS.map((r) => [r, 0])) as Record<RpcRejectReason, number>;
  const stats: RpcStats = { requests: 0, rejected, clientsEvicted: 0 };
  const buckets = o.rate === null ? null : new KeyedBuckets(o.rate, o.maxClients);
  const perSecond = o.rate === null ? 0 : o.rate.perSecond;
  opts.metrics?.mirrorCounter('rpc_requests_rejected_total', 'HTTP API requests refused or failed, by reason.', 'reason', RPC_REJECT_REASONS, () => rejected);

  const clientKey = (event: H3Event): string => event.runtime?.node?.req.socket.remoteAddress ?? event.req.headers.get('x-forwarded-for') ?? 'unknown';

  const send = (event: H3Event, status: number, body: unknown, headers?: Readonly<Record<string, string>>): unknown => {
    event.res.status = status;
    if (headers) for (const [k, v] of Object.entries(headers)) event.res.headers.set(k, v);
    return body;
  };

  const fail = (event: H3Event, r: Refusal): unknown => {
    rejected[r.reason]++;
    // A refusal can come before the body was read (413, 415, 429, ...): let the client finish
    // sending, so it reads this answer instead of a reset.
    dropUnreadBody(event, drain);
    return send(event, r.status, r.body, r.headers);
  };

  const waitParam = (event: H3Event): number => {
    const raw = event.url.searchParams.get('wait');
    if (raw === null || raw === '') return 0;
    if (!/^\d{1,12}$/.test(raw)) throw refuse(400, 'bad_request', 'bad_wait', 'wait', 'wait must be a number of milliseconds ≥ 0');
    return Math.min(Number(raw), o.maxWaitMs);
  };

  // ?receipts=all (default) | rejected | none: a client following every block for its own
  // transactions (the flood) needs the txids and what was refused, not a leaf hash per applied tx,
  // which is most of a large block's JSON.
  const receiptsParam = (event: H3Event): 'all' | 'rejected' | 'none' => {
    const raw = event.url.searchParams.get('receipts');
    if (raw === null || raw === '' || raw === 'all') return 'all';
    if (raw === 'rejected' || raw === 'none') return raw;
    throw refuse(400, 'bad_request', 'bad_receipts', 'receipts', 'receipts must be all, rejected or none');
  };
  const receiptsView = (b: BlockJson, which: 'all' | 'rejected' | 'none'): BlockJson => {
    if (which === 'all') return b;
    const { receipts, ...rest } = b;
    return which === 'none' ? rest : { ...rest, receipts: (receipts ?? []).filter((r) => r.status !== 'applied') };
  };

  const readBody = async (event: H3Event, limit: number): Promise<Uint8Array> => {
    const r = await readBodyLimited(event, limit);
    if (r.ok) return r.bytes;
    if (r.reason === 'too_large') {
      // Answered at once; fail() has the rest of the body dropped as it arrives, within `drain`.
      throw refuse(413, 'body_too_large', 'body_too_large', 'body', `request body exceeds ${limit} bytes`);
    }
    throw refuse(400, 'bad_request', 'aborted', 'body', 'request body was not received completely');
  };

  const submitOne = (tx: unknown, key: string): SubmitResult => {
    try {
      return api.submit(tx, key);
    } catch (e) {
      rejected.internal_error++;
      return { accepted: false, txid: null, code: 'internal_error', field: '', message: `submit failed: ${(e as Error).message}`, status: 500 };
    }
  };

  // ---------------------------------------------------------------- handlers

  const postTx: Handler = async (event) => {
    const wait = waitParam(event);
    const type = mediaType(event);
    let tx: unknown;
    if (BINARY_TYPES.includes(type)) {
      tx = await readBody(event, o.maxTxBodyBytes);
    } else if (JSON_TYPES.includes(type)) {
      tx = parseJson(await readBody(event, o.maxTxBodyBytes));
      if (typeof tx !== 'object' || tx === null || Array.isArray(tx)) throw refuse(400, 'bad_request', 'malformed', 'tx', 'the body must be a transaction JSON object');
    } else {
      throw refuse(415, 'unsupported_media_type', 'unsupported_media_type', 'content-type', `content type must be application/json or ${BINARY_TYPES.join(', ')}`);
    }
    const r = submitOne(tx, clientKey(event));
    if (!r.accepted) {
      const status = submitStatus(r);
      if (r.code !== 'internal_error') rejected.tx_rejected++;
      return send(event, status, { accepted: false, code: r.code, field: r.field, message: r.message, txid: r.txid }, retryHeaders(status));
    }
    if (wait > 0) {
      const receipt = await api.waitReceipt(r.txid, wait);
      if (receipt !== null) return send(event, 200, receipt);
      return send(event, 202, { accepted: true, txid: r.txid, committed: false });
    }
    return send(event, 202, { accepted: true, txid: r.txid });
  };

  const postTxs: Handler = async (event) => {
    const type = mediaType(event);
    const maxBatch = api.params().maxBatch;
    let txs: readonly unknown[];
    if (BINARY_TYPES.includes(type)) {
      const bytes = await readBody(event, o.maxBatchBodyBytes);
      let v: unknown;
      try {
        v = decodeCanonical(bytes, o.maxBatchBodyBytes);
      } catch (e) {
        if (e instanceof CanonicalError || e instanceof RangeError) throw refuse(400, 'bad_request', 'malformed', 'txs', `batch is not canonical msgpack: ${(e as Error).message}`);
        throw e;
      }
      if (!Array.isArray(v)) throw refuse(400, 'bad_request', 'malformed', 'txs', 'a binary batch must be a msgpack array of transaction bytes');
      v.forEach((x, i) => {
        if (!(x instanceof Uint8Array)) throw refuse(400, 'bad_request', 'malformed', `txs[${i}]`, `txs[${i}] must be transaction bytes`);
      });
      txs = v;
    } else if (JSON_TYPES.includes(type)) {
      const j = parseJson(await readBody(event, o.maxBatchBodyBytes));
      const list = typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as { txs?: unknown }).txs : undefined;
      if (!Array.isArray(list)) throw refuse(400, 'bad_request', 'malformed', 'txs', 'the body must be {"txs": [transaction objects]}');
      list.forEach((x, i) => {
        if (typeof x !== 'object' || x === null || Array.isArray(x)) throw refuse(400, 'bad_request', 'malformed', `txs[${i}]`, `txs[${i}] must be a transaction JSON object`);
      });
      txs = list;
    } else {
      throw refuse(415, 'unsupported_media_type', 'unsupported_media_type', 'content-type', `content type must be application/json or ${BINARY_TYPES.join(', ')}`);
    }
    if (txs.length > maxBatch) throw refuse(413, 'body_too_large', 'too_many_txs', 'txs', `a batch holds at most ${maxBatch} transactions, got ${txs.length}`);
    const key = clientKey(event);
    const results: BatchItemJson[] = [];
    let accepted = 0;
    let batch: SubmitResult[];
    if (api.submitBatch) {
      try {
        batch = await api.submitBatch(txs, key);
      } catch (e) {
        rejected.internal_error++;
        batch = txs.map(() => ({ accepted: false, txid: null, code: 'internal_error', field: '', message: `submit failed: ${(e as Error).message}`, status: 500 }));
      }
    } else batch = txs.map((tx) => submitOne(tx, key));
    for (const r of batch) {
      if (r.accepted) {
        accepted++;
        results.push({ accepted: true, txid: r.txid });
      } else {
        results.push({ accepted: false, txid: r.txid, code: r.code, field: r.field, message: r.message, status: submitStatus(r) });
      }
    }
    const out: BatchResultJson = { results, accepted, rejected: txs.length - accepted };
    return send(event, 200, out);
  };

  const getBlock: Handler = async (event) => {
    const raw = event.context.params?.height;
    const which = receiptsParam(event);
    if (raw === 'latest') {
      const b = await api.block('latest');
      if (b === null) throw refuse(404, 'not_found', 'not_found', 'height', 'no block committed yet');
      return receiptsView(b, which);
    }
    const height = parseIndex(raw, 'height');
    const wait = waitParam(event);
    const b = (await api.block(height)) ?? (wait > 0 ? await api.waitBlock(height, wait) : null);
    if (b === null) throw refuse(404, 'not_found', 'not_found', 'height', `block ${height} is not committed${wait > 0 ? ` (waited ${wait} ms)` : ''}`);
    return receiptsView(b, which);
  };

  const getReceipt: Handler = async (event) => {
    const txid = event.context.params?.txid ?? '';
    if (!TXID_RE.test(txid)) throw refuse(400, 'bad_request', 'bad_txid', 'txid', 'txid must be 64 lowercase hex characters');
    const wait = waitParam(event);
    const r = api.receipt(txid) ?? (wait > 0 ? await api.waitReceipt(txid, wait) : null);
    if (r === null) throw refuse(404, 'not_found', 'not_found', 'txid', `no committed receipt for ${txid}${wait > 0 ? ` (waited ${wait} ms)` : ''}`);
    return r;
  };

  const getState: Handler = async (event) => {
    const p = event.context.params ?? {};
    const ma = api.params().ma;
    const target = { shard: parseIndex(p.shard, 'shard'), layer: parseIndex(p.layer, 'layer'), slot: parseIndex(p.slot, 'slot') };
    const dims = { shard: ma.shards, layer: ma.layers, slot: ma.slots } as const;
    for (const f of ['shard', 'layer', 'slot'] as const) {
      if (target[f] >= dims[f]) throw refuse(400, 'bad_request', `bad_${f}`, f, `${f} must be in [0, ${dims[f] - 1}]`);
    }
    try {
      return await api.state(target);
    } catch (e) {
      if (e instanceof MaError) throw refuse(400, 'bad_request', e.code, e.field, e.message);
      throw e;
    }
  };

  const getMetrics: Handler = async (event) => {
    const text = await api.metricsText();
    return send(event, 200, text, { 'content-type': api.metricsContentType });
  };

  // ---------------------------------------------------------------- light clients and the dashboard

  const unsupported = (what: string): Refusal => refuse(404, 'not_found', 'not_found', 'path', `this node does not serve ${what}`);

  /** A per-client budget for routes whose answers are large, on top of the global request rate. */
  const heavy = (event: H3Event, buckets: KeyedBuckets, what: string): void => {
    const t = now();
    if (!buckets.bucket(clientKey(event), t).take(t)) throw refuse(429, 'rate_limited', 'rate_limited', '', `too many ${what} requests from this address`, { 'retry-after': '1' });
  };

  const getGenesis: Handler = () => {
    if (!api.genesis) throw unsupported('its genesis');
    return api.genesis();
  };

  // GET /blocks?from=H&count=N&wait=ms: canonical bytes of committed blocks and the QC certifying
  // each, for clients that verify for themselves.
  const getBlocks: Handler = async (event) => {
    if (!api.rawBlocks) throw unsupported('canonical blocks');
    heavy(event, blocksBuckets, '/blocks');
    const q = event.url.searchParams;
    const from = parseIndex(q.get('from') ?? undefined, 'from');
    if (from < 1) throw refuse(400, 'bad_request', 'bad_from', 'from', 'from must be a height ≥ 1');
    const rawCount = q.get('count');
    const count = rawCount === null ? 16 : parseIndex(rawCount, 'count');
    if (count < 1) throw refuse(400, 'bad_request', 'bad_count', 'count', 'count must be ≥ 1');
    const n = Math.min(count, o.maxRawBlocks);
    const wait = waitParam(event);
    let blocks: RawBlockJson[] = await api.rawBlocks(from, n, o.maxRawBytes);
    if (blocks.length === 0 && wait > 0 && (await api.waitBlock(from, wait)) !== null) blocks = await api.rawBlocks(from, n, o.maxRawBytes);
    return { height: api.health().height, blocks };
  };

  const getSnapshot: Handler = async (event) => {
    if (!api.latestSnapshot) throw unsupported('snapshots');
    heavy(event, snapshotBuckets, 'snapshot');
    const s = await api.latestSnapshot();
    if (s === null) throw refuse(404, 'not_found', 'not_found', 'snapshot', 'no snapshot written yet: start from genesis');
    if (s.chain.length + s.tip.length > o.maxSnapshotBytes) throw refuse(413, 'body_too_large', 'too_large', 'snapshot', `the snapshot exceeds ${o.maxSnapshotBytes} bytes`);
    return s;
  };

  const staticFile = (path: string): Handler => (event) => {
    const ui = o.ui;
    const f = ui?.files.get(path);
    if (!ui || !f) throw refuse(404, 'not_found', 'not_found', 'path', `no route for GET ${path}`);
    if (ui.missing !== null && path !== '/ui/ma.wasm') {
      return send(event, 503, `<!doctype html><meta charset="utf-8"><title>numchain</title><p>${ui.missing}</p>`, { 'content-type': 'text/html; charset=utf-8' });
    }
    return send(event, 200, f.body, { 'content-type': f.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  };

  const routes: Record<string, Partial<Record<Method, Handler>>> = {
    '/tx': { POST: postTx },
    '/txs': { POST: postTxs },
    '/health': { GET: () => api.health() },
    '/params': { GET: () => api.params() },
    '/block/:height': { GET: getBlock },
    '/receipt/:txid': { GET: getReceipt },
    '/state/:shard/:layer/:slot': { GET: getState },
    '/evidence': { GET: () => api.evidence() },
    '/metrics': { GET: getMetrics },
    '/genesis': { GET: getGenesis },
    '/blocks': { GET: getBlocks },
    '/snapshot/latest': { GET: getSnapshot },
  };
  if (o.ui) for (const path of o.ui.files.keys()) routes[path] = { GET: staticFile(path) };

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
