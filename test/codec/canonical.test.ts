// Canonical encoding: one byte string per value, so a hash or signature means the same on every node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CanonicalError, canonicalFastPath, decodeCanonical, decodeMinimal, encodeCanonical, sameCanon, type Canon } from '../../src/codec/canonical.ts';
import { Packr } from 'msgpackr';
import { Prng } from '../../src/sim/prng.ts';
import { CANONICAL_PACKR_OPTIONS } from '../../src/codec/canonical.ts';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

test('round-trips integers of every width, bytes, strings, nesting', () => {
  const v: Canon = [0, -1, 127, 128, -33, 65535, 2 ** 32 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), 2 ** 53 - 1, 2n ** 63n - 1n, 'numchain', new Uint8Array([1, 2, 3]), [true, null, []]];
  const bytes = encodeCanonical(v);
  assert.equal(decodeCanonical(bytes), v);
  assert.ok(Object.getPrototypeOf(bytes) === Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
});

test('integers are never encoded as floats, and the JS type does not change the bytes', () => {
  assert.is(hex(encodeCanonical([2 ** 40])), hex(encodeCanonical([2n ** 40n])));
  assert.is(hex(encodeCanonical([5n])), hex(encodeCanonical([5])));
  assert.not.match(hex(encodeCanonical([2 ** 40])), /^91cb/, 'float64 marker');
});

test('floats, objects, maps and unsafe numbers are refused', () => {
  for (const bad of [[1.5], [NaN], [{ a: 1 }], [new Map()], [2 ** 60]] as unknown[]) {
    assert.throws(() => encodeCanonical(bad as Canon), (e: unknown) => e instanceof CanonicalError);
  }
});

test('a string with a lone surrogate is refused when encoding (found by test/fuzz/codec.test.ts)', () => {
  // It has no UTF-8 form: msgpackr used to write bytes that decodeCanonical then refused.
  for (const bad of ['\uD800', 'a\uDC00', '\uDBFF\uDBFF\uDFFF'.slice(0, 2)]) {
    assert.throws(() => encodeCanonical([bad]), (e: unknown) => e instanceof CanonicalError, JSON.stringify(bad));
  }
  const pair = '\uD83D\uDE00';
  assert.equal(decodeCanonical(encodeCanonical([pair, 'é', '\uFFFD'])), [pair, 'é', '\uFFFD']);
});

test('decode rejects non-minimal integers, floats, maps, truncation and oversize input', () => {
  const cases: Array<[string, number[]]> = [
    ['uint16 for 1', [0x91, 0xcd, 0x00, 0x01]],
    ['int64 for 5', [0x91, 0xd3, 0, 0, 0, 0, 0, 0, 0, 5]],
    ['float64', [0x91, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]],
    ['map', [0x81, 0x01, 0x02]],
    ['truncated', [0x92, 0x01]],
    ['array16 for 1 element', [0xdc, 0x00, 0x01, 0x01]],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(() => decodeCanonical(new Uint8Array(bytes)), (e: unknown) => e instanceof CanonicalError, what);
  }
  assert.throws(() => decodeCanonical(encodeCanonical([new Uint8Array(100)]), 50), (e: unknown) => e instanceof CanonicalError);
});

// The generic definition of canonical: msgpackr decodes the bytes, and re-encoding gives them back.
const reference = new Packr(CANONICAL_PACKR_OPTIONS);

/** msgpackr reads every int64 as a bigint; canonical decoding gives a number when it is a safe integer. */
function safeNumbers(v: unknown): Canon {
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (Array.isArray(v)) return v.map(safeNumbers);
  return v as Canon;
}

function randomCanon(r: () => number, depth: number): Canon {
  const k = r() % (depth > 3 ? 6 : 8);
  const ints = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), 2 ** 33, -(2 ** 33), 1_764_547_200_000, 2 ** 53 - 2, -(2 ** 53 - 2)];
  switch (k) {
    case 0: return ints[r() % ints.length]! + (r() % 3) - 1;
    case 1: return r() % 2 === 0 ? null : r() % 2 === 0;
    case 2: return 'ab/:-.'.repeat(r() % 60).slice(0, r() % 300);
    case 3: return new Uint8Array(r() % 2 === 0 ? r() % 40 : r() % 700).map(() => r() & 0xff);
    case 4: return r() % 2 === 0 ? 'é' : 'x';
    case 5: return r() % 1000;
    default: return Array.from({ length: r() % 20 }, () => randomCanon(r, depth + 1));
  }
}

