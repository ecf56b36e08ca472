// How the dashboard reads a node's HTTP API: the base URL (this page's origin, or ?api=), bounded
// GETs that treat 404 as "not there" and anything else that is not 2xx as an error.

const params = new URLSearchParams(location.search);
export const API = (params.get('api') ?? location.origin).replace(/\/+$/, '');

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function get(path: string, timeoutMs = 15_000): Promise<Response> {
  const ctrl = new AbortController();
  const t = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const r = await fetch(API + path, { signal: ctrl.signal, cache: 'no-store' });
    if (!r.ok && r.status !== 404) throw new HttpError(r.status, `GET ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    return r;
  } finally {
    clearTimeout(t);
  }
}

export async function getJson<T>(path: string, timeoutMs?: number): Promise<T | null> {
  const r = await get(path, timeoutMs);
  if (r.status === 404) return null;
  return (await r.json()) as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
