// Canonical encoding: one byte string per value, so a hash or signature means the same on every node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CanonicalError, decodeCanonical, encodeCanonical, type Canon } from '../../src/codec/canonical.ts';

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

test.run();
