// Public, portable entry point of the engine (browser-safe).
export { MaEngine, toHex, fromHex, type EngineCheckpoint, type WasmResponseSource } from './engine.ts';
export { verifyRowProof, rowLeafHash } from './proof.ts';
export * from './types.ts';
