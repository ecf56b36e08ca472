// Base64 (RFC 4648, with padding) for bytes carried in JSON. Portable: atob/btoa exist in browsers,
// Node ≥ 16, Bun and Deno. Decoding refuses anything that is not canonical base64, so one byte string
// has one spelling on the wire.

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class Base64Error extends Error {
  override readonly name = 'Base64Error';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function fromBase64(s: unknown, field = 'base64'): Uint8Array {
  if (typeof s !== 'string' || !B64_RE.test(s)) throw new Base64Error(field, `${field} must be a base64 string`);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (toBase64(out) !== s) throw new Base64Error(field, `${field} is not canonical base64`);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let bin = '';
  // In chunks: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(bin);
}
