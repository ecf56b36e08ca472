// Consensus state derived from the chain itself (not from message timing): the epoch's leader
// schedule inputs, effective voting power, RANDAO commitments/reveals and which evidence is already
// on chain. It is a pure function of the ancestors of a block, so every node computes the same value
// for the same branch; the committed tip's value is what snapshots export.
import { decodeCanonical, encodeCanonical, type Canon } from '../codec/canonical.ts';
import { sha256 } from '../crypto/sha256.ts';
import { bytesEqual, evidenceKey, randaoSignBytes } from './block.ts';
import type { CertVerifier } from './certs.ts';
import { arr, bytes, bytesOrNull, str, uint } from './decode-util.ts';
import { ConsensusError, fail } from './errors.ts';
import { benchRounds, type LeaderInputs, type LeaderSelector } from './leader.ts';
import { initialPocBranch, pocApplyBlock, pocBranchFromCanon, pocBranchToCanon, pocEnterEpoch, pocLeaderPowers, type PocBranch, type PocOutcome, type PocRules } from './poc-state.ts';
import type { Block } from './types.ts';

export interface EpochInfo {
  readonly epoch: number;
  /** Round of the last block of the previous epoch on this branch (0 for epoch 0). */
  readonly startRound: number;
  readonly seed: Uint8Array;
  /**
   * Leader weights frozen at the epoch start: drive the leader schedule for the whole epoch. The
   * effective powers, scaled by proven capacity on a chain with PoC (never used to count votes).
   */
  readonly powers: readonly number[];
}

export interface SlashingEvent {
  readonly kind: 'equivocation' | 'randao_no_reveal';
  readonly validator: number;
  readonly height: number;
  readonly epoch: number;
  readonly before: number;
  readonly after: number;
}

export interface ChainState {
  readonly epochInfo: EpochInfo;
  /** Effective powers including changes made during this epoch; they take effect at the next epoch. */
  readonly effective: readonly number[];
  readonly randaoCommits: readonly (Uint8Array | null)[];
  readonly randaoSecrets: readonly (Uint8Array | null)[];
  /** Committed, then proposed in the second half without revealing: penalised at the epoch end. */
  readonly randaoWithheld: readonly boolean[];
  /** Evidence keys on this branch, kept while their round is inside the evidence window. */
  readonly included: readonly { readonly key: string; readonly round: number }[];
  /** Slashing events caused by the block this state belongs to (reported when it commits). */
  readonly events: readonly SlashingEvent[];
  /**
   * Per validator, the last round it may not lead: set when a round it led left no block on this
   * branch (leader.ts LeaderSelector skips it until then). Rounds are global, so it spans epochs.
   */
  readonly benchedUntil: readonly number[];
  /** Proof-of-capacity state (null on a chain without PoC). */
  readonly poc: PocBranch | null;
  /** Epoch outcomes decided by the block this state belongs to (reported when it commits). */
  readonly pocOutcomes: readonly PocOutcome[];
}

export interface ChainRules {
  readonly chainId: string;
  readonly epochLength: number;
  readonly slashPermille: number;
  readonly randaoPenaltyPermille: number;
  readonly evidenceWindowRounds: number;
  readonly maxEvidencePerBlock: number;
  readonly certs: CertVerifier;
  /** Leader selection, to bench the leaders of rounds a block skips; without it nobody is benched. */
  readonly leaders?: LeaderSelector;
  /** Proof of capacity and processing, when genesis has a `poc` block. */
  readonly poc?: PocRules;
}

const EMPTY = new Uint8Array(0);

export function epochOf(height: number, epochLength: number): number {
  return Math.floor(height / epochLength);
}

export function initialChainState(genesisHash: Uint8Array, powers: readonly number[], withPoc = false): ChainState {
  const seed = sha256(encodeCanonical(['numchain/epoch-seed/v1', genesisHash]));
  return {
    epochInfo: { epoch: 0, startRound: 0, seed, powers: [...powers] },
    effective: [...powers],
    randaoCommits: powers.map(() => null),
    randaoSecrets: powers.map(() => null),
    randaoWithheld: powers.map(() => false),
    included: [],
    events: [],
    benchedUntil: powers.map(() => 0),
    poc: withPoc ? initialPocBranch(powers.length) : null,
    pocOutcomes: [],
  };
}

