// Shared helpers for the net tests: a seeded PRNG, validator keys, and a cluster of transports
// on 127.0.0.1 with ports chosen by the OS.
import { publicKeyFromSeed } from '../../src/net/auth.ts';
import { Transport, type TransportOptions, type ValidatorInfo } from '../../src/net/transport.ts';
import type { AppMsgType } from '../../src/net/messages.ts';

/** splitmix32: tiny, seeded, good enough to pick chunk boundaries and payload bytes. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

export function seedFor(i: number, salt = 0): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = i + 1;
  s[1] = salt;
  s[31] = 0x5a;
  return s;
}

export const CHAIN_ID = 'numchain-test';

export interface Received {
  from: number;
  type: AppMsgType;
  payload: Uint8Array;
}

export interface Node {
  t: Transport;
  inbox: Received[];
}

export function validatorSet(n: number): ValidatorInfo[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, publicKey: publicKeyFromSeed(seedFor(i)), address: '127.0.0.1:0' }));
}

/** Make a transport for validator `i` of `validators` and record what it delivers. */
export function makeNode(i: number, validators: ValidatorInfo[], extra: Partial<TransportOptions> = {}, secretKey = seedFor(i)): Node {
  const t = new Transport({
    chainId: CHAIN_ID,
    index: i,
    secretKey,
    validators,
    listen: '127.0.0.1:0',
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    ackTimeoutMs: 200,
    ...extra,
  });
  const inbox: Received[] = [];
  t.onMessage((from, type, payload) => inbox.push({ from, type, payload }));
  return { t, inbox };
}

/** Start all nodes, then tell every node every other node's bound address. */
export async function startAll(nodes: readonly Node[]): Promise<void> {
  const addrs = await Promise.all(nodes.map((n) => n.t.start()));
  for (const n of nodes) {
    for (let j = 0; j < nodes.length; j++) {
      if (nodes[j].t.index !== n.t.index) n.t.setPeerAddress(nodes[j].t.index, `127.0.0.1:${addrs[j].port}`);
    }
  }
}

/** Poll until cond() holds; fails with `what` after `ms`. Not a timing assertion: only a hang guard. */
export async function waitFor(cond: () => boolean, what: string, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- a hand-driven peer speaking the wire protocol, for crafting frames a Transport never sends ----
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../../src/net/frame.ts';
import { decodeMessage, encodeMessage, MsgType as MT, type Message } from '../../src/net/messages.ts';
import { privateKeyFromSeed, signAuth, newChallenge } from '../../src/net/auth.ts';

export class RawPeer {
  readonly received: Message[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 1 << 24 });
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.decoder.push(chunk);
      for (let b = this.decoder.next(); b !== null; b = this.decoder.next()) this.received.push(decodeMessage(b));
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  static async connect(port: number): Promise<RawPeer> {
    const s = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawPeer(s);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(m: Message): void {
    this.write(encodeFrame(encodeMessage(m)));
  }

  /** Run the dialer side of the handshake as validator `from`, signing with `seed`. */
  async handshake(opts: { from: number; to: number; seed: Uint8Array; epoch: number; chainId?: string }): Promise<void> {
    const chainId = opts.chainId ?? CHAIN_ID;
    const challenge = newChallenge();
    this.send({ type: MT.HELLO, version: 1, chainId, from: opts.from, to: opts.to, epoch: opts.epoch, challenge });
    await waitFor(() => this.received.length > 0 || this.closed, 'CHALLENGE');
    const ch = this.received.shift();
    if (!ch || ch.type !== MT.CHALLENGE) throw new Error('no CHALLENGE');
    const signature = signAuth(privateKeyFromSeed(opts.seed), {
      chainId,
      verifierChallenge: ch.challenge,
      signerChallenge: challenge,
      signerIndex: opts.from,
      verifierIndex: opts.to,
    });
    this.send({ type: MT.AUTH, signature });
  }

  close(): void {
    this.socket.destroy();
  }
}
