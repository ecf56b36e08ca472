// POST /tx and POST /txs: one transaction or a batch, as canonical msgpack bytes or JSON, handed to
// the node's admission. A refused transaction is answered with its code, field and HTTP status and
// counted as `tx_rejected`; a batch is answered item by item.
import { decodeCanonical, CanonicalError } from '../codec/canonical.ts';
import type { NodeApi, SubmitResult } from './api.ts';
import { clientKey, JSON_TYPES, mediaType, parseJson, readBody, refuse, retryHeaders, send, submitStatus, waitParam, type Handler, type Routes, type RpcRejectReason } from './request.ts';
import { BINARY_TYPES, type BatchItemJson, type BatchResultJson } from './wire.ts';

export interface TxRouteOptions {
  readonly maxTxBodyBytes: number;
  readonly maxBatchBodyBytes: number;
  readonly maxWaitMs: number;
}

export function txRoutes(api: NodeApi, rejected: Record<RpcRejectReason, number>, o: TxRouteOptions): Routes {
  const submitOne = (tx: unknown, key: string): SubmitResult => {
    try {
      return api.submit(tx, key);
    } catch (e) {
      rejected.internal_error++;
      return { accepted: false, txid: null, code: 'internal_error', field: '', message: `submit failed: ${(e as Error).message}`, status: 500 };
    }
  };

  const postTx: Handler = async (event) => {
    const wait = waitParam(event, o.maxWaitMs);
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

  return { '/tx': { POST: postTx }, '/txs': { POST: postTxs } };
}
