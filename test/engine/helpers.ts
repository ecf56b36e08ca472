// Shared test fixtures for the engine: vector files and engines built from either wasm target.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaEngine } from '../../src/engine/engine.ts';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import type { MaOp, MaParams } from '../../src/engine/types.ts';

export const VECTOR_DIR = join(PROJECT_ROOT, 'test', 'vectors', 'ma');
export const VECTOR_NAMES = ['default-2shards', 'default-3shards', 'odd-shapes', 'small-q256'] as const;

export interface VectorFile {
  readonly params: MaParams;
  readonly ops: MaOp[];
  readonly roots: string[];
}

export function readVectors(name: string): VectorFile {
  const lines = readFileSync(join(VECTOR_DIR, `${name}.jsonl`), 'utf8').trim().split('\n');
  const roots = readFileSync(join(VECTOR_DIR, `${name}.roots`), 'utf8').trim().split('\n');
  return { params: JSON.parse(lines[0]).ma as MaParams, ops: lines.slice(1).map((l) => JSON.parse(l) as MaOp), roots };
}

const modules = new Map<string, WebAssembly.Module>();

/** An engine from build/<file> (ma.wasm = release, ma.debug.wasm = unoptimised). */
export function engineFrom(file: string, params: MaParams): MaEngine {
  let m = modules.get(file);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(join(PROJECT_ROOT, 'build', file)));
    modules.set(file, m);
  }
  return MaEngine.instantiateSync(m, params);
}
