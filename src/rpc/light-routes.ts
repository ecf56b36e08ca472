// What a verifying client needs beyond the chain routes, and the dashboard that is one:
// GET /genesis, GET /blocks?from=H (canonical block bytes and the QC certifying each),
// GET /snapshot/latest, and the page's static files (GET /, /ui/*: see ui-assets.ts). The large
// answers have a per-client budget on top of the server's request rate.
import type { H3Event } from 'h3';
import { KeyedBuckets, type RateOptions } from '../crypto/token-bucket.ts';
import type { NodeApi, RawBlockJson } from './api.ts';
import { clientKey, parseIndex, refuse, send, waitParam, type Handler, type Refusal, type Routes } from './request.ts';
import type { UiAssets } from './ui-assets.ts';

export interface LightRouteOptions {
  readonly maxWaitMs: number;
  readonly maxClients: number;
  readonly snapshotRate: RateOptions;
  readonly blocksRate: RateOptions;
  readonly maxRawBlocks: number;
  readonly maxRawBytes: number;
  readonly maxSnapshotBytes: number;
  readonly ui: UiAssets | null;
  readonly now: () => number;
}

export function lightRoutes(api: NodeApi, o: LightRouteOptions): Routes {
  const snapshotBuckets = new KeyedBuckets(o.snapshotRate, o.maxClients);
  const blocksBuckets = new KeyedBuckets(o.blocksRate, o.maxClients);

  const unsupported = (what: string): Refusal => refuse(404, 'not_found', 'not_found', 'path', `this node does not serve ${what}`);

  /** A per-client budget for routes whose answers are large, on top of the global request rate. */
  const heavy = (event: H3Event, buckets: KeyedBuckets, what: string): void => {
    const t = o.now();
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
    const wait = waitParam(event, o.maxWaitMs);
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

  const routes: Routes = {
    '/genesis': { GET: getGenesis },
    '/blocks': { GET: getBlocks },
    '/snapshot/latest': { GET: getSnapshot },
  };
  if (o.ui) for (const path of o.ui.files.keys()) routes[path] = { GET: staticFile(path) };
  return routes;
}
