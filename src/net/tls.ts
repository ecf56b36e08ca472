// TLS 1.3 for peer links (issue 19 §2): node:tls does the cipher, the key exchange and the
// CertificateVerify; this module only builds the certificate and checks the peer's key.
//
// Each validator presents a self-signed X.509 certificate over its own genesis Ed25519 key, so
// there is nothing to issue or distribute: genesis already is the list of trusted keys. Chain
// validation is off (rejectUnauthorized: false, no CA); instead, after the handshake, the peer
// certificate's raw public key must be a genesis key, and on the dialing side the key of the
// validator we dialed. TLS 1.3's CertificateVerify signs the handshake transcript with that key,
// so a relay that terminates TLS with any other key is refused (`unknown_key` / `wrong_key`),
// and one that forwards the bytes sees only ciphertext.
//
// The existing challenge handshake (auth.ts) still runs inside the channel: it binds the chain
// id, the claimed index and the epoch, which the certificate does not carry, and it keeps one
// wire format for TLS and plaintext links.
//
// The certificate is built here (a fixed DER template, ~40 lines) rather than with an X.509
// library: the fields are constant, Node signs the TBS bytes with the Ed25519 key, and the
// validity period is fixed, so building it reads no clock and the same key gives the same bytes.
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { TLSSocket as TLSSocketCtor, connect as tlsConnect, type TLSSocket, type ConnectionOptions, type TlsOptions } from 'node:tls';
import type { Socket } from 'node:net';

/** Why a TLS peer link was refused; each reason is a counter in TransportStats.tlsRefused. */
export type TlsRefusal = 'tls_handshake_failed' | 'plaintext' | 'unknown_key' | 'wrong_key';
export const TLS_REFUSALS: readonly TlsRefusal[] = ['tls_handshake_failed', 'plaintext', 'unknown_key', 'wrong_key'];

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
const seq = (...p: Buffer[]): Buffer => tlv(0x30, ...p);
const OID_ED25519 = Buffer.from([0x06, 0x03, 0x2b, 0x65, 0x70]);
const OID_CN = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);

