// The state the transport keeps per validator (Peer) and per socket (Conn): plain records shared by
// the connection, handshake, dialing and delivery modules, so none of them owns another's data.
import type { KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FrameDecoder } from './frame.ts';
import { parseAddress, type HostPort } from './address.ts';
import { publicKeyObject } from './auth.ts';
import { OutboundQueue } from './outbound-queue.ts';
import type { RecentIdWindow } from './dedup.ts';
import type { Resolved, ValidatorInfo } from './transport-options.ts';

// 'knocked': our knock's AUTH is written; we wait for the lower index to hang up.
export type ConnState = 'connecting' | 'await_hello' | 'await_challenge' | 'await_auth' | 'open' | 'knocked' | 'closed';

export interface Conn {
  readonly socket: Socket;
  readonly outbound: boolean;
  /** an outbound dial to a lower index: handshake, then hang up (see dialer.ts) */
  readonly knock: boolean;
  readonly decoder: FrameDecoder;
  readonly myChallenge: Uint8Array;
  state: ConnState;
  peer: Peer | null; // known from the start when dialing, after HELLO when accepting
  peerChallenge: Uint8Array | null;
  peerEpoch: number;
  lastHeard: number;
  handshakeTimer: NodeJS.Timeout | null;
  pendingAcks: number[];
  ackHandle: NodeJS.Immediate | NodeJS.Timeout | null;
  waitingDrain: boolean;
}

export interface Peer {
  readonly index: number;
  readonly key: KeyObject;
  address: HostPort;
  readonly queue: OutboundQueue;
  conn: Conn | null; // the authenticated connection
  dialing: Conn | null; // our outbound connection still in handshake
  dialAttempt: number; // consecutive failed dials, for backoff
  everDialed: boolean;
  reconnectTimer: NodeJS.Timeout | null;
  flushHandle: NodeJS.Immediate | null;
  inbound: { epoch: number; window: RecentIdWindow } | null;
}

/** Another validator as we first know it: no connection, nothing queued. */
export function newPeer(v: ValidatorInfo, o: Resolved): Peer {
  return {
    index: v.index,
    key: publicKeyObject(v.publicKey),
    address: parseAddress(v.address, `validators[${v.index}].address`),
    queue: new OutboundQueue({
      maxCount: o.queueMaxCount,
      maxBytes: o.queueMaxBytes,
      maxAttempts: 1 + o.maxRetries,
      ackTimeoutMs: o.ackTimeoutMs,
    }),
    conn: null,
    dialing: null,
    dialAttempt: 0,
    everDialed: false,
    reconnectTimer: null,
    flushHandle: null,
    inbound: null,
  };
}

// A function call, so TypeScript does not narrow c.state across calls that may close the connection.
export function isClosed(c: Conn): boolean {
  return c.state === 'closed';
}
