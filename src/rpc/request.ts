// Small pieces every route of the HTTP API uses: a refusal carried out of a handler, and strict
// parsing of bodies, media types and path indices.
import type { H3Event } from 'h3';
import type { SubmitResult } from './api.ts';
import type { RpcRejectReason } from './server.ts';

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
