// Public, portable entry point of the engine (browser-safe).
export { MaEngine, toHex, fromHex, type EngineCheckpoint } from './engine.ts';
export { verifyRowProof, rowLeafHash } from './proof.ts';
export * from './types.ts';
