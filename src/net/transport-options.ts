// What a Transport is configured with: the caller's options, their defaults and their checks.
// Separate so every part of the transport reads one resolved, validated set of numbers.
import { NetError } from './errors.ts';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './frame.ts';
import { MAX_GOSSIP_TTL } from './messages.ts';
import type { RefusalListener } from './tls.ts';

export interface ValidatorInfo {
  readonly index: number;
  /** 32-byte Ed25519 public key from genesis. */
  readonly publicKey: Uint8Array;
  /** Gossip address "host:port"; port 0 means not known yet (see setPeerAddress). */
  readonly address: string;
}

export interface TransportOptions {
  readonly chainId: string;
  /** Our validator index. */
  readonly index: number;
  /** Our 32-byte Ed25519 secret key (seed), the one whose public key genesis lists for `index`. */
  readonly secretKey: Uint8Array;
  readonly validators: readonly ValidatorInfo[];
  /** Where to listen; defaults to our entry's address. Port 0 picks a free port. */
  readonly listen?: string;
  readonly maxFrameBytes?: number; // 8 MiB
  readonly maxHandshakeFrameBytes?: number; // 1 KiB: unauthenticated peers cannot make us buffer more
  readonly handshakeTimeoutMs?: number; // 5000
  readonly maxPendingHandshakes?: number; // 64 inbound sockets not yet authenticated
  readonly queueMaxCount?: number; // 8192 messages per peer
  readonly queueMaxBytes?: number; // 64 MiB per peer
  readonly ackTimeoutMs?: number; // 1000
  readonly maxRetries?: number; // 5 rewrites after the first write
  readonly ackDelayMs?: number; // 0: ACKs are batched within one event-loop turn
  readonly dedupWindow?: number; // 16384 ids per peer
  readonly gossipTtl?: number; // 1: receivers forward once more
  readonly gossipSeenMax?: number; // 65536 payload hashes
  readonly relayGossip?: boolean; // true
  readonly reconnectBaseMs?: number; // 100
  // With a few LAN peers a dial every 1–2 s is cheap; a restarted higher-index validator knocks
  // (see dialer.ts), so the lower index does not wait out this cap to reach it.
  readonly reconnectMaxMs?: number; // 2000
  readonly pingIntervalMs?: number; // 2000
  readonly idleTimeoutMs?: number; // 10000
  readonly socketHighWaterBytes?: number; // 1 MiB written but not yet flushed by the kernel
  /** Jitter source for reconnect delays. */
  readonly random?: () => number;
  /** TLS 1.3 on every link, certificates over the genesis keys (tls.ts). Default false; the node turns it on. */
  readonly tls?: boolean;
  /** Told of every TLS refusal (after it is counted), e.g. to log it. */
  readonly onTlsRefused?: RefusalListener;
}

/** The numeric options with their defaults filled in. */
export interface Resolved {
  readonly maxFrameBytes: number;
  readonly maxHandshakeFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPendingHandshakes: number;
  readonly queueMaxCount: number;
  readonly queueMaxBytes: number;
  readonly ackTimeoutMs: number;
  readonly maxRetries: number;
  readonly ackDelayMs: number;
  readonly dedupWindow: number;
  readonly gossipTtl: number;
  readonly gossipSeenMax: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly socketHighWaterBytes: number;
}

export const DEFAULTS: Resolved = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxHandshakeFrameBytes: 1024,
  handshakeTimeoutMs: 5000,
  maxPendingHandshakes: 64,
  queueMaxCount: 8192,
  queueMaxBytes: 64 * 1024 * 1024,
  ackTimeoutMs: 1000,
  maxRetries: 5,
  ackDelayMs: 0,
  dedupWindow: 16384,
  gossipTtl: 1,
  gossipSeenMax: 65536,
  reconnectBaseMs: 100,
  reconnectMaxMs: 2000,
  pingIntervalMs: 2000,
  idleTimeoutMs: 10_000,
  socketHighWaterBytes: 1024 * 1024,
};

export function resolveOptions(o: TransportOptions): Resolved {
  const r: { -readonly [K in keyof Resolved]: number } = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS) as (keyof Resolved)[]) {
    const v = o[k];
    if (v === undefined) continue;
    const min = k === 'maxRetries' || k === 'ackDelayMs' || k === 'gossipTtl' ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) throw new NetError('bad_argument', `option ${k} must be an integer >= ${min}, got ${v}`, k);
    r[k] = v;
  }
  if (r.gossipTtl > MAX_GOSSIP_TTL) throw new NetError('bad_argument', `option gossipTtl must be <= ${MAX_GOSSIP_TTL}`, 'gossipTtl');
  if (r.queueMaxBytes < r.maxFrameBytes + FRAME_HEADER_BYTES) {
    throw new NetError('bad_argument', 'option queueMaxBytes must hold at least one maximal frame', 'queueMaxBytes');
  }
  if (r.maxHandshakeFrameBytes > r.maxFrameBytes) {
    throw new NetError('bad_argument', 'option maxHandshakeFrameBytes must not exceed maxFrameBytes', 'maxHandshakeFrameBytes');
  }
  return r;
}
