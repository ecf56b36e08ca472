// fast-check generators for consensus values (src/consensus/types.ts), built from the types so that
// a change of format is one edit here. Every value
// is well-formed (it decodes back to itself); the fuzz test corrupts them separately.
import fc from 'fast-check';
import type { Block, BlockHeader, Evidence, QC, SignedBlockRef, TC } from '../../src/consensus/types.ts';
import type { ConsensusMessage } from '../../src/consensus/messages.ts';
import { compareBytes, makeBlock } from '../../src/consensus/block.ts';

export const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const sigArb = fc.oneof({ arbitrary: fc.uint8Array({ minLength: 64, maxLength: 64 }), weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 128 }), weight: 1 });
/** Rounds, heights, timestamps: mostly small, sometimes anywhere in the safe range. */
export const numArb = fc.oneof({ arbitrary: fc.nat(1000), weight: 4 }, { arbitrary: fc.maxSafeNat(), weight: 1 });
export const validatorArb = fc.integer({ min: 0, max: 63 });
const signersArb = fc.uniqueArray(validatorArb, { maxLength: 7 }).map((s) => s.sort((a, b) => a - b));

export const qcArb: fc.Arbitrary<QC> = signersArb.chain((signers) =>
  fc.record({ round: numArb, height: numArb, blockHash: hashArb, signers: fc.constant(signers), sigs: fc.array(sigArb, { minLength: signers.length, maxLength: signers.length }) }),
);

export const tcArb: fc.Arbitrary<TC> = fc.tuple(signersArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).chain((r) => fc.oneof(fc.constant(r), fc.integer({ min: 1, max: 1000 })))).chain(([signers, round]) =>
  fc.record({
    round: fc.constant(round),
    signers: fc.constant(signers),
    highQcRounds: fc.array(fc.integer({ min: 0, max: round - 1 }), { minLength: signers.length, maxLength: signers.length }),
    sigs: fc.array(sigArb, { minLength: signers.length, maxLength: signers.length }),
    highQC: qcArb,
  }),
);

const refArb: fc.Arbitrary<SignedBlockRef> = fc.record({ height: numArb, blockHash: hashArb, sig: sigArb });

export const evidenceArb: fc.Arbitrary<Evidence> = fc
  .record({ kind: fc.constantFrom('vote' as const, 'proposal' as const), validator: validatorArb, round: numArb, a: refArb, b: refArb })
  .filter((e) => compareBytes(e.a.blockHash, e.b.blockHash) !== 0)
  .map((e) => (compareBytes(e.a.blockHash, e.b.blockHash) < 0 ? e : { ...e, a: e.b, b: e.a }));

export const headerArb: fc.Arbitrary<BlockHeader> = fc.record({
  chainId: fc.string({ maxLength: 40 }),
  height: numArb,
  round: numArb,
  parentHash: hashArb,
  proposer: validatorArb,
  timestamp: fc.oneof(numArb, fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 })),
  txRoot: hashArb,
  stateRoot: hashArb,
  justify: qcArb,
  tc: fc.option(tcArb, { nil: null }),
  epoch: numArb,
  randao: fc.record({ commit: fc.option(hashArb, { nil: null }), reveal: fc.option(sigArb, { nil: null }) }),
  evidence: fc.array(evidenceArb, { maxLength: 2 }),
});

/** PoC items as a header carries them: absent (most chains) or a non-empty list of opaque bytes. */
const pocItemsArb = fc.option(fc.array(fc.uint8Array({ minLength: 1, maxLength: 96 }), { minLength: 1, maxLength: 3 }), { nil: null });

export const blockArb: fc.Arbitrary<Block> = fc
  .tuple(headerArb, pocItemsArb, fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }))
  .map(([h, poc, txs]) => makeBlock(poc === null ? h : { ...h, poc }, txs));

export const messageArb: fc.Arbitrary<ConsensusMessage> = fc.oneof(
  fc.record({ type: fc.constant('proposal' as const), block: blockArb, sig: sigArb, highTC: fc.option(tcArb, { nil: null }) }),
  fc.record({ type: fc.constant('vote' as const), round: numArb, height: numArb, blockHash: hashArb, voter: validatorArb, sig: sigArb, highQC: qcArb, highTC: fc.option(tcArb, { nil: null }) }),
  fc.record({ type: fc.constant('timeout' as const), round: numArb, voter: validatorArb, highQC: qcArb, highTC: fc.option(tcArb, { nil: null }), sig: sigArb }),
  fc.record({ type: fc.constant('cert' as const), qc: qcArb, tc: fc.option(tcArb, { nil: null }) }),
  fc.record({ type: fc.constant('sync_request' as const), fromHeight: numArb, toHash: hashArb }),
  fc.record({ type: fc.constant('sync_response' as const), blocks: fc.array(blockArb, { maxLength: 3 }), qc: fc.option(qcArb, { nil: null }) }),
  fc.record({ type: fc.constant('evidence' as const), evidence: evidenceArb }),
  fc.record({ type: fc.constant('poc' as const), item: fc.uint8Array({ maxLength: 512 }) }),
);
