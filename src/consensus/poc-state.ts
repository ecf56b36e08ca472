// The proof-of-capacity part of the chain-derived consensus state (docs/poc-pop.md): every
// validator's commitment and reliability, which validators answered this epoch, and the certified
// facts of the blocks PoP challenges are drawn from. Like the RANDAO and evidence parts of
// chain-state.ts it is a pure function of a branch's blocks, so every node computes the same leader
// weights for the same parent; it never touches voting power.
import { decodeCanonical, encodeCanonical, type Canon } from '../codec/canonical.ts';
import { answerDeadline } from '../poc/challenge.ts';
import { verifyAnswer, verifyCommit, type AnswerContext, type BlockFacts, type Commitment } from '../poc/verify.ts';
import { answer as recordAnswer, closeEpoch, commit as recordCommit, INITIAL_STATE, leaderWeight, type EpochOutcome, type PocValidatorState } from '../poc/weight.ts';
import { decodeAnswer, decodeCommit, MAX_COMMIT_BYTES, PocWireError, type PocAnswer, type PocCommit, type Signed } from '../poc/wire.ts';
import { arr, bytes, uint } from './decode-util.ts';
import { ConsensusError, fail } from './errors.ts';
import type { Block, PocConfig } from './types.ts';

/** The chain's PoC rules: the config, the chain id and the genesis keys, and two bounds. */
export interface PocRules extends PocConfig, Pick<AnswerContext, 'chainId' | 'publicKey'> {
  readonly epochLength: number;
  /** PoC items (commits and answers) one block may carry */
  readonly maxItemsPerBlock: number;
}

export interface FactsAt extends BlockFacts {
  readonly height: number;
}

export interface PocBranch {
  readonly validators: readonly PocValidatorState[];
  /** an answer of the validator was counted in the current epoch (later ones are refused as replayed) */
  readonly answered: readonly boolean[];
  /** facts of the last popWindow blocks of this branch, oldest first */
  readonly recent: readonly FactsAt[];
  /** the PoP window of the current epoch: `recent` as it stood when the epoch began */
  readonly window: readonly FactsAt[];
}

/** One validator's epoch result, reported when the block that closes it commits. */
export interface PocOutcome {
  readonly validator: number;
  readonly epoch: number;
  readonly outcome: EpochOutcome;
  readonly relBefore: number;
  readonly relAfter: number;
}

/** Nobody committed; no block yet (PoP never asks about the genesis block: heights start at 1). */
export function initialPocBranch(validators: number): PocBranch {
  return { validators: new Array<PocValidatorState>(validators).fill(INITIAL_STATE), answered: new Array<boolean>(validators).fill(false), recent: [], window: [] };
}

/**
 * Close epoch `closing` (its outcomes move reliability; pending commitments come into force) and
 * open the next one, whose PoP window is the branch's recent blocks.
 */
export function pocEnterEpoch(b: PocBranch, closing: number, rules: PocRules): { branch: PocBranch; outcomes: PocOutcome[] } {
  const deadline = answerDeadline(closing * rules.epochLength, rules.params);
  const outcomes: PocOutcome[] = [];
  const validators = b.validators.map((s, v) => {
    const { state, outcome } = closeEpoch(s, deadline, rules.params);
    if (outcome !== 'none') outcomes.push({ validator: v, epoch: closing, outcome, relBefore: s.rel, relAfter: state.rel });
    return state;
  });
  return { branch: { validators, answered: b.answered.map(() => false), recent: b.recent, window: b.recent }, outcomes };
}

/** A PoC item decoded once: what the pool routes by and what the checks read. */
export type PocItem = { readonly kind: 'commit'; readonly signed: Signed<PocCommit> } | { readonly kind: 'answer'; readonly signed: Signed<PocAnswer> };

