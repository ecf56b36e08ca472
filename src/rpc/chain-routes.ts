// The committed chain as JSON: GET /health, /params, /block/:height, /receipt/:txid,
// /state/:shard/:layer/:slot, /evidence, and the node's /metrics text. Blocks and receipts can be
// long-polled with ?wait=.
import type { H3Event } from 'h3';
import { MaError } from '../engine/types.ts';
import type { BlockJson, NodeApi } from './api.ts';
import { parseIndex, refuse, send, waitParam, type Handler, type Routes } from './request.ts';
import { TXID_RE } from './wire.ts';

export interface ChainRouteOptions {
  readonly maxWaitMs: number;
}

// ?receipts=all (default) | rejected | none: a client following every block for its own
// transactions (the flood) needs the txids and what was refused, not a leaf hash per applied tx,
// which is most of a large block's JSON.
function receiptsParam(event: H3Event): 'all' | 'rejected' | 'none' {
  const raw = event.url.searchParams.get('receipts');
  if (raw === null || raw === '' || raw === 'all') return 'all';
  if (raw === 'rejected' || raw === 'none') return raw;
  throw refuse(400, 'bad_request', 'bad_receipts', 'receipts', 'receipts must be all, rejected or none');
}

function receiptsView(b: BlockJson, which: 'all' | 'rejected' | 'none'): BlockJson {
  if (which === 'all') return b;
  const { receipts, ...rest } = b;
  return which === 'none' ? rest : { ...rest, receipts: (receipts ?? []).filter((r) => r.status !== 'applied') };
}

export function chainRoutes(api: NodeApi, o: ChainRouteOptions): Routes {
  const getBlock: Handler = async (event) => {
    const raw = event.context.params?.height;
    const which = receiptsParam(event);
    if (raw === 'latest') {
      const b = await api.block('latest');
      if (b === null) throw refuse(404, 'not_found', 'not_found', 'height', 'no block committed yet');
      return receiptsView(b, which);
    }
    const height = parseIndex(raw, 'height');
    const wait = waitParam(event, o.maxWaitMs);
    const b = (await api.block(height)) ?? (wait > 0 ? await api.waitBlock(height, wait) : null);
    if (b === null) throw refuse(404, 'not_found', 'not_found', 'height', `block ${height} is not committed${wait > 0 ? ` (waited ${wait} ms)` : ''}`);
    return receiptsView(b, which);
  };

  const getReceipt: Handler = async (event) => {
    const txid = event.context.params?.txid ?? '';
    if (!TXID_RE.test(txid)) throw refuse(400, 'bad_request', 'bad_txid', 'txid', 'txid must be 64 lowercase hex characters');
    const wait = waitParam(event, o.maxWaitMs);
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

  return {
    '/health': { GET: () => api.health() },
    '/params': { GET: () => api.params() },
    '/block/:height': { GET: getBlock },
    '/receipt/:txid': { GET: getReceipt },
    '/state/:shard/:layer/:slot': { GET: getState },
    '/evidence': { GET: () => api.evidence() },
    '/validators': {
      GET: () => {
        if (!api.validators) throw refuse(404, 'not_found', 'not_found', 'path', 'this node does not serve its validators');
        return api.validators();
      },
    },
    '/metrics': { GET: getMetrics },
  };
}
