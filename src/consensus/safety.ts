// Jolteon / DiemBFT-v4 safety rules as pure functions over the persisted SafetyState. The core calls
// them before it signs anything and persists the returned state before the signature leaves.
import { decodeCanonical, encodeCanonical, type Canon } from '../codec/canonical.ts';
import { maxHighQcRound, qcFromCanon, qcToCanon, tcOrNullFromCanon, tcToCanon } from './block.ts';
import { arr, uint } from './decode-util.ts';
import { ConsensusError, fail } from './errors.ts';
import type { QC, SafetyState, TC, UnsafeSwitches } from './types.ts';

const TAG_SAFETY = 'numchain/safety/v1';

/** Canonical bytes of the safety state, for the driver's durable store. */
export function encodeSafety(s: SafetyState): Uint8Array {
  const v: Canon = [TAG_SAFETY, s.lastVotedRound, s.highestQcRound, s.lastTimeoutRound, s.lastTimeoutHighQcRound, s.lastProposedRound, qcToCanon(s.highQC), s.highTC === null ? null : tcToCanon(s.highTC)];
  return encodeCanonical(v);
}

export function decodeSafety(b: Uint8Array): SafetyState {
  let v: Canon;
  try {
    v = decodeCanonical(b);
  } catch (e) {
    throw new ConsensusError('bad_encoding', 'safety', (e as Error).message);
  }
  const a = arr(v, 'safety', 8);
  if (a[0] !== TAG_SAFETY) fail('bad_tag', 'safety.tag', `expected ${TAG_SAFETY}`);
  return {
    lastVotedRound: uint(a[1], 'safety.lastVotedRound'), highestQcRound: uint(a[2], 'safety.highestQcRound'),
    lastTimeoutRound: uint(a[3], 'safety.lastTimeoutRound'), lastTimeoutHighQcRound: uint(a[4], 'safety.lastTimeoutHighQcRound'),
    lastProposedRound: uint(a[5], 'safety.lastProposedRound'), highQC: qcFromCanon(a[6], 'safety.highQC'), highTC: tcOrNullFromCanon(a[7], 'safety.highTC'),
  };
}

export function initialSafety(genesisQC: QC): SafetyState {
  return { lastVotedRound: 0, highestQcRound: 0, lastTimeoutRound: 0, lastTimeoutHighQcRound: 0, lastProposedRound: 0, highQC: genesisQC, highTC: null };
}

/**
 * Vote for a block of `round` whose justify QC has `qcRound` (and which carries `tc`, if any) only if
 * round > lastVotedRound, and either it extends the previous round's QC directly, or it follows a TC
 * for round − 1 and its QC is at least as high as every high-QC round reported in that TC.
 */
export function safeToVote(s: SafetyState, round: number, qcRound: number, tc: TC | null, unsafe: UnsafeSwitches = {}): boolean {
  if (round <= qcRound) return false;
  if (unsafe.skipLastVotedRoundCheck !== true) {
    if (unsafe.doubleVote === true ? round < s.lastVotedRound : round <= s.lastVotedRound) return false;
  }
  if (round === qcRound + 1) return true;
  return tc !== null && tc.round + 1 === round && (qcRound >= maxHighQcRound(tc) || unsafe.skipTcHighQcCheck === true);
}

export function afterVote(s: SafetyState, round: number, qcRound: number): SafetyState {
  return { ...s, lastVotedRound: Math.max(s.lastVotedRound, round), highestQcRound: Math.max(s.highestQcRound, qcRound) };
}

/**
 * Time out in `round` with high QC `qcRound` only if that QC is not below the lock, the round is not
 * below one we voted in, and the round follows the QC or a TC directly. Afterwards the node never
 * votes in `round` (lastVotedRound := round), which is what makes a TC safe to build on.
 */
export function safeToTimeout(s: SafetyState, round: number, qcRound: number, tc: TC | null): boolean {
  if (qcRound < s.highestQcRound) return false;
  if (round < s.lastVotedRound || round <= qcRound) return false;
  return round === qcRound + 1 || (tc !== null && round === tc.round + 1);
}

export function afterTimeout(s: SafetyState, round: number, qcRound: number): SafetyState {
  return {
    ...s,
    lastVotedRound: Math.max(s.lastVotedRound, round),
    highestQcRound: Math.max(s.highestQcRound, qcRound),
    lastTimeoutRound: Math.max(s.lastTimeoutRound, round),
    lastTimeoutHighQcRound: round >= s.lastTimeoutRound ? qcRound : s.lastTimeoutHighQcRound,
  };
}

/** Exponential, capped round timeout: base × 1.2^min(k, cap), k = rounds since the last commit. */
export function roundTimeoutMs(baseMs: number, roundsSinceCommit: number, cap = 6): number {
  const k = Math.max(0, Math.min(roundsSinceCommit, cap));
  // Integer arithmetic (12^k / 10^k) rather than Math.pow, whose last bits may differ between engines.
  return Math.floor((baseMs * 12 ** k) / 10 ** k);
}
