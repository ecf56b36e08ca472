// `numchain/client`: the typed client for a node's HTTP API (fetch and Web Crypto only, so it runs in
// browsers, Node, Bun and Deno), with the JSON shapes it returns and the transaction types it takes.
export * from './rpc/client.ts';
export type { BlockJson, HealthJson, ParamsJson, ReceiptJson, StateJson } from './rpc/api.ts';
export type { BatchResultJson } from './rpc/wire.ts';
export type { SignedTx, TxFields, TxJson, TxLimits, TxOp, TxOpName } from './chain/tx.ts';