function reduce(power: number, permille: number): number {
  if (permille <= 0 || power <= 0) return power;
  return Math.max(0, power - Math.ceil((power * permille) / 1000));
}

/** The state a block at `height` starts from: crosses into the next epoch when `height` begins one. */
export function enterEpoch(st: ChainState, height: number, parentRound: number, rules: ChainRules): ChainState {
  const e = epochOf(height, rules.epochLength);
  if (e === st.epochInfo.epoch) return st.events.length === 0 && st.pocOutcomes.length === 0 ? st : { ...st, events: [], pocOutcomes: [] };
  if (e !== st.epochInfo.epoch + 1) fail('bad_state', 'height', `height ${height} skips from epoch ${st.epochInfo.epoch} to ${e}`);
  const effective = [...st.effective];
  const events: SlashingEvent[] = [];
  st.randaoCommits.forEach((c, i) => {
    // Only a validator that had the chance to reveal (it proposed in the second half) and did not is
    // penalised; one that simply was not leader again is not.
    if (c !== null && st.randaoSecrets[i] === null && st.randaoWithheld[i] === true) {
      const before = effective[i]!;
      effective[i] = reduce(before, rules.randaoPenaltyPermille);
      events.push({ kind: 'randao_no_reveal', validator: i, height, epoch: st.epochInfo.epoch, before, after: effective[i]! });
    }
  });
  // Reveals are combined in validator order, so the value does not depend on block order.
  const seed = sha256(encodeCanonical(['numchain/epoch-seed/v1', st.epochInfo.seed, e, st.randaoSecrets.map((s) => s ?? EMPTY)]));
  const closed = rules.poc !== undefined && st.poc !== null ? pocEnterEpoch(st.poc, st.epochInfo.epoch, rules.poc) : null;
  const powers = closed !== null ? pocLeaderPowers(effective, closed.branch, rules.poc!) : effective;
  return {
    epochInfo: { epoch: e, startRound: parentRound, seed, powers },
    effective,
    randaoCommits: effective.map(() => null),
    randaoSecrets: effective.map(() => null),
    randaoWithheld: effective.map(() => false),
    included: st.included,
    events,
    benchedUntil: st.benchedUntil,
    poc: closed?.branch ?? st.poc,
    pocOutcomes: closed?.outcomes ?? [],
  };
}

/** H(H(sig)): the commitment to the secret H(sig). */
export function randaoCommitment(revealSig: Uint8Array): Uint8Array {
  return sha256(sha256(revealSig));
}

/**
 * Apply a block's consensus-relevant contents to its parent's state. Throws ConsensusError naming the
 * field if the block breaks a chain rule (bad RANDAO field, bad or duplicate evidence).
 */
