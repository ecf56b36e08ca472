// Every root after every op of the independent vector files must match, for the release build and
// for an unoptimised build (which proves Binaryen's fast-math changed nothing observable).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineFrom, readVectors, VECTOR_NAMES } from './helpers.ts';

for (const build of ['ma.wasm', 'ma.debug.wasm']) {
  for (const name of VECTOR_NAMES) {
    test(`${build}: every root of ${name} matches the independent implementation`, () => {
      const v = readVectors(name);
      assert.is(v.ops.length, v.roots.length);
      const e = engineFrom(build, v.params);
      for (let i = 0; i < v.ops.length; i++) {
        e.apply(v.ops[i]);
        const got = e.rootHex();
        if (got !== v.roots[i]) assert.unreachable(`${name}.jsonl line ${i + 2}: root ${got}, expected ${v.roots[i]}`);
      }
    });
  }
}

test('release and unoptimised builds agree row by row on every vector file', () => {
  for (const name of VECTOR_NAMES) {
    const v = readVectors(name);
    const a = engineFrom('ma.wasm', v.params);
    const b = engineFrom('ma.debug.wasm', v.params);
    for (const op of v.ops) {
      a.apply(op);
      b.apply(op);
    }
    assert.equal(a.exportSnapshot().tensor, b.exportSnapshot().tensor, name);
  }
});

test.run();