test('the fast decoder is on, and agrees with decode + re-encode on valid and mutated encodings', () => {
  assert.ok(canonicalFastPath, 'the encoder writes the shortest headers the fast path expects');
  const prng = new Prng(20261130);
  const r = (): number => prng.nextU32();
  let fastHits = 0;
  let mutatedAccepted = 0;
  for (let i = 0; i < 3000; i++) {
    const v = randomCanon(r, 0);
    const bytes = encodeCanonical(v);
    const fast = decodeMinimal(bytes);
    if (fast !== undefined) {
      fastHits++;
      assert.ok(sameCanon(fast, v), `fast decode of a valid encoding #${i}`);
    }
    assert.ok(sameCanon(decodeCanonical(bytes), v));
    // Mutations: flip, drop or insert a byte. Whatever the fast path accepts, the generic
    // definition must accept too, with the same value.
    for (let m = 0; m < 4; m++) {
      const mut = Array.from(bytes);
      const at = r() % Math.max(1, mut.length);
      const kind = r() % 3;
      if (kind === 0 && mut.length > 0) mut[at] = (mut[at]! ^ (1 << (r() % 8))) & 0xff;
      else if (kind === 1 && mut.length > 0) mut.splice(at, 1);
      else mut.splice(at, 0, r() & 0xff);
      const mb = Uint8Array.from(mut);
      const f = decodeMinimal(mb);
      if (f === undefined) continue;
      mutatedAccepted++;
      let generic: unknown;
      try {
        generic = reference.unpack(mb);
      } catch {
        assert.unreachable(`fast path accepted bytes msgpackr cannot decode: ${hex(mb)}`);
      }
      const again = encodeCanonical(f);
      assert.is(hex(again), hex(mb), `fast path accepted a non-canonical encoding: ${hex(mb)}`);
      assert.ok(sameCanon(safeNumbers(generic), f), `msgpackr decodes ${hex(mb)} to the same value`);
    }
  }
  assert.ok(fastHits > 1000, `the fast path was taken (${fastHits} of 3000)`);
  assert.ok(mutatedAccepted > 100, `some mutations were valid encodings of other values (${mutatedAccepted})`);
});

test('the fast decoder reads 64-bit safe integers, such as block timestamps', () => {
  for (const v of [2 ** 32, -(2 ** 31) - 1, 1_764_547_200_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    assert.is(decodeMinimal(encodeCanonical(v)), v, String(v));
  }
});

test('the fast decoder leaves non-minimal headers, floats, non-ASCII strings and trailing bytes to the generic path', () => {
  for (const bad of [
    [0xcc, 0x05], // uint8 for 5
    [0xcd, 0x00, 0xff], // uint16 for 255
    [0xd0, 0x05], // int8 for 5
    [0xd0, 0xf0], // int8 for -16 (fixneg is shorter)
    [0xd9, 0x01, 0x61], // str8 for a 1-character string
    [0xc5, 0x00, 0x01, 0x00], // bin16 for 1 byte
    [0xdc, 0x00, 0x01, 0x00], // array16 for 1 item
    [0xcb, 0, 0, 0, 0, 0, 0, 0, 0], // float64
    [0xa2, 0xc3, 0xa9], // 'é'
    [0x01, 0x02], // trailing byte
    [0xd3, 0, 0, 0, 0, 0, 0, 0, 5], // int64 for 5
    [0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0], // int64 for -2^31 (int32 is shorter)
    [0xd3, 0, 0x20, 0, 0, 0, 0, 0, 0], // 2^53: not a safe integer, a bigint for the generic path
    [0xd3, 0, 0, 0, 1, 0, 0, 0], // int64 cut short
  ]) {
    assert.is(decodeMinimal(Uint8Array.from(bad)), undefined, hex(Uint8Array.from(bad)));
  }
  assert.is(hex(decodeCanonical(Uint8Array.from([0xa2, 0xc3, 0xa9])) === 'é' ? Uint8Array.of(1) : Uint8Array.of(0)), '01', 'the generic path still decodes UTF-8');
});

test.run();
