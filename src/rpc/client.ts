// NumchainClient: a typed client for the node's HTTP API. Portable (fetch + Web Crypto only, no
// node:* imports), so it runs in browsers, Node, Bun and Deno. Transactions are sent as canonical
// wire bytes; state reads can be verified locally against a state root (verifiedState).
import { encodeCanonical } from '../codec/canonical.ts';
import { buildTx, txLimits, type SignedTx, type TxFields, type TxJson, type TxLimits } from '../chain/tx.ts';
import { fromHex, HexError, bytesEqual, toHex } from '../crypto/sha256.ts';
import { verifyRowProof } from '../engine/proof.ts';
import type { RowProof, RowTarget } from '../engine/types.ts';
import type { BlockJson, HealthJson, ParamsJson, ReceiptJson, StateJson, ValidatorsJson } from './api.ts';
import { DEFAULT_MAX_WAIT_MS, TXID_RE, type BatchResultJson } from './wire.ts';

/**
 * Any failed call. `status` is the HTTP status, or 0 for failures on this side: network, timeout,
 * bad_response (not what the API returns), bad_proof (a state proof that does not verify),
 * not_committed (submitAndWait gave up waiting).
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly field: string,
    message: string,
    readonly txid: string | null = null,
  ) {
    super(message);
  }
}

/** The part of fetch() the client uses, so a lighter transport can stand in (src/rpc/node-http-fetch.ts). */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: BodyInit; signal: AbortSignal }) => Promise<FetchResponse>;

export interface ClientOptions {
  /** fetch implementation (default globalThis.fetch) */
  readonly fetch?: FetchLike;
  /** time allowed per request on top of any server-side wait (default 10 s) */
  readonly timeoutMs?: number;
}

export interface WaitOptions {
  /** long-poll up to this many ms for something not committed yet (the server caps it, 30 s by default) */
  readonly waitMs?: number;
  /** abandon the request (e.g. a long-poll that is no longer wanted); it then fails with code 'aborted' */
  readonly signal?: AbortSignal;
}

export type SubmitResponse =
  | { readonly accepted: true; readonly txid: string; readonly committed: false }
  | { readonly accepted: true; readonly txid: string; readonly committed: true; readonly receipt: ReceiptJson };

export interface BuildOptions {
  /** validUntil = committed height + margin, capped at the chain's txWindow (default txWindow / 2) */
  readonly margin?: number;
  /** default: random u32 from crypto.getRandomValues */
  readonly nonce?: number;
  /** committed height to count from (default: fetched from /health) */
  readonly height?: number;
}

export interface VerifiedState extends StateJson {
  readonly verified: true;
}

/** A transaction as the client accepts it: signed (built here), raw wire bytes, or the JSON form. */
export type TxInput = SignedTx | Uint8Array | TxJson;

function isSignedTx(tx: TxInput): tx is SignedTx {
  return typeof tx === 'object' && tx !== null && 'bytes' in tx && (tx as SignedTx).bytes instanceof Uint8Array && 'bodyBytes' in tx;
}

function randomU32(): number {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return a[0]!;
}

function hexBytes(v: unknown, field: string, length: number): Uint8Array {
  try {
    return fromHex(v, field, length);
  } catch (e) {
    if (e instanceof HexError) throw new RpcError(0, 'bad_response', field, `server sent a bad ${field}: ${e.message}`);
    throw e;
  }
}

