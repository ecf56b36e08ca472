// Property tests of transaction decoding (src/chain/tx.ts): every well-formed transaction decodes to
// what was encoded; any byte string, and any JSON value, gives a transaction that re-encodes to the
// same bytes, or TxError. Nothing else is ever thrown. Signatures are random bytes: decoding does
// not verify them.
import fc from 'fast-check';
import { test } from 'uvu';
import { encodeCanonical, type Canon } from '../../src/codec/canonical.ts';
import { assembleTx, decodeTx, defaultMaxTxBytes, encodeTxBody, TX_DOMAIN, TxError, txFromJson, txToJson, type TxFields, type TxLimits } from '../../src/chain/tx.ts';
import { canonArb, leafArb } from './canon-arb.ts';
import { expectTyped, fuzz, mutate, mutationArb, sameBytes, sameValue } from './fuzz.ts';

const limitsArb: fc.Arbitrary<TxLimits> = fc
  .record({
    shards: fc.integer({ min: 1, max: 8 }), layers: fc.integer({ min: 1, max: 8 }), slots: fc.integer({ min: 1, max: 64 }),
    dim: fc.integer({ min: 1, max: 16 }), q: fc.integer({ min: 1, max: 1 << 16 }), bound: fc.oneof(fc.integer({ min: 0, max: 8192 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  })
  .map((l) => ({ ...l, maxTxBytes: defaultMaxTxBytes(l.dim) }));

const CHAIN_ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-';
const chainIdArb = fc.string({ unit: fc.constantFrom(...CHAIN_ID_CHARS), minLength: 1, maxLength: 64 });
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const sigArb = fc.uint8Array({ minLength: 64, maxLength: 64 });

function fieldsArb(l: TxLimits): fc.Arbitrary<TxFields> {
  const target = { shard: fc.integer({ min: 0, max: l.shards - 1 }), layer: fc.integer({ min: 0, max: l.layers - 1 }), slot: fc.integer({ min: 0, max: l.slots - 1 }) };
  const op = fc.oneof(
    fc.record({ op: fc.constant('add' as const), ...target, vec: fc.array(fc.integer({ min: -l.bound, max: l.bound }), { minLength: l.dim, maxLength: l.dim }) }),
    fc.record({ op: fc.constant('decay' as const), ...target, factor: fc.option(fc.integer({ min: 0, max: l.q }), { nil: null }) }),
    fc.record({ op: fc.constant('mix' as const), ...target, src: fc.integer({ min: 0, max: l.slots - 1 }), alpha: fc.integer({ min: 0, max: l.q }) }),
    fc.record({ op: fc.constant('clip' as const), ...target, bound: fc.integer({ min: 0, max: l.bound }) }),
  );
  return fc.record({ chainId: chainIdArb, nonce: u32, validUntil: u32, op });
}

const caseArb = limitsArb.chain((l) => fc.tuple(fc.constant(l), fieldsArb(l), bytes32, sigArb));

function txBytes(fields: TxFields, sender: Uint8Array, sig: Uint8Array): Uint8Array {
  return assembleTx(encodeTxBody({ ...fields, sender }), sig);
}

/** decodeTx(bytes) re-assembles to exactly `bytes`, or throws TxError. */
function decodesOrRefuses(bytes: Uint8Array, limits: TxLimits): void {
  let tx;
  try {
    tx = decodeTx(bytes, limits);
  } catch (e) {
    expectTyped(e, TxError);
    return;
  }
  if (!sameBytes(txBytes(tx.body, tx.body.sender, tx.signature), bytes)) throw new Error('decoded a transaction that re-encodes to other bytes');
}

test('tx: a well-formed transaction decodes to its fields, and its JSON form to the same bytes', () =>
  fuzz('tx/roundtrip', 1000, fc.property(caseArb, ([limits, fields, sender, sig]) => {
    const bytes = txBytes(fields, sender, sig);
    const tx = decodeTx(bytes, limits);
    const plain = (f: TxFields & { readonly sender: Uint8Array }): unknown => ({
      chainId: f.chainId, nonce: f.nonce, validUntil: f.validUntil, sender: Array.from(f.sender),
      op: f.op.op === 'add' ? { ...f.op, vec: Array.from(f.op.vec) } : f.op.op === 'decay' ? { ...f.op, factor: f.op.factor ?? null } : f.op,
    });
    if (!sameValue(plain(tx.body), plain({ ...fields, sender }))) throw new Error(`decoded ${JSON.stringify(plain(tx.body))}`);
    if (!sameBytes(txFromJson(JSON.parse(JSON.stringify(txToJson(tx))), limits).bytes, bytes)) throw new Error('JSON form gives other bytes');
  })));

/** A body whose fields are each, at random, the well-formed one or any canonical value. */
const wildBodyArb = caseArb.chain(([limits, fields, sender, sig]) => {
  const op = fields.op;
  const code = { add: 0, decay: 1, mix: 2, clip: 3 }[op.op];
  const arg: Canon = op.op === 'add' ? new Uint8Array(Int32Array.from(op.vec).buffer) : op.op === 'decay' ? op.factor ?? null : op.op === 'mix' ? [op.src, op.alpha] : op.bound;
  const good: Canon[] = [TX_DOMAIN, fields.chainId, sender, fields.nonce, fields.validUntil, code, op.shard, op.layer, op.slot, arg];
  const field = (v: Canon) => fc.oneof({ arbitrary: fc.constant(v), weight: 4 }, { arbitrary: leafArb, weight: 1 }, { arbitrary: canonArb(2), weight: 1 });
  return fc.tuple(
    fc.constant(limits),
    fc.tuple(...good.map(field)),
    fc.oneof({ arbitrary: fc.constant<Canon>(sig), weight: 4 }, { arbitrary: leafArb, weight: 1 }),
    fc.integer({ min: 0, max: 3 }),
  ).map(([l, body, s, extra]) => {
    const fieldsOut = extra === 3 ? [...body, null] : extra === 2 ? body.slice(0, 9) : body;
    const env: Canon[] = extra === 1 ? [encodeCanonical(fieldsOut), s, 0] : [encodeCanonical(fieldsOut), s];
    return [l, encodeCanonical(env)] as const;
  });
});

test('tx: transactions with random fields decode to themselves or throw TxError', () =>
  fuzz('tx/random-fields', 2000, fc.property(wildBodyArb, ([limits, bytes]) => decodesOrRefuses(bytes, limits))));

test('tx: random and corrupted bytes decode to themselves or throw TxError', () =>
  fuzz('tx/any-bytes', 2000, fc.property(
    caseArb,
    fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 120 })),
    fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
    ([limits, fields, sender, sig], random, edits) => decodesOrRefuses(random ?? mutate(txBytes(fields, sender, sig), edits), limits),
  )));

test('tx: any JSON value, or a JSON transaction with fields changed, gives a transaction or TxError', () =>
  fuzz('tx/json', 2000, fc.property(
    caseArb,
    fc.array(fc.tuple(fc.constantFrom('chainId', 'sender', 'nonce', 'validUntil', 'op', 'shard', 'layer', 'slot', 'vec', 'factor', 'src', 'alpha', 'bound', 'signature', 'txid', 'other'), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })), { maxLength: 4 }),
    fc.option(fc.jsonValue(), { nil: undefined }),
    ([limits, fields, sender, sig], edits, whole) => {
      let json: unknown = whole;
      if (whole === undefined) {
        const j: Record<string, unknown> = JSON.parse(JSON.stringify(txToJson(decodeTx(txBytes(fields, sender, sig), limits))));
        for (const [k, v] of edits) {
          if (v === undefined) delete j[k];
          else j[k] = v;
        }
        json = j;
      }
      try {
        txFromJson(json, limits);
      } catch (e) {
        expectTyped(e, TxError);
      }
    },
  )));

test.run();
