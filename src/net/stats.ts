// Plain counters, mutated in place by the transport and read by the metrics module.
// Every counter exists from the start (at 0), so exporters never see a metric appear late.
import { MSG_TYPE_NAMES, msgTypeName, type MsgTypeName } from './messages.ts';
import { newTlsRefusals, type TlsRefusal } from './tls.ts';

export interface TypeCounters {
  /** Frames written to a socket (retries included). */
  sent: number;
  sentBytes: number;
  /** Valid frames read from an authenticated peer (duplicates included). */
  received: number;
  receivedBytes: number;
  /** Messages handed to the onMessage handlers. */
  delivered: number;
  /** Critical messages the peer acknowledged. */
  acked: number;
  /** Rewrites of a critical message (timeout or reconnect). */
  retried: number;
  /** Outbound messages removed undelivered (queue overflow, retries exhausted, stop). */
  dropped: number;
  /** Inbound messages not delivered because already seen (critical: by id, TXGOSSIP: by payload hash). */
  duplicates: number;
}

export interface TransportStats {
  readonly byType: Readonly<Record<MsgTypeName, TypeCounters>>;
  /** Peer links refused by TLS (only with the tls option): see tls.ts for the reasons. */
  readonly tlsRefused: Record<TlsRefusal, number>;
  connectsOut: number; // authenticated connections we dialed
  connectsIn: number; // authenticated connections we accepted
  disconnects: number; // authenticated connections lost
  reconnectAttempts: number; // dials after the first one to a peer
  dialFailures: number;
  knocksSent: number; // handshakes towards a lower index asking it to dial us (we had no connection)
  knocksReceived: number; // authenticated knocks from higher indexes, each answered by a dial
  authFailures: number; // handshakes refused (unknown index/key, bad signature, wrong chain, ...)
  handshakeTimeouts: number;
  pendingHandshakesRefused: number; // inbound sockets refused because too many handshakes were open
  malformedFrames: number; // undecodable, unknown-type or out-of-order frames (connection closed)
  oversizeFrames: number; // length prefix above the cap (connection closed)
  slowPeerDisconnects: number; // peer stopped reading and our socket buffer hit its cap
  idleDisconnects: number; // nothing heard within idleTimeoutMs
  replacedConnections: number; // an older connection to a peer superseded by a newer one
  overflowDrops: number;
  retryExhaustedDrops: number;
  staleIdDrops: number; // critical ids below the dedup window (treated as seen)
  gossipRelayed: number; // TXGOSSIP frames forwarded to other peers
  gossipTtlExpired: number; // TXGOSSIP received with ttl 0 (delivered, not relayed)
  handlerErrors: number; // exceptions thrown by onMessage / onPeer handlers
}

function typeCounters(): TypeCounters {
  return { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, delivered: 0, acked: 0, retried: 0, dropped: 0, duplicates: 0 };
}

export function newTransportStats(): TransportStats {
  const byType = {} as Record<MsgTypeName, TypeCounters>;
  for (const n of MSG_TYPE_NAMES) byType[n] = typeCounters();
  return {
    byType,
    tlsRefused: newTlsRefusals(),
    connectsOut: 0,
    connectsIn: 0,
    disconnects: 0,
    reconnectAttempts: 0,
    dialFailures: 0,
    knocksSent: 0,
    knocksReceived: 0,
    authFailures: 0,
    handshakeTimeouts: 0,
    pendingHandshakesRefused: 0,
    malformedFrames: 0,
    oversizeFrames: 0,
    slowPeerDisconnects: 0,
    idleDisconnects: 0,
    replacedConnections: 0,
    overflowDrops: 0,
    retryExhaustedDrops: 0,
    staleIdDrops: 0,
    gossipRelayed: 0,
    gossipTtlExpired: 0,
    handlerErrors: 0,
  };
}

/** The counters of one message type; `type` is a known wire type (decoded or one we send). */
export function countersOf(stats: TransportStats, type: number): TypeCounters {
  return stats.byType[msgTypeName(type)!];
}
