// Property tests of the consensus wire messages (src/consensus/messages.ts, block.ts), written
// against encodeMessage/decodeMessage and the generators in consensus-arb.ts only, so a change of
// message format needs no change here. Every message decodes to itself; a message with any of its
// fields replaced by another canonical value, or with corrupted bytes, decodes to a message that
// re-encodes to the same bytes, or throws ConsensusError. Nothing else is ever thrown.
import fc from 'fast-check';
import { test } from 'uvu';
import { encodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { decodeMessage, encodeMessage, messageToCanon, type DecodeLimits } from '../../src/consensus/messages.ts';
import { canonArb, leafArb } from './canon-arb.ts';
import { messageArb } from './consensus-arb.ts';
import { expectTyped, fuzz, mutate, mutationArb, sameBytes, sameValue } from './fuzz.ts';

const limitsArb: fc.Arbitrary<DecodeLimits> = fc.oneof(
  fc.constant({ maxMessageBytes: 4 << 20, maxSyncBlocks: 64, maxTxsPerBlock: 100_000, maxBlockBytes: 1 << 20 }),
  fc.record({ maxMessageBytes: fc.integer({ min: 1, max: 4096 }), maxSyncBlocks: fc.nat(4), maxTxsPerBlock: fc.nat(5), maxBlockBytes: fc.nat(80) }),
);

/** decodeMessage(bytes) re-encodes to exactly `bytes`, or throws ConsensusError. */
function decodesOrRefuses(bytes: Uint8Array, limits: DecodeLimits): void {
  let m;
  try {
    m = decodeMessage(bytes, limits);
  } catch (e) {
    expectTyped(e, ConsensusError);
    return;
  }
  if (!sameBytes(encodeMessage(m), bytes)) throw new Error(`decoded a ${m.type} that re-encodes to other bytes`);
}

test('consensus messages: decode(encode(m)) = m for every type', () =>
  fuzz('consensus/roundtrip', 500, fc.property(messageArb, (m) => {
    if (!sameValue(decodeMessage(encodeMessage(m)), m)) throw new Error(`decoded ${m.type} differs`);
  })));

/**
 * The canonical tree with one node (picked by `pick`, a walk from the root) replaced by `v`.
 * Generic over the format: it only knows that messages are nested arrays.
 */
function replaceNode(tree: Canon, pick: readonly number[], v: Canon): Canon {
  if (!Array.isArray(tree) || tree.length === 0 || pick.length === 0) return v;
  const i = pick[0]! % (tree.length + 1);
  if (i === tree.length) return v; // stop here: replace this whole node
  const out = [...tree];
  out[i] = replaceNode(tree[i] as Canon, pick.slice(1), v);
  return out;
}

test('consensus messages: any field replaced by another value decodes to itself or throws ConsensusError', () =>
  fuzz('consensus/random-fields', 1500, fc.property(
    messageArb,
    fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.oneof({ arbitrary: leafArb, weight: 3 }, { arbitrary: canonArb(3), weight: 1 })), { minLength: 1, maxLength: 3 }),
    limitsArb,
    (m, edits, limits) => {
      let tree = messageToCanon(m);
      for (const [pick, v] of edits) tree = replaceNode(tree, pick, v);
      decodesOrRefuses(encodeCanonical(tree), limits);
    },
  )));

test('consensus messages: random and corrupted bytes decode to themselves or throw ConsensusError', () =>
  fuzz('consensus/any-bytes', 2000, fc.property(
    fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.tuple(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([m, e]) => mutate(encodeMessage(m), e))),
    limitsArb,
    decodesOrRefuses,
  )));

test.run();
