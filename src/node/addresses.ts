// host:port addresses as operators type them: a listen address may be a bare port (the host is then
// a default that depends on what listens: 127.0.0.1 for the HTTP API, 0.0.0.0 for gossip), an
// advertised address never may (peers must know where to dial). IPv6 hosts go in brackets. Stricter
// than the transport's parseAddress: these end up in genesis, which takes only this spelling.
import { formatAddress, type HostPort } from '../net/address.ts';

export type { HostPort };

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

// The same spelling genesis accepts for validator addresses (src/node/genesis.ts).
const HOST_PORT = /^(?:([A-Za-z0-9.-]+)|\[([0-9a-fA-F:]+)\]):(\d{1,5})$/;

/** Parse "host:port" (or "[v6]:port"); throws AddressError naming `what`. */
export function parseHostPort(s: string, what: string): HostPort {
  const m = HOST_PORT.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new AddressError(`${what} must be host:port (or a port, where allowed), got ${JSON.stringify(s)}`);
  return { host: m[1] ?? m[2]!, port };
}

export const formatHostPort = formatAddress;

/** A port number 0–65535 written alone ("8000"), or null when `s` is something else. */
export function barePort(s: string | number): number | null {
  const t = String(s).trim();
  if (!/^\d{1,5}$/.test(t) || Number(t) > 65535) return null;
  return Number(t);
}

/**
 * A listen address: "host:port", or a bare port that listens on `defaultHost`. Returns "host:port".
 */
export function listenAddress(s: string | number, defaultHost: string, what: string): string {
  const p = barePort(s);
  if (p !== null) return formatHostPort({ host: defaultHost, port: p });
  return formatHostPort(parseHostPort(String(s), what));
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** 0.0.0.0 and :: mean "every interface": fine to listen on, never an address to dial. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '0.0.0.0' || /^[0:]+$/.test(host);
}
