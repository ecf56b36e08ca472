// The HELLO / CHALLENGE / AUTH exchange that turns a socket into an authenticated link to one
// validator. Separate because it is the security boundary: nothing else reads a frame before it ends.
//
// Handshake (all frames capped at maxHandshakeFrameBytes until it completes):
//   dialer   → HELLO     (version, chainId, from, to, epoch, challengeD)
//   acceptor → CHALLENGE (version, chainId, from, to, epoch, challengeA, sig_A(challengeD, challengeA))
//   dialer   → AUTH      (sig_D(challengeA, challengeD))
// Signatures are over authSigningBytes (see auth.ts). The epoch is a random per-instance number:
// message ids restart when a sender restarts, so the receiver's dedup window is per (peer, epoch).
import type { KeyObject } from 'node:crypto';
import { NetError } from './errors.ts';
import { MsgType, PROTOCOL_VERSION, msgTypeName, type Message, type HelloMsg, type ChallengeMsg, type AuthMsg } from './messages.ts';
import { signAuth, verifyAuth } from './auth.ts';
import type { TransportStats } from './stats.ts';
import type { PeerTls } from './tls.ts';
import type { Conn, Peer } from './peer.ts';

/** What the handshake needs from the transport around it. */
export interface HandshakeHost {
  readonly chainId: string;
  readonly index: number;
  readonly key: KeyObject;
  readonly epoch: number;
  readonly tls: PeerTls | null;
  readonly stats: TransportStats;
  peer(index: number): Peer | undefined;
  write(c: Conn, msg: Message): void;
  close(c: Conn): void;
  /** The handshake on `c` is done; `c` becomes `p`'s connection. */
  establish(c: Conn, p: Peer): void;
  /** Whether `p` is dialing us right now (its handshake is waiting for AUTH). */
  acceptingFrom(p: Peer): boolean;
  /** `p` knocked: dial it now instead of at the end of its backoff. */
  answerKnock(p: Peer): void;
}

export class Handshake {
  constructor(private readonly host: HandshakeHost) {}

  /** Our dial to `p` is connected (with TLS: and its key checked); open the handshake. */
  hello(c: Conn, p: Peer): void {
    const h = this.host;
    c.state = 'await_challenge';
    h.write(c, {
      type: MsgType.HELLO,
      version: PROTOCOL_VERSION,
      chainId: h.chainId,
      from: h.index,
      to: p.index,
      epoch: h.epoch,
      challenge: c.myChallenge,
    });
  }

  /** A frame on a connection that is not open yet; throws an auth_failed NetError to refuse it. */
  onMessage(c: Conn, msg: Message): void {
    switch (c.state) {
      case 'await_hello':
        if (msg.type !== MsgType.HELLO) throw authError(`expected HELLO, got ${msgTypeName(msg.type)}`);
        return this.onHello(c, msg);
      case 'await_challenge':
        if (msg.type !== MsgType.CHALLENGE) throw authError(`expected CHALLENGE, got ${msgTypeName(msg.type)}`);
        return this.onChallenge(c, msg);
      case 'await_auth':
        if (msg.type !== MsgType.AUTH) throw authError(`expected AUTH, got ${msgTypeName(msg.type)}`);
        return this.onAuth(c, msg);
      default:
        throw authError(`frame received before the handshake started`);
    }
  }

  private checkFields(m: HelloMsg | ChallengeMsg): Peer {
    const h = this.host;
    if (m.version !== PROTOCOL_VERSION) throw authError(`protocol version ${m.version}, expected ${PROTOCOL_VERSION}`, 'version');
    if (m.chainId !== h.chainId) throw authError(`chain id ${JSON.stringify(m.chainId)} is not ours`, 'chainId');
    if (m.to !== h.index) throw authError(`peer addressed validator ${m.to}, we are ${h.index}`, 'to');
    const p = h.peer(m.from);
    if (!p) throw authError(`validator index ${m.from} is not in the validator set`, 'from');
    return p;
  }

  private onHello(c: Conn, m: HelloMsg): void {
    const h = this.host;
    const p = this.checkFields(m);
    if (h.tls && !h.tls.helloMatches(c.socket, p.index)) throw authError(`TLS certificate is not validator ${p.index}'s key`, 'from');
    c.peer = p;
    c.peerChallenge = m.challenge;
    c.peerEpoch = m.epoch;
    c.state = 'await_auth';
    const signature = this.sign(m.challenge, c.myChallenge, p);
    h.write(c, {
      type: MsgType.CHALLENGE,
      version: PROTOCOL_VERSION,
      chainId: h.chainId,
      from: h.index,
      to: p.index,
      epoch: h.epoch,
      challenge: c.myChallenge,
      signature,
    });
  }

  private onChallenge(c: Conn, m: ChallengeMsg): void {
    const h = this.host;
    const p = this.checkFields(m);
    if (p !== c.peer) throw authError(`dialed validator ${c.peer?.index}, answered by ${m.from}`, 'from');
    this.verify(p, c.myChallenge, m.challenge, m.signature);
    c.peerEpoch = m.epoch;
    // A knock that is no longer needed (the lower index reached us meanwhile) just hangs up.
    if (c.knock && (p.conn || h.acceptingFrom(p))) return h.close(c);
    h.write(c, { type: MsgType.AUTH, signature: this.sign(m.challenge, c.myChallenge, p) });
    if (!c.knock) return h.establish(c, p);
    // Knock delivered once AUTH is out; the peer hangs up, and the 'close' event ends it here.
    c.state = 'knocked';
    c.socket.end();
  }

  private onAuth(c: Conn, m: AuthMsg): void {
    const h = this.host;
    const p = c.peer!;
    this.verify(p, c.myChallenge, c.peerChallenge!, m.signature);
    if (p.index < h.index) return h.establish(c, p);
    // An authenticated knock from a higher index: it has no connection to us, so dial it now.
    h.stats.knocksReceived++;
    h.close(c);
    h.answerKnock(p);
  }

  private sign(verifierChallenge: Uint8Array, signerChallenge: Uint8Array, verifier: Peer): Uint8Array {
    const h = this.host;
    return signAuth(h.key, { chainId: h.chainId, verifierChallenge, signerChallenge, signerIndex: h.index, verifierIndex: verifier.index });
  }

  private verify(signer: Peer, verifierChallenge: Uint8Array, signerChallenge: Uint8Array, signature: Uint8Array): void {
    const h = this.host;
    const ok = verifyAuth(signer.key, { chainId: h.chainId, verifierChallenge, signerChallenge, signerIndex: signer.index, verifierIndex: h.index }, signature);
    if (!ok) throw authError(`bad handshake signature from validator ${signer.index}`, 'signature');
  }
}

function authError(message: string, field?: string): NetError {
  return new NetError('auth_failed', message, field);
}
