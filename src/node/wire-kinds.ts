// Which transport message type carries which replica message kind (the numbers are the wire format).
import type { WireKind } from '../driver/world.ts';
import { MsgType, type AppMsgType } from '../net/messages.ts';

export const KIND_TO_NET: Readonly<Record<WireKind, AppMsgType>> = {
  proposal: MsgType.PROPOSAL,
  vote: MsgType.VOTE,
  timeout: MsgType.TIMEOUT,
  cert: MsgType.CERT,
  evidence: MsgType.EVIDENCE,
  poc: MsgType.POC,
  sync_request: MsgType.SYNC_REQUEST,
  sync_response: MsgType.SYNC_RESPONSE,
  txs: MsgType.TXGOSSIP,
};

const NET_TO_KIND = new Map<number, WireKind>(Object.entries(KIND_TO_NET).map(([k, v]) => [v, k as WireKind]));

/** The replica kind of a received transport type, or undefined for one the replica does not take. */
export function kindOfNet(type: number): WireKind | undefined {
  return NET_TO_KIND.get(type);
}
