// Node-only: find build/ma.wasm next to this checkout, compile it once, and check its hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MaEngine } from '../engine/engine.ts';
import { MaError, type MaParams } from '../engine/types.ts';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WASM_PATH = join(PROJECT_ROOT, 'build', 'ma.wasm');
export const RECORDED_HASH_PATH = join(PROJECT_ROOT, 'assembly', 'ma.wasm.sha256');

let cached: { bytes: Uint8Array; module: WebAssembly.Module; sha256: string } | null = null;

function load(): { bytes: Uint8Array; module: WebAssembly.Module; sha256: string } {
  if (cached) return cached;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(WASM_PATH)) as Uint8Array<ArrayBuffer>;
  } catch {
    throw new MaError('bad_wasm', 'wasm', `${WASM_PATH} is missing; build it with: npm run build:wasm`);
  }
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  cached = { bytes, module, sha256: createHash('sha256').update(bytes).digest('hex') };
  return cached;
}

export function engineWasmBytes(): Uint8Array {
  return load().bytes;
}

export function engineModule(): WebAssembly.Module {
  return load().module;
}

/** SHA-256 (hex) of the engine this process runs; genesis commits to it. */
export function engineSha256Hex(): string {
  return load().sha256;
}

/** The hash recorded in the repository for the reproducible build. */
export function recordedEngineSha256Hex(): string {
  return readFileSync(RECORDED_HASH_PATH, 'utf8').trim();
}

export async function loadEngine(params: MaParams): Promise<MaEngine> {
  return MaEngine.instantiate(engineModule(), params);
}

export function loadEngineSync(params: MaParams): MaEngine {
  return MaEngine.instantiateSync(engineModule(), params);
}