export function applyBlock(parent: ChainState, block: Block, parentRound: number, rules: ChainRules): ChainState {
  const h = block.header;
  const st0 = enterEpoch(parent, h.height, parentRound, rules);
  const commits = [...st0.randaoCommits];
  const secrets = [...st0.randaoSecrets];
  const withheld = [...st0.randaoWithheld];
  const effective = [...st0.effective];
  const events = [...st0.events];
  const E = rules.epochLength;
  const half = Math.floor(E / 2);
  const pos = h.height % E;
  if (E < 2) {
    if (h.randao.commit !== null || h.randao.reveal !== null) fail('bad_block', 'randao', 'RANDAO is disabled when epochLength < 2');
  } else {
    if (h.randao.commit !== null) {
      if (pos >= half) fail('bad_block', 'randao.commit', 'commitments are only allowed in the first half of an epoch');
      if (commits[h.proposer] !== null) fail('bad_block', 'randao.commit', 'proposer already committed this epoch');
      commits[h.proposer] = h.randao.commit;
    }
    if (h.randao.reveal !== null) {
      if (pos < half) fail('bad_block', 'randao.reveal', 'reveals are only allowed in the second half of an epoch');
      const c = commits[h.proposer];
      if (c === null || c === undefined) fail('bad_block', 'randao.reveal', 'proposer has no commitment this epoch');
      if (secrets[h.proposer] !== null) fail('bad_block', 'randao.reveal', 'proposer already revealed this epoch');
      if (!bytesEqual(randaoCommitment(h.randao.reveal), c)) fail('bad_block', 'randao.reveal', 'does not match the commitment');
      const v = rules.certs.validators[h.proposer];
      if (v === undefined || !rulesVerify(rules, h.proposer, h.epoch, h.randao.reveal)) fail('bad_block', 'randao.reveal', 'is not the proposer\'s signature for this epoch');
      secrets[h.proposer] = sha256(h.randao.reveal);
    } else if (pos >= half && commits[h.proposer] !== null && secrets[h.proposer] === null) {
      withheld[h.proposer] = true;
    }
  }
  if (h.evidence.length > rules.maxEvidencePerBlock) fail('bad_block', 'evidence', `more than ${rules.maxEvidencePerBlock} items`);
  const minRound = Math.max(0, h.round - rules.evidenceWindowRounds);
  const included = st0.included.filter((x) => x.round >= minRound);
  h.evidence.forEach((ev, i) => {
    const key = evidenceKey(ev);
    if (ev.round < minRound || ev.round > h.round) fail('bad_block', `evidence[${i}].round`, 'outside the evidence window');
    if (included.some((x) => x.key === key)) fail('bad_block', `evidence[${i}]`, 'already included on this chain');
    rules.certs.verifyEvidence(ev, `evidence[${i}]`);
    included.push({ key, round: ev.round });
    const before = effective[ev.validator]!;
    effective[ev.validator] = reduce(before, rules.slashPermille);
    events.push({ kind: 'equivocation', validator: ev.validator, height: h.height, epoch: h.epoch, before, after: effective[ev.validator]! });
  });
  let poc = st0.poc;
  if (rules.poc !== undefined && poc !== null) poc = pocApplyBlock(poc, block, st0.epochInfo.epoch, st0.epochInfo.seed, rules.poc);
  else if (h.poc !== undefined && h.poc.length > 0) fail('bad_block', 'poc', 'this chain has no proof of capacity (no `poc` block in genesis)');
  return {
    epochInfo: st0.epochInfo, effective, randaoCommits: commits, randaoSecrets: secrets, randaoWithheld: withheld, included, events,
    benchedUntil: benchMissed(st0, h.round, parentRound, rules), poc, pocOutcomes: st0.pocOutcomes,
  };
}

/**
 * Rounds between the parent's and this block's produced no block on this branch: their leaders
 * (as this branch chose them) sit out the next benchRounds(n) rounds. Only the last 4n skipped rounds
 * are looked at: an older miss would have expired by the time it matters.
 */
function benchMissed(st0: ChainState, round: number, parentRound: number, rules: ChainRules): readonly number[] {
  if (rules.leaders === undefined || round <= parentRound + 1) return st0.benchedUntil;
  const n = st0.benchedUntil.length;
  const until = [...st0.benchedUntil];
  const until0 = round + benchRounds(n);
  // In round order, each skipped round's leader chosen with the earlier misses already benched:
  // exactly how leaderInputs() chose it while that round was current (an entry ≥ r benches for r
  // whatever its exact value), so who gets benched is who actually had the turn.
  for (let r = Math.max(parentRound + 1, round - 4 * n); r < round; r++) {
    const missed = rules.leaders.leaderOf({ epochInfo: st0.epochInfo, benchedUntil: until }, r);
    if (until[missed]! < until0) until[missed] = until0;
  }
  return until;
}

/**
 * Leader-selection inputs for `round` on a branch whose last block has round `parentRound` and
 * state `st0` (entered into the epoch of the next height): the rounds in between already count as
 * missed, so a crashed leader is skipped from the round after its first miss.
 */
