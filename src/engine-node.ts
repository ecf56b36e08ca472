// `numchain/engine/node`: the portable engine plus the Node-side loader of the packaged build/ma.wasm
// (it reads the file, so Bun and Deno can use it too, browsers cannot). Kept out of src/engine/ so that
// the engine folder stays free of node:* imports for bundlers; the loader's home may move, this entry stays.
export * from './engine/index.ts';
export { engineModule, engineSha256Hex, engineWasmBytes, loadEngine, loadEngineSync, recordedEngineSha256Hex, WASM_PATH } from './host/node-loader.ts';
