// Property tests of the transport's frame reader (src/net/frame.ts) and envelope decoder
// (src/net/messages.ts): frames split anywhere come out whole and in order; any byte stream gives
// frames or NetError, after which the reader stays failed, and it never holds more than one partial
// frame; any frame body decodes to an envelope or throws NetError.
import fc from 'fast-check';
import { test } from 'uvu';
import { NetError } from '../../src/net/errors.ts';
import { encodeFrame, FrameDecoder } from '../../src/net/frame.ts';
import { decodeMessage, encodeMessage, MsgType, type Message } from '../../src/net/messages.ts';
import { expectTyped, fuzz, mutate, mutationArb, sameBytes } from './fuzz.ts';

/** `bytes` cut at the given points (taken modulo its length), in order. */
function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test('frames: bodies cut at any points come out whole, in order', () =>
  fuzz('frame/roundtrip', 1000, fc.property(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    (bodies, cuts) => {
      const d = new FrameDecoder({ maxFrameBytes: 300 });
      const got: Uint8Array[] = [];
      for (const chunk of split(concat(bodies.map(encodeFrame)), cuts)) {
        d.push(chunk);
        for (let f = d.next(); f !== null; f = d.next()) got.push(f);
      }
      if (got.length !== bodies.length || !got.every((g, i) => sameBytes(g, bodies[i]!))) throw new Error('frames differ');
      if (d.bufferedBytes !== 0) throw new Error('bytes left over');
    },
  )));

const streamArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.tuple(fc.array(fc.uint8Array({ minLength: 1, maxLength: 120 }), { maxLength: 5 }), fc.array(mutationArb, { maxLength: 4 })).map(([bodies, edits]) =>
    mutate(concat(bodies.map(encodeFrame)), edits),
  ),
);

test('frames: any stream gives frames or NetError, the reader stays failed, and holds one partial frame at most', () =>
  fuzz('frame/any-stream', 2000, fc.property(streamArb, fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 1, max: 1 << 16 }), (stream, cuts, cap) => {
    const d = new FrameDecoder({ maxFrameBytes: cap });
    let failed: NetError | null = null;
    for (const chunk of split(stream, cuts)) {
      try {
        d.push(chunk);
        for (let f = d.next(); f !== null; f = d.next()) {
          if (f.length === 0 || f.length > cap) throw new Error(`frame of ${f.length} bytes under cap ${cap}`);
        }
      } catch (e) {
        const err = expectTyped(e, NetError);
        if (failed !== null && err !== failed) throw new Error('a failed reader threw a different error');
        failed = err;
        continue;
      }
      if (failed !== null) throw new Error('a failed reader accepted bytes');
      if (d.bufferedBytes >= Math.max(4, cap)) throw new Error(`holds ${d.bufferedBytes} bytes after draining (cap ${cap})`);
    }
  })));

const u16 = fc.integer({ min: 0, max: 0xffff });
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constantFrom(MsgType.HELLO), version: u16, chainId: fc.string({ maxLength: 128 }), from: u16, to: u16,
    epoch: fc.maxSafeNat(), challenge: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({
    type: fc.constantFrom(MsgType.CHALLENGE), version: u16, chainId: fc.string({ maxLength: 128 }), from: u16, to: u16,
    epoch: fc.maxSafeNat(), challenge: fc.uint8Array({ minLength: 32, maxLength: 32 }), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  }),
  fc.record({ type: fc.constantFrom(MsgType.AUTH), signature: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
  fc.record({ type: fc.constantFrom(MsgType.ACK), ids: fc.array(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 20 }) }),
  fc.record({ type: fc.constantFrom(MsgType.PING, MsgType.PONG), nonce: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ type: fc.constantFrom(MsgType.TXGOSSIP), ttl: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 100 }) }),
  fc.record({
    type: fc.constantFrom(MsgType.PROPOSAL, MsgType.VOTE, MsgType.TIMEOUT, MsgType.CERT, MsgType.EVIDENCE, MsgType.SYNC_REQUEST, MsgType.SYNC_RESPONSE),
    id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), payload: fc.uint8Array({ maxLength: 100 }),
  }),
) as fc.Arbitrary<Message>;

/** decodeMessage(body) is an envelope, or NetError. */
function decodesOrRefuses(body: Uint8Array): void {
  try {
    decodeMessage(body);
  } catch (e) {
    expectTyped(e, NetError);
  }
}

test('envelopes: decode(encode(m)) = m', () =>
  fuzz('envelope/roundtrip', 1000, fc.property(messageArb, (m) => {
    const back = decodeMessage(encodeMessage(m));
    if (JSON.stringify(back, bytesAsArrays) !== JSON.stringify(m, bytesAsArrays)) throw new Error('decoded envelope differs');
  })));

test('envelopes: random and corrupted frame bodies decode or throw NetError', () =>
  fuzz('envelope/any-body', 3000, fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.tuple(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([m, edits]) => mutate(encodeMessage(m), edits))),
    decodesOrRefuses,
  )));

function bytesAsArrays(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Array.from(v) : v;
}

test.run();