export function leaderInputs(st0: ChainState, parentRound: number, round: number, rules: ChainRules): LeaderInputs {
  return { epochInfo: st0.epochInfo, benchedUntil: benchMissed(st0, round, parentRound, rules) };
}

function rulesVerify(rules: ChainRules, proposer: number, epoch: number, sig: Uint8Array): boolean {
  return rules.certs.verifySig(proposer, randaoSignBytes(rules.chainId, epoch), sig);
}

// ---- snapshot encoding -----------------------------------------------------------------------

// v2 adds benchedUntil (a v1 state decodes with nobody benched); v3 adds the PoC state, and is
// written only by chains with PoC, so the snapshots of every other chain keep their v2 bytes.
const TAG_STATE = 'numchain/consensus-state/v2';
const TAG_STATE_V1 = 'numchain/consensus-state/v1';
const TAG_STATE_V3 = 'numchain/consensus-state/v3';

export function encodeChainState(st: ChainState): Uint8Array {
  const e = st.epochInfo;
  const v: Canon[] = [
    st.poc === null ? TAG_STATE : TAG_STATE_V3, e.epoch, e.startRound, e.seed, [...e.powers], [...st.effective],
    st.randaoCommits.map((c) => c), st.randaoSecrets.map((c) => c), st.randaoWithheld.map((w) => w),
    st.included.map((x) => [x.key, x.round]), [...st.benchedUntil],
  ];
  if (st.poc !== null) v.push(pocBranchToCanon(st.poc));
  return encodeCanonical(v);
}

/** `popWindow` bounds the PoC block facts a v3 state may hold. */
export function decodeChainState(b: Uint8Array, n: number, popWindow = 0): ChainState {
  let v: Canon;
  try {
    v = decodeCanonical(b);
  } catch (e) {
    throw new ConsensusError('bad_encoding', 'consensusState', (e as Error).message);
  }
  const v1 = Array.isArray(v) && v[0] === TAG_STATE_V1;
  const v3 = Array.isArray(v) && v[0] === TAG_STATE_V3;
  const a = arr(v, 'consensusState', v1 ? 10 : v3 ? 12 : 11);
  if (a[0] !== TAG_STATE && !v1 && !v3) fail('bad_tag', 'consensusState.tag', `expected ${TAG_STATE}`);
  const nums = (x: Canon | undefined, f: string) => arr(x, f, n).map((p, i) => uint(p, `${f}[${i}]`));
  const opt = (x: Canon | undefined, f: string) => arr(x, f, n).map((p, i) => bytesOrNull(p, `${f}[${i}]`, 32));
  return {
    epochInfo: { epoch: uint(a[1], 'consensusState.epoch'), startRound: uint(a[2], 'consensusState.startRound'), seed: bytes(a[3], 'consensusState.seed', 32), powers: nums(a[4], 'consensusState.powers') },
    effective: nums(a[5], 'consensusState.effective'),
    randaoCommits: opt(a[6], 'consensusState.randaoCommits'),
    randaoSecrets: opt(a[7], 'consensusState.randaoSecrets'),
    randaoWithheld: arr(a[8], 'consensusState.randaoWithheld', n).map((w, i) => {
      if (typeof w !== 'boolean') fail('bad_field', `consensusState.randaoWithheld[${i}]`, 'must be a boolean');
      return w;
    }),
    included: arr(a[9], 'consensusState.included').map((x, i) => {
      const p = arr(x, `consensusState.included[${i}]`, 2);
      return { key: str(p[0], `consensusState.included[${i}].key`), round: uint(p[1], `consensusState.included[${i}].round`) };
    }),
    events: [],
    benchedUntil: v1 ? new Array<number>(n).fill(0) : nums(a[10], 'consensusState.benchedUntil'),
    poc: v3 ? pocBranchFromCanon(a[11], 'consensusState.poc', n, popWindow) : null,
    pocOutcomes: [],
  };
}
