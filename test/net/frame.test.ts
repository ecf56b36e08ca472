import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, encodeFrame } from '../../src/net/frame.ts';
import { decodeMessage, encodeMessage, encodeAppFrame, MsgType, type Message } from '../../src/net/messages.ts';
import { NetError } from '../../src/net/errors.ts';
import { prng, randomBytes } from './helpers.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NetError) return e.code;
    return `non-NetError: ${(e as Error).message}`;
  }
  return 'no error';
}

test('frames survive any split or coalescing of the byte stream', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const bodies = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => randomBytes(rand, 1 + Math.floor(rand() * (rand() < 0.2 ? 70_000 : 300))));
    const stream = concat(bodies.map(encodeFrame));
    const dec = new FrameDecoder({ maxFrameBytes: 70_000 });
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos < stream.byteLength) {
      // Mix 1-byte dribbles, small pieces and large coalesced chunks.
      const r = rand();
      const n = r < 0.2 ? 1 : r < 0.7 ? 1 + Math.floor(rand() * 16) : 1 + Math.floor(rand() * 100_000);
      dec.push(stream.subarray(pos, pos + n));
      pos += n;
      for (let b = dec.next(); b !== null; b = dec.next()) out.push(b);
    }
    assert.is(out.length, bodies.length, `seed ${seed}: frame count`);
    for (let i = 0; i < bodies.length; i++) assert.equal(out[i], bodies[i], `seed ${seed}: frame ${i}`);
    assert.is(dec.bufferedBytes, 0);
  }
});

test('a 1 GiB length prefix is refused from the header alone, nothing buffered', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 8 * 1024 * 1024 });
  const before = process.memoryUsage().arrayBuffers;
  dec.push(Uint8Array.of(0x40, 0x00)); // header split across chunks
  assert.is(dec.next(), null);
  dec.push(Uint8Array.of(0x00, 0x00, 1, 2, 3));
  assert.is(codeOf(() => dec.next()), 'oversize_frame');
  assert.is(dec.bufferedBytes, 0);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no large allocation');
  // The stream is out of sync: the decoder stays failed.
  assert.is(codeOf(() => dec.push(Uint8Array.of(0))), 'oversize_frame');
  assert.is(codeOf(() => dec.next()), 'oversize_frame');
});

test('the cap is inclusive, applies per frame, and can be raised between frames', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 10 });
  dec.push(encodeFrame(new Uint8Array(10)));
  assert.is(dec.next()?.byteLength, 10);
  dec.push(encodeFrame(new Uint8Array(11)));
  assert.is(codeOf(() => dec.next()), 'oversize_frame');

  const dec2 = new FrameDecoder({ maxFrameBytes: 10 });
  dec2.push(concat([encodeFrame(new Uint8Array(5)), encodeFrame(new Uint8Array(50))]));
  assert.is(dec2.next()?.byteLength, 5);
  dec2.setMaxFrameBytes(100); // e.g. after the handshake
  assert.is(dec2.next()?.byteLength, 50);
});

test('a zero length prefix is refused', () => {
  const dec = new FrameDecoder({ maxFrameBytes: 100 });
  dec.push(new Uint8Array(4));
  assert.is(codeOf(() => dec.next()), 'empty_frame');
  assert.is(codeOf(() => encodeFrame(new Uint8Array(0))), 'empty_frame');
});

const samples: Message[] = [
  { type: MsgType.HELLO, version: 1, chainId: 'c', from: 0, to: 3, epoch: 2 ** 47 + 5, challenge: new Uint8Array(32).fill(7) },
  { type: MsgType.CHALLENGE, version: 1, chainId: 'c', from: 3, to: 0, epoch: 9, challenge: new Uint8Array(32).fill(1), signature: new Uint8Array(64).fill(2) },
  { type: MsgType.AUTH, signature: new Uint8Array(64).fill(3) },
  { type: MsgType.ACK, ids: [1, 2, 2 ** 40] },
  { type: MsgType.PING, nonce: 0xffffffff },
  { type: MsgType.PONG, nonce: 0 },
  { type: MsgType.TXGOSSIP, ttl: 3, payload: Uint8Array.of(1, 2, 3) },
  { type: MsgType.VOTE, id: 2 ** 33 + 1, payload: new Uint8Array(0) },
  { type: MsgType.SYNC_RESPONSE, id: 1, payload: new Uint8Array(1000).fill(9) },
];

