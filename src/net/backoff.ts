// Reconnect delays: exponential, capped, with "equal jitter" so that validators that lost each
// other at the same moment do not redial in lockstep. Randomness is injected for tests.

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Delay before reconnect attempt number `attempt` (0-based), in [d/2, d] with d = min(max, base·2^attempt). */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const d = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + (d / 2) * random());
}