/** A self-signed X.509 v3 certificate (PEM) over `key`'s Ed25519 public key. */
export function selfSignedCert(key: KeyObject, commonName: string): string {
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const name = seq(tlv(0x31, seq(OID_CN, tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const validity = seq(tlv(0x18, Buffer.from('20000101000000Z')), tlv(0x18, Buffer.from('99991231235959Z')));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, Buffer.from([1])), // serial
    seq(OID_ED25519),
    name,
    validity,
    name,
    spki,
  );
  const sig = sign(null, tbs, key);
  const der = seq(tbs, seq(OID_ED25519), tlv(0x03, Buffer.from([0]), sig));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/** Options shared by the dialing and the accepting side. */
export function tlsOptions(key: KeyObject, index: number): TlsOptions & ConnectionOptions {
  return {
    key: key.export({ format: 'pem', type: 'pkcs8' }),
    cert: selfSignedCert(key, `numchain-validator-${index}`),
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: true,
    // Trust comes from genesis, not from a CA: the key is checked after the handshake (peerKeyHex).
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
}

/** The peer certificate's raw Ed25519 public key as hex, or null if there is none or it is not Ed25519. */
export function peerKeyHex(s: TLSSocket): string | null {
  const cert = s.getPeerX509Certificate();
  if (cert === undefined) return null;
  const pk = cert.publicKey;
  if (pk.asymmetricKeyType !== 'ed25519') return null;
  const jwk = pk.export({ format: 'jwk' });
  return typeof jwk.x === 'string' ? Buffer.from(jwk.x, 'base64url').toString('hex') : null;
}

/** Classify a TLS error on an inbound socket: a peer that spoke plaintext, or any other failure. */
export function classifyTlsError(e: unknown): TlsRefusal {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  return /WRONG_VERSION_NUMBER|HTTP_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LENGTH_MISMATCH/.test(code) ? 'plaintext' : 'tls_handshake_failed';
}

/**
 * Wraps peer sockets in TLS 1.3 and refuses (destroys) the ones whose certificate key is not the
 * one genesis expects. Refusals are counted in `refused`; the transport sees only the socket close.
 */
export class PeerTls {
  private readonly opts: TlsOptions & ConnectionOptions;
  /** hex public key → validator index, from genesis */
  private readonly keys: ReadonlyMap<string, number>;
  private readonly refused: Record<TlsRefusal, number>;
  /** validator index of each accepted socket's certificate key, for helloMatches */
  private readonly certIndex = new WeakMap<object, number>();

  private readonly onRefused: RefusalListener;

  constructor(key: KeyObject, index: number, keys: ReadonlyMap<string, number>, refused: Record<TlsRefusal, number>, onRefused: RefusalListener = () => {}) {
    this.opts = tlsOptions(key, index);
    this.keys = keys;
    this.refused = refused;
    this.onRefused = onRefused;
  }

  /** Server side of an accepted TCP socket. Any genesis key is accepted here; the challenge handshake then binds it to an index. */
  accept(raw: Socket): TLSSocket {
    const s = new TLSSocketCtor(raw, { ...this.opts, isServer: true });
    this.watch(s, 'secure', null);
    return s;
  }

  /** Dial `host:port` expecting the certificate of validator `expected`. */
  dial(host: string, port: number, expected: number): TLSSocket {
    const s = tlsConnect({ ...this.opts, host, port });
    s.setNoDelay(true);
    this.watch(s, 'secureConnect', expected);
    return s;
  }

  private watch(s: TLSSocket, event: 'secure' | 'secureConnect', expected: number | null): void {
    let secure = false;
    s.once(event, () => {
      secure = true;
      const hex = peerKeyHex(s);
      const who = hex === null ? undefined : this.keys.get(hex);
      if (who !== undefined) this.certIndex.set(s, who);
      if (who === undefined) this.refuse(s, 'unknown_key');
      else if (expected !== null && who !== expected) this.refuse(s, 'wrong_key');
    });
    // A failure before the handshake completed is a TLS refusal; after it, an ordinary disconnect.
    s.on('error', (e) => {
      if (!secure) {
        secure = true;
        this.count(expected === null ? classifyTlsError(e) : 'tls_handshake_failed', s);
      }
    });
  }

  /**
   * On an accepted socket: does the certificate belong to the validator that HELLO claims? A
   * relay holding another validator's key passes the TLS check but not this one (counted wrong_key).
   */
  helloMatches(s: object, claimed: number): boolean {
    if (this.certIndex.get(s) === claimed) return true;
    this.count('wrong_key', s as TLSSocket);
    return false;
  }

  private refuse(s: TLSSocket, why: TlsRefusal): void {
    this.count(why, s);
    s.destroy();
  }

  private count(why: TlsRefusal, s: TLSSocket): void {
    this.refused[why]++;
    this.onRefused(why, s.remoteAddress ?? '?');
  }
}

export type RefusalListener = (reason: TlsRefusal, remoteHost: string) => void;

/**
 * A listener that logs the first refusal per (remote host, reason) and then at most one per
 * `intervalMs`, with the count since the last line: a peer retrying every second with the wrong
 * genesis must not flood the log.
 */
export function rateLimitedRefusalLog(warn: (msg: string, fields: Record<string, unknown>) => void, now: () => number, intervalMs = 60_000): RefusalListener {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (reason, remoteHost) => {
    const k = `${remoteHost}/${reason}`;
    const e = last.get(k);
    const t = now();
    if (e !== undefined && t - e.at < intervalMs) {
      e.suppressed++;
      return;
    }
    if (last.size > 1024) last.clear(); // bound the map against many source addresses
    last.set(k, { at: t, suppressed: 0 });
    warn('peer link refused by TLS', { reason, remote: remoteHost, ...(e ? { since_last_line: e.suppressed + 1 } : {}) });
  };
}

/** Counters for every refusal reason, all at 0. */
export function newTlsRefusals(): Record<TlsRefusal, number> {
  return { tls_handshake_failed: 0, plaintext: 0, unknown_key: 0, wrong_key: 0 };
}
