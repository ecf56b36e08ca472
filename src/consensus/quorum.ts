// Quorum arithmetic over voting power. A quorum is the smallest power sum strictly greater than
// two thirds of the total: any two quorums then overlap in more than one third of the power, so in
// at least one honest validator while faulty power stays below one third.
import { fail } from './errors.ts';
import type { Validator } from './types.ts';

export function totalPower(powers: readonly number[]): number {
  let t = 0;
  for (const p of powers) t += p;
  return t;
}

/** Smallest integer q with 3q > 2·total. */
export function quorumThreshold(total: number): number {
  if (!Number.isSafeInteger(total) || total <= 0) fail('bad_config', 'total', `total power must be a positive integer, got ${total}`);
  return Math.floor((2 * total) / 3) + 1;
}

/** Power of the faulty validators the system tolerates: the largest f with 3f < total. */
export function maxFaultyPower(total: number): number {
  return Math.floor((total - 1) / 3);
}

/** Sum of the power of distinct signers; throws on an unknown or repeated index. */
export function signedPower(powers: readonly number[], signers: readonly number[], field: string): number {
  let sum = 0;
  let prev = -1;
  for (const s of signers) {
    if (!Number.isInteger(s) || s <= prev || s >= powers.length) fail('bad_quorum', field, `signer ${s} is unknown or not strictly ascending`);
    sum += powers[s]!;
    prev = s;
  }
  return sum;
}

export function hasQuorum(powers: readonly number[], signers: readonly number[], field: string): boolean {
  return signedPower(powers, signers, field) >= quorumThreshold(totalPower(powers));
}

export function validateValidators(vs: readonly Validator[]): void {
  if (vs.length < 1 || vs.length > 64) fail('bad_config', 'validators', `need 1..64 validators, got ${vs.length}`);
  vs.forEach((v, i) => {
    if (!(v.publicKey instanceof Uint8Array) || v.publicKey.length !== 32) fail('bad_config', `validators[${i}].publicKey`, 'must be 32 bytes');
    if (!Number.isSafeInteger(v.power) || v.power <= 0 || v.power > 1e12) fail('bad_config', `validators[${i}].power`, 'must be an integer in 1..1e12');
  });
}
