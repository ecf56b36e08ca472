// What every engine driver takes and returns.
import type { MaParams } from '../../engine/types.ts';

export interface RunSpec {
  readonly params: MaParams;
  readonly seed: number;
  readonly ops: number;
  /** kill the engine and report a failure after this long */
  readonly timeoutMs: number;
}

export interface EngineResult {
  /** node, bun, chromium, firefox, wasm-interp, selftest */
  readonly engine: string;
  /** engine version or user agent, when known */
  readonly version?: string;
  readonly ok: boolean;
  readonly ops: number;
  /** op counts of the checkpoints */
  readonly at: readonly number[];
  /** lowercase hex root at each checkpoint; the last is the final root */
  readonly roots: readonly string[];
  /** time spent applying ops and hashing, measured inside the engine (ms) */
  readonly computeMs?: number;
  /** wall time including process / browser start-up (ms) */
  readonly wallMs: number;
  /** why the engine failed to produce roots */
  readonly error?: string;
}

export function failed(engine: string, ops: number, wallMs: number, error: string, version?: string): EngineResult {
  return { engine, version, ok: false, ops, at: [], roots: [], wallMs, error };
}