/** Decode an item; throws ConsensusError('bad_poc') naming the reason. */
export function decodePocItem(item: Uint8Array, rules: PocRules): PocItem {
  // Commits are small: anything larger can only be an answer.
  if (item.length <= MAX_COMMIT_BYTES) {
    try {
      return { kind: 'commit', signed: decodeCommit(item) };
    } catch (e) {
      if (!(e instanceof PocWireError)) throw e;
      if (e.code !== 'bad_domain') throw new ConsensusError('bad_poc', 'poc', `${e.code}: ${e.message}`);
    }
  }
  try {
    return { kind: 'answer', signed: decodeAnswer(item, rules.wire) };
  } catch (e) {
    if (!(e instanceof PocWireError)) throw e;
    throw new ConsensusError('bad_poc', 'poc', `${e.code}: ${e.message}`);
  }
}

/**
 * Apply the PoC items of a block at `height` in epoch `epoch` (seed `epochSeed`). An item anyone
 * could have made (malformed, not signed by the validator it names, stale, replayed) makes the
 * block invalid, like bad evidence: a proposer includes only items that pass against its parent's
 * state. A signed answer that fails on content is not refused: it is the signer's fault, recorded.
 */
export function pocApplyBlock(b: PocBranch, block: Block, epoch: number, epochSeed: Uint8Array, rules: PocRules): PocBranch {
  const h = block.header;
  const items = h.poc ?? [];
  if (items.length > rules.maxItemsPerBlock) fail('bad_block', 'poc', `more than ${rules.maxItemsPerBlock} items`);
  let cur = b;
  items.forEach((item, i) => {
    cur = pocApplyItem(cur, item, `poc[${i}]`, h.height, epoch, epochSeed, rules);
  });
  const facts: FactsAt = { height: h.height, txRoot: h.txRoot, stateRoot: h.stateRoot, txCount: block.txs.length };
  const recent = [...cur.recent, facts].slice(-Math.max(1, rules.params.popWindow));
  return { ...cur, recent };
}

/**
 * Apply one item of a block at `height`. Throws ConsensusError('bad_block', field) when the item is
 * refused: a proposer runs this on candidates to include only what passes.
 */
export function pocApplyItem(b: PocBranch, item: Uint8Array, field: string, height: number, epoch: number, epochSeed: Uint8Array, rules: PocRules): PocBranch {
  let decoded: PocItem;
  try {
    decoded = decodePocItem(item, rules);
  } catch (e) {
    if (e instanceof ConsensusError) fail('bad_block', field, e.message);
    throw e;
  }
  return pocApplyDecoded(b, decoded, field, height, epoch, epochSeed, rules);
}

/** pocApplyItem() for an item already decoded (the pool keeps its items decoded). */
export function pocApplyDecoded(b: PocBranch, item: PocItem, field: string, height: number, epoch: number, epochSeed: Uint8Array, rules: PocRules): PocBranch {
  if (item.kind === 'commit') {
    const c = item.signed;
    const v = verifyCommit(c, rules.chainId, (x) => rules.publicKey(x), rules.params);
    if (!v.ok) fail('bad_block', field, `commit refused: ${v.reason}`);
    const s = b.validators[c.body.validator]!;
    return { ...b, validators: replace(b.validators, c.body.validator, recordCommit(s, { root: c.body.root, chunks: c.body.chunks, commitNonce: c.body.commitNonce })) };
  }
  const a = item.signed;
  const verdict = verifyAnswer(a, {
    chainId: rules.chainId,
    params: rules.params,
    epoch,
    epochStart: epoch * rules.epochLength,
    epochSeed,
    height,
    publicKey: (x) => rules.publicKey(x),
    commitment: (x) => b.validators[x]?.active ?? null,
    answered: (x) => b.answered[x] === true,
    block: (h) => b.window.find((f) => f.height === h) ?? null,
    targetOf: (tx) => rules.targetOf(tx),
    rowIndex: (t) => rules.rowIndex(t),
  });
  if (verdict.kind === 'refused') fail('bad_block', field, `answer refused: ${verdict.reason}`);
  const v = a.body.validator;
  return { ...b, validators: replace(b.validators, v, recordAnswer(b.validators[v]!, verdict.kind === 'wrong', height)), answered: replace(b.answered, v, true) };
}

