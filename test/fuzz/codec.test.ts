// Property tests of the canonical codec (src/codec/canonical.ts): every value it accepts comes back
// as itself, and any byte string either decodes to a value whose encoding is exactly those bytes, or
// is refused with CanonicalError. Nothing else is ever thrown. Case counts: test/fuzz/fuzz.ts.
import fc from 'fast-check';
import { test } from 'uvu';
import { CanonicalError, decodeCanonical, encodeCanonical, sameCanon, type Canon } from '../../src/codec/canonical.ts';
import { canonArb, leafArb } from './canon-arb.ts';
import { expectTyped, fuzz, mutate, mutationArb, sameBytes } from './fuzz.ts';

/** decode(bytes) is a value that encodes to exactly `bytes`, or CanonicalError. */
function decodesCanonicallyOrRefuses(bytes: Uint8Array): void {
  let v: Canon;
  try {
    v = decodeCanonical(bytes);
  } catch (e) {
    expectTyped(e, CanonicalError);
    return;
  }
  if (!sameBytes(encodeCanonical(v), bytes)) throw new Error('decoded a value that re-encodes to other bytes');
}

test('codec: decode(encode(x)) = x, and the bytes are the same again', () =>
  fuzz('codec/roundtrip', 2000, fc.property(canonArb(16), (v) => {
    const bytes = encodeCanonical(v);
    const back = decodeCanonical(bytes);
    if (!sameCanon(back, v)) throw new Error('decoded value differs');
    if (!sameBytes(encodeCanonical(back), bytes)) throw new Error('re-encoding differs');
  })));

test('codec: nesting past 16 is refused on both sides with CanonicalError', () =>
  fuzz('codec/depth', 300, fc.property(fc.integer({ min: 0, max: 40 }), leafArb, (depth, leaf) => {
    let v: Canon = leaf;
    for (let i = 0; i < depth; i++) v = [v];
    let bytes: Uint8Array;
    try {
      bytes = encodeCanonical(v);
    } catch (e) {
      expectTyped(e, CanonicalError);
      if (depth <= 16) throw new Error(`encode refused depth ${depth}`);
      return;
    }
    if (depth > 16) throw new Error(`encode accepted depth ${depth}`);
    if (!sameCanon(decodeCanonical(bytes), v)) throw new Error('decoded value differs');
  })));

// Any UTF-16 string, lone surrogates included (fast-check's own string units are whole code points).
const utf16Arb = fc.string({ unit: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })).map((c) => String.fromCharCode(c)), maxLength: 12 });

test('codec: a string encodes to bytes that decode to it, or is refused with CanonicalError (lone surrogates)', () =>
  fuzz('codec/utf16', 2000, fc.property(utf16Arb, (s) => {
    let bytes: Uint8Array;
    try {
      bytes = encodeCanonical([s]);
    } catch (e) {
      expectTyped(e, CanonicalError);
      if (!/\p{Cs}/u.test(s)) throw new Error('refused a well-formed string');
      return;
    }
    if (!sameCanon(decodeCanonical(bytes), [s])) throw new Error('decoded string differs');
  })));

test('codec: random bytes decode canonically or throw CanonicalError', () =>
  fuzz('codec/random-bytes', 3000, fc.property(fc.uint8Array({ maxLength: 64 }), decodesCanonicallyOrRefuses)));

test('codec: corrupted encodings decode canonically or throw CanonicalError', () =>
  fuzz('codec/mutated', 3000, fc.property(canonArb(4), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, edits) => {
    decodesCanonicallyOrRefuses(mutate(encodeCanonical(v), edits));
  })));

test.run();
