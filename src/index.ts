// The package's main entry (`numchain`): everything that runs in any JavaScript runtime, browsers
// included: the engine wrapper with its row-proof verifier, and the RPC client. Node-only helpers
// are in `numchain/engine/node` (src/engine-node.ts); the engine itself is `numchain/ma.wasm`.
export * from './engine/index.ts';
export * from './client.ts';