/** Leader weights for an epoch: the effective powers scaled by proven capacity and reliability. */
export function pocLeaderPowers(effective: readonly number[], b: PocBranch, rules: PocRules): number[] {
  return effective.map((e, v) => leaderWeight(e, b.validators[v]!, rules.params));
}

function replace<T>(xs: readonly T[], i: number, x: T): readonly T[] {
  const out = [...xs];
  out[i] = x;
  return out;
}

// ---- snapshot encoding -----------------------------------------------------------------------

function commitmentToCanon(c: Commitment | null): Canon {
  return c === null ? null : [c.root, c.chunks, c.commitNonce];
}

function factsToCanon(f: FactsAt): Canon {
  return [f.height, f.txRoot, f.stateRoot, f.txCount];
}

export function pocBranchToCanon(b: PocBranch): Canon {
  return [
    b.validators.map((s) => [commitmentToCanon(s.active), commitmentToCanon(s.pending), s.rel, s.answer === null ? null : [s.answer.wrong, s.answer.height], s.everCommitted]),
    [...b.answered],
    b.recent.map(factsToCanon),
    b.window.map(factsToCanon),
  ];
}

function bool(v: Canon | undefined, field: string): boolean {
  if (typeof v !== 'boolean') fail('bad_field', field, 'must be a boolean');
  return v;
}

function commitmentFromCanon(v: Canon | undefined, field: string): Commitment | null {
  if (v === null) return null;
  const a = arr(v, field, 3);
  return { root: bytes(a[0], `${field}.root`, 32), chunks: uint(a[1], `${field}.chunks`), commitNonce: uint(a[2], `${field}.commitNonce`) };
}

function factsFromCanon(v: Canon | undefined, field: string): FactsAt {
  const a = arr(v, field, 4);
  return { height: uint(a[0], `${field}.height`), txRoot: bytes(a[1], `${field}.txRoot`, 32), stateRoot: bytes(a[2], `${field}.stateRoot`, 32), txCount: uint(a[3], `${field}.txCount`) };
}

export function pocBranchFromCanon(v: Canon | undefined, field: string, n: number, popWindow: number): PocBranch {
  const a = arr(v, field, 4);
  const validators = arr(a[0], `${field}.validators`, n).map((x, i): PocValidatorState => {
    const f = `${field}.validators[${i}]`;
    const s = arr(x, f, 5);
    const ans = s[3] === null ? null : arr(s[3], `${f}.answer`, 2);
    const rel = uint(s[2], `${f}.rel`, 1000);
    return {
      active: commitmentFromCanon(s[0], `${f}.active`),
      pending: commitmentFromCanon(s[1], `${f}.pending`),
      rel,
      answer: ans === null ? null : { wrong: bool(ans[0], `${f}.answer.wrong`), height: uint(ans[1], `${f}.answer.height`) },
      everCommitted: bool(s[4], `${f}.everCommitted`),
    };
  });
  return {
    validators,
    answered: arr(a[1], `${field}.answered`, n).map((x, i) => bool(x, `${field}.answered[${i}]`)),
    recent: arr(a[2], `${field}.recent`, undefined, Math.max(1, popWindow)).map((x, i) => factsFromCanon(x, `${field}.recent[${i}]`)),
    window: arr(a[3], `${field}.window`, undefined, Math.max(1, popWindow)).map((x, i) => factsFromCanon(x, `${field}.window[${i}]`)),
  };
}

/** Canonical bytes of a branch's PoC state (tests compare branches by them). */
export function encodePocBranch(b: PocBranch): Uint8Array {
  return encodeCanonical(pocBranchToCanon(b));
}

export function decodePocBranch(bytesIn: Uint8Array, n: number, popWindow: number): PocBranch {
  return pocBranchFromCanon(decodeCanonical(bytesIn), 'poc', n, popWindow);
}
