// "host:port" parsing for gossip addresses ("[::1]:7000" for IPv6). Port 0 means "not known yet".
import { NetError } from './errors.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseAddress(address: string, field = 'address'): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new NetError('bad_argument', `${field} must look like host:port, got ${JSON.stringify(address)}`, field);
  return { host: m[1] ?? m[2], port };
}

export function formatAddress(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