test('every message kind round-trips through the envelope', () => {
  for (const m of samples) {
    const back = decodeMessage(encodeMessage(m));
    assert.equal(back, m, `type ${m.type}`);
  }
});

test('the hand-written app frame encoder matches msgpack byte for byte at every size boundary', () => {
  const ids = [1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  const sizes = [0, 1, 255, 256, 65535, 65536, 70_000];
  for (const id of ids) {
    for (const n of sizes) {
      const payload = new Uint8Array(n).fill(n & 255);
      const m: Message = { type: MsgType.PROPOSAL, id, payload };
      assert.equal(encodeAppFrame(MsgType.PROPOSAL, id, payload), encodeFrame(encodeMessage(m)), `id ${id} size ${n}`);
    }
  }
  const g: Message = { type: MsgType.TXGOSSIP, ttl: 200, payload: Uint8Array.of(1) };
  assert.equal(encodeAppFrame(MsgType.TXGOSSIP, 200, Uint8Array.of(1)), encodeFrame(encodeMessage(g)));
});

test('decoded payloads do not alias the frame buffer', () => {
  const body = encodeMessage({ type: MsgType.PROPOSAL, id: 1, payload: Uint8Array.of(1, 2, 3) });
  const m = decodeMessage(body);
  body.fill(0);
  assert.equal((m as { payload: Uint8Array }).payload, Uint8Array.of(1, 2, 3));
});

test('bad envelopes give typed errors naming the problem', () => {
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0xd9))), 'malformed_frame'); // str8 without its length
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x93, 0x10, 0x01))), 'malformed_frame'); // truncated array
  const vote = encodeMessage({ type: MsgType.VOTE, id: 1, payload: Uint8Array.of(1) });
  assert.is(codeOf(() => decodeMessage(concat([vote, Uint8Array.of(0)]))), 'malformed_frame'); // trailing byte
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0x07, 0x01))), 'unknown_type'); // [7, 1]
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0x63, 0x01))), 'unknown_type'); // [99, 1]
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0xa1, 0x61, 0x01))), 'unknown_type'); // ["a", 1]
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x80))), 'bad_field'); // {}
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0x11, 0x01))), 'bad_field'); // VOTE without payload
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x93, 0x11, 0x00, 0xc4, 0x00))), 'bad_field'); // VOTE id 0
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x93, 0x11, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc4, 0x00))), 'bad_field'); // id 1.5
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0x03, 0xc4, 0x01, 0x00))), 'bad_field'); // AUTH with 1-byte signature
  assert.is(codeOf(() => decodeMessage(Uint8Array.of(0x92, 0x04, 0x90))), 'bad_field'); // ACK with no ids
  let e: unknown;
  try {
    decodeMessage(Uint8Array.of(0x93, 0x11, 0x00, 0xc4, 0x00));
  } catch (x) {
    e = x;
  }
  assert.is((e as NetError).field, 'id');
});

test('absurdly deep nesting is a typed error, not a crash', () => {
  const deep = concat([Uint8Array.of(0x92, 0x11), new Uint8Array(200_000).fill(0x91), Uint8Array.of(0x01)]);
  assert.is(codeOf(() => decodeMessage(deep)), 'malformed_frame');
});

test('random garbage never escapes as anything but NetError', () => {
  const rand = prng(99);
  for (let i = 0; i < 3000; i++) {
    const g = randomBytes(rand, 1 + Math.floor(rand() * 40));
    if (rand() < 0.5) g[0] = 0x90 | Math.floor(rand() * 9); // make many of them arrays
    const c = codeOf(() => decodeMessage(g));
    assert.ok(!c.startsWith('non-NetError'), `input ${Buffer.from(g).toString('hex')}: ${c}`);
  }
});

test.run();
