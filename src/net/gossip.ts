// Best-effort TXGOSSIP: payload-hash dedup, delivery, and relay with a decreasing TTL. Separate
// because it shares nothing with reliable delivery but the per-peer queue it enqueues into.
import { createHash } from 'node:crypto';
import { MsgType, encodeAppFrame, type AppMsgType, type GossipMsg } from './messages.ts';
import { RecentKeySet } from './dedup.ts';
import { countersOf, type TransportStats } from './stats.ts';
import type { Resolved } from './transport-options.ts';
import type { Peer } from './peer.ts';

/** What gossip needs from the transport around it. */
export interface GossipHost {
  readonly o: Resolved;
  readonly stats: TransportStats;
  readonly peers: ReadonlyMap<number, Peer>;
  /** Forward what we receive (the relayGossip option). */
  readonly relay: boolean;
  isStarted(): boolean;
  /** Queue a best-effort frame (id 0) for `p`. */
  enqueue(p: Peer, type: AppMsgType, id: number, frame: Uint8Array): void;
  deliver(from: number, type: AppMsgType, payload: Uint8Array): void;
}

export class Gossip {
  private readonly seen: RecentKeySet;

  constructor(private readonly host: GossipHost) {
    this.seen = new RecentKeySet(host.o.gossipSeenMax);
  }

  /** The frame for gossip we originate, remembered so that relayed echoes are recognised. */
  ownFrame(payload: Uint8Array): Uint8Array {
    this.seen.add(gossipKey(payload));
    return encodeAppFrame(MsgType.TXGOSSIP, this.host.o.gossipTtl, payload);
  }

  onGossip(p: Peer, m: GossipMsg): void {
    const h = this.host;
    if (!this.seen.add(gossipKey(m.payload))) {
      countersOf(h.stats, m.type).duplicates++;
      return;
    }
    h.deliver(p.index, m.type, m.payload);
    if (m.ttl === 0) {
      h.stats.gossipTtlExpired++;
      return;
    }
    if (!h.relay || !h.isStarted()) return;
    let frame: Uint8Array | null = null;
    for (const q of h.peers.values()) {
      if (q === p || !q.conn) continue;
      frame ??= encodeAppFrame(MsgType.TXGOSSIP, m.ttl - 1, m.payload);
      h.enqueue(q, MsgType.TXGOSSIP, 0, frame);
      h.stats.gossipRelayed++;
    }
  }
}

function gossipKey(payload: Uint8Array): string {
  // 128 bits of SHA-256 are plenty to tell transactions apart in a bounded window.
  return createHash('sha256').update(payload).digest('base64').slice(0, 22);
}
