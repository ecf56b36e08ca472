// Small pieces every route of the HTTP API uses: the reasons a request is refused (each a series of
// numchain_rpc_requests_rejected_total), a refusal carried out of a handler, the route table's
// types, and strict parsing of bodies, media types, path indices and ?wait=.
import type { H3Event } from 'h3';
import type { SubmitResult } from './api.ts';
import { readBodyLimited } from './body.ts';

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

export type Method = 'GET' | 'POST';
export type Handler = (event: H3Event) => unknown | Promise<unknown>;
/** path (h3 pattern) → a handler per method */
export type Routes = Record<string, Partial<Record<Method, Handler>>>;

/** A refusal carried out of a handler: status, machine-readable code, field, counting reason. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly reason: RpcRejectReason,
    readonly body: Record<string, unknown>,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export function refuse(status: number, reason: RpcRejectReason, code: string, field: string, message: string, headers?: Record<string, string>): Refusal {
  return new Refusal(status, reason, { code, field, message }, headers);
}

/** Answer with `status` and `body` (JSON unless a content-type header says otherwise). */
export function send(event: H3Event, status: number, body: unknown, headers?: Readonly<Record<string, string>>): unknown {
  event.res.status = status;
  if (headers) for (const [k, v] of Object.entries(headers)) event.res.headers.set(k, v);
  return body;
}

/** Who is asking, for per-client budgets: the remote address. */
export function clientKey(event: H3Event): string {
  return event.runtime?.node?.req.socket.remoteAddress ?? event.req.headers.get('x-forwarded-for') ?? 'unknown';
}

/** ?wait= in ms (0 when absent), clamped to `maxWaitMs`. */
export function waitParam(event: H3Event, maxWaitMs: number): number {
  const raw = event.url.searchParams.get('wait');
  if (raw === null || raw === '') return 0;
  if (!/^\d{1,12}$/.test(raw)) throw refuse(400, 'bad_request', 'bad_wait', 'wait', 'wait must be a number of milliseconds ≥ 0');
  return Math.min(Number(raw), maxWaitMs);
}

/** The whole body, at most `limit` bytes (413 beyond it; the server drops the rest as it arrives). */
export async function readBody(event: H3Event, limit: number): Promise<Uint8Array> {
  const r = await readBodyLimited(event, limit);
  if (r.ok) return r.bytes;
  if (r.reason === 'too_large') throw refuse(413, 'body_too_large', 'body_too_large', 'body', `request body exceeds ${limit} bytes`);
  throw refuse(400, 'bad_request', 'aborted', 'body', 'request body was not received completely');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function mediaType(event: H3Event): string {
  const ct = event.req.headers.get('content-type');
  return ct === null ? '' : ct.split(';')[0]!.trim().toLowerCase();
}

/** JSON also under the types curl and HTML forms send by default, so `curl -d @tx.json` works. */
export const JSON_TYPES = ['', 'application/json', 'text/plain', 'application/x-www-form-urlencoded'];

export function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw refuse(400, 'bad_request', 'bad_json', 'body', 'request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw refuse(400, 'bad_request', 'bad_json', 'body', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

export function parseIndex(raw: string | undefined, field: string): number {
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) throw refuse(400, 'bad_request', `bad_${field}`, field, `${field} must be a non-negative integer`);
  return Number(raw);
}

export function submitStatus(r: SubmitResult): number {
  if (r.accepted) return 202;
  return Number.isInteger(r.status) && r.status >= 400 && r.status <= 599 ? r.status : 400;
}

export function retryHeaders(status: number): Record<string, string> {
  return status === 429 || status === 503 ? { 'retry-after': '1' } : {};
}