export class NumchainClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private cachedParams: Promise<ParamsJson> | null = null;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    const f: FetchLike | undefined = opts.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    if (typeof f !== 'function') throw new TypeError('no fetch implementation available');
    this.fetchFn = f;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  // ---------------------------------------------------------------- transport

  /** One request; returns [status, parsed JSON body]. Throws RpcError for 4xx/5xx unless `okStatuses` lists it. */
  private async request(method: 'GET' | 'POST', path: string, init: { body?: Uint8Array | string; contentType?: string; waitMs?: number; okStatuses?: readonly number[]; signal?: AbortSignal } = {}): Promise<{ status: number; body: unknown }> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs + (init.waitMs ?? 0));
    const outer = init.signal;
    const onOuterAbort = (): void => ctrl.abort();
    if (outer?.aborted) ctrl.abort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    let res: FetchResponse;
    let text: string;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (init.contentType) headers['content-type'] = init.contentType;
      try {
        res = await this.fetchFn(this.baseUrl + path, { method, headers, body: init.body as BodyInit | undefined, signal: ctrl.signal });
      } catch (e) {
        // A GET is idempotent: retry once when the connection failed, which is mostly a pooled
        // keep-alive socket the server closed while it sat idle (a client that paused, e.g. to sign).
        if (method !== 'GET' || ctrl.signal.aborted) throw e;
        res = await this.fetchFn(this.baseUrl + path, { method, headers, signal: ctrl.signal });
      }
      text = await res.text();
    } catch (e) {
      if (outer?.aborted) throw new RpcError(0, 'aborted', '', `${method} ${path}: aborted by the caller`);
      const aborted = ctrl.signal.aborted;
      throw new RpcError(0, aborted ? 'timeout' : 'network', '', aborted ? `${method} ${path}: no answer within ${this.timeoutMs + (init.waitMs ?? 0)} ms` : `${method} ${path}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
    let body: unknown = text;
    const ct = res.headers.get('content-type') ?? '';
    if (ct.includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new RpcError(res.status, 'bad_response', '', `${method} ${path}: response is not JSON`);
      }
    }
    if (res.status >= 400 && !(init.okStatuses ?? []).includes(res.status)) {
      const e = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      throw new RpcError(
        res.status,
        typeof e.code === 'string' ? e.code : `http_${res.status}`,
        typeof e.field === 'string' ? e.field : '',
        typeof e.message === 'string' ? e.message : `${method} ${path}: HTTP ${res.status}`,
        typeof e.txid === 'string' ? e.txid : null,
      );
    }
    return { status: res.status, body };
  }

  private static waitQuery(waitMs: number | undefined): string {
    if (waitMs === undefined || waitMs <= 0) return '';
    return `?wait=${Math.floor(waitMs)}`;
  }

  // ---------------------------------------------------------------- reads

  async health(): Promise<HealthJson> {
    return (await this.request('GET', '/health')).body as HealthJson;
  }

  /** Chain parameters (fixed at genesis, so cached after the first call unless `refresh`). */
  params(refresh = false): Promise<ParamsJson> {
    if (refresh || this.cachedParams === null) {
      const p = this.request('GET', '/params').then((r) => r.body as ParamsJson);
      p.catch(() => {
        if (this.cachedParams === p) this.cachedParams = null;
      });
      this.cachedParams = p;
    }
    return this.cachedParams;
  }

  /** Limits for building and checking transactions exactly as the node will. */
  async limits(): Promise<TxLimits> {
    const p = await this.params();
    return txLimits({ ...p.ma }, p.bound, p.maxTxBytes);
  }

  /**
   * A committed block, or null if not committed (within `waitMs`). `receipts`: all (default), only
   * the rejected ones, or none (the txids are always there).
   */
  async block(height: number | 'latest', opts: WaitOptions & { readonly receipts?: 'all' | 'rejected' | 'none' } = {}): Promise<BlockJson | null> {
    const q = new URLSearchParams();
    if (height !== 'latest' && opts.waitMs !== undefined && opts.waitMs > 0) q.set('wait', String(Math.floor(opts.waitMs)));
    if (opts.receipts !== undefined && opts.receipts !== 'all') q.set('receipts', opts.receipts);
    const query = q.toString() !== '' ? `?${q}` : '';
    const path = height === 'latest' ? `/block/latest${query}` : `/block/${height}${query}`;
    const r = await this.request('GET', path, { waitMs: height === 'latest' ? 0 : opts.waitMs, okStatuses: [404], signal: opts.signal });
    return r.status === 404 ? null : (r.body as BlockJson);
  }

  /** The committed receipt, or null if not committed (within `waitMs`). */
  async receipt(txid: string, opts: WaitOptions = {}): Promise<ReceiptJson | null> {
    if (!TXID_RE.test(txid)) throw new RpcError(0, 'bad_txid', 'txid', 'txid must be 64 lowercase hex characters');
    const r = await this.request('GET', `/receipt/${txid}${NumchainClient.waitQuery(opts.waitMs)}`, { waitMs: opts.waitMs, okStatuses: [404], signal: opts.signal });
    if (r.status === 404) {
      const code = (r.body as { code?: unknown } | null)?.code;
      if (code !== 'not_found') throw new RpcError(404, typeof code === 'string' ? code : 'http_404', 'txid', 'unexpected 404');
      return null;
    }
    return r.body as ReceiptJson;
  }

  /** One committed row and its proof, unverified. */
  async state(t: RowTarget): Promise<StateJson> {
    return (await this.request('GET', `/state/${t.shard}/${t.layer}/${t.slot}`)).body as StateJson;
  }

  /**
   * One committed row, verified: the proof must lead to the returned stateRoot, and to `trustedRoot`
   * when given (e.g. a block's stateRoot you trust). The row must be the one asked for, at the index
   * the chain parameters put it. Throws RpcError('bad_proof') otherwise.
   */
  async verifiedState(t: RowTarget, opts: { trustedRoot?: string | Uint8Array } = {}): Promise<VerifiedState> {
    const [s, p] = await Promise.all([this.state(t), this.params()]);
    const bad = (msg: string, field = 'proof'): never => {
      throw new RpcError(0, 'bad_proof', field, msg);
    };
    const { shards, layers, slots, dim } = p.ma;
    if (s.shard !== t.shard || s.layer !== t.layer || s.slot !== t.slot) bad('the server answered for a different row', 'target');
    if (s.index !== (t.shard * layers + t.layer) * slots + t.slot) bad('row index does not match the target', 'index');
    if (s.rows !== shards * layers * slots) bad('row count does not match the chain parameters', 'rows');
    if (!Array.isArray(s.values) || s.values.length !== dim || !s.values.every((x) => Number.isInteger(x) && x >= -0x8000_0000 && x <= 0x7fff_ffff)) {
      bad(`values must be ${dim} int32 integers`, 'values');
    }
    if (!Array.isArray(s.path)) bad('path must be an array', 'path');
    const root = hexBytes(s.stateRoot, 'stateRoot', 32);
    const proof: RowProof = {
      shard: s.shard,
      layer: s.layer,
      slot: s.slot,
      index: s.index,
      rows: s.rows,
      values: Int32Array.from(s.values),
      path: s.path.map((h, i) => hexBytes(h, `path[${i}]`, 32)),
    };
    if (!verifyRowProof(proof, root)) bad('the proof does not lead to the returned stateRoot');
    if (opts.trustedRoot !== undefined) {
      const trusted = typeof opts.trustedRoot === 'string' ? hexBytes(opts.trustedRoot, 'trustedRoot', 32) : opts.trustedRoot;
      if (!bytesEqual(trusted, root)) bad(`the returned stateRoot ${s.stateRoot} is not the trusted root ${toHex(trusted)}`, 'stateRoot');
    }
    return { ...s, verified: true };
  }

  async validators(): Promise<ValidatorsJson> {
    return (await this.request('GET', '/validators')).body as ValidatorsJson;
  }

  async evidence(): Promise<unknown> {
    return (await this.request('GET', '/evidence')).body;
  }

  async metricsText(): Promise<string> {
    return (await this.request('GET', '/metrics')).body as string;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Build and sign a transaction for this chain: validUntil = committed height + margin (within the
   * chain's txWindow), a random nonce, fully checked against the chain limits before signing.
   */
  async buildAndSign(op: TxFields['op'], secretKey: Uint8Array, opts: BuildOptions = {}): Promise<SignedTx> {
    const [p, height] = await Promise.all([this.params(), opts.height ?? this.health().then((h) => h.height)]);
    const margin = Math.max(1, Math.min(opts.margin ?? Math.floor(p.txWindow / 2), p.txWindow));
    const limits = txLimits({ ...p.ma }, p.bound, p.maxTxBytes);
    return buildTx({ chainId: p.chainId, nonce: opts.nonce ?? randomU32(), validUntil: height + margin, op }, secretKey, limits);
  }

  /**
   * Submit one transaction for admission. With waitMs, the server also waits for the committed
   * receipt. A refused transaction throws RpcError (status 400/409/422/429/503, code, field, txid).
   */
  async submit(tx: TxInput, opts: WaitOptions = {}): Promise<SubmitResponse> {
    const q = NumchainClient.waitQuery(opts.waitMs);
    const bytes = tx instanceof Uint8Array ? tx : isSignedTx(tx) ? tx.bytes : null;
    const r =
      bytes !== null
        ? await this.request('POST', `/tx${q}`, { body: bytes, contentType: 'application/octet-stream', waitMs: opts.waitMs })
        : await this.request('POST', `/tx${q}`, { body: JSON.stringify(tx), contentType: 'application/json', waitMs: opts.waitMs });
    if (r.status === 200) {
      const receipt = r.body as ReceiptJson;
      return { accepted: true, txid: String(receipt.txid), committed: true, receipt };
    }
    const b = r.body as { txid?: unknown };
    if (typeof b?.txid !== 'string') throw new RpcError(r.status, 'bad_response', 'txid', 'admission response without a txid');
    return { accepted: true, txid: b.txid, committed: false };
  }

  /** Submit many transactions in one request; per-transaction results come back in order. */
  async submitBatch(txs: readonly TxInput[]): Promise<BatchResultJson> {
    const allBinary = txs.every((t) => t instanceof Uint8Array || isSignedTx(t));
    const r = allBinary
      ? await this.request('POST', '/txs', { body: encodeCanonical(txs.map((t) => (t instanceof Uint8Array ? t : (t as SignedTx).bytes))), contentType: 'application/msgpack' })
      : await this.request('POST', '/txs', { body: JSON.stringify({ txs }), contentType: 'application/json' });
    return r.body as BatchResultJson;
  }

  /**
   * Submit and wait for the committed receipt (applied or rejected by execution). Throws RpcError
   * on admission refusal, or with code 'not_committed' if no receipt arrived within waitMs.
   */
  async submitAndWait(tx: TxInput, opts: WaitOptions = {}): Promise<ReceiptJson> {
    const total = opts.waitMs ?? DEFAULT_MAX_WAIT_MS;
    const deadline = Date.now() + total;
    const first = await this.submit(tx, { waitMs: Math.min(total, DEFAULT_MAX_WAIT_MS) });
    if (first.committed) return first.receipt;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const r = await this.receipt(first.txid, { waitMs: Math.min(left, DEFAULT_MAX_WAIT_MS) });
      if (r !== null) return r;
    }
    throw new RpcError(0, 'not_committed', 'txid', `transaction ${first.txid} was admitted but not committed within ${total} ms`, first.txid);
  }
}
