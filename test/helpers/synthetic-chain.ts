// A certified chain made in-process, without a network: a genesis of n equal validators, blocks of
// seeded transactions executed by the real ChainApp, each certified by a QC of the first quorum of
// validators signing the real vote bytes, served in the JSON shapes of GET /genesis, /blocks and
// /snapshot/latest. What a light client checks (hashes, QCs, roots, receipts) is all genuine, so the
// light-client tests and the browser benchmark need no localnet.
import { ChainApp } from '../../src/chain/app.ts';
import { encodeSnapshot } from '../../src/chain/snapshot.ts';
import type { TxFields } from '../../src/chain/tx.ts';
import { encodeCanonical } from '../../src/codec/canonical.ts';
import { blockToCanon, encodeBlock, genesisHash, genesisQC, makeBlock, qcToCanon, voteSignBytes } from '../../src/consensus/block.ts';
import { quorumThreshold } from '../../src/consensus/quorum.ts';
import type { Block, QC, Validator } from '../../src/consensus/types.ts';
import { Verifier } from '../../src/crypto/ed25519.ts';
import { createNodeCryptoVerifier } from '../../src/crypto/fast-verify-node.ts';
import { engineSha256Hex, engineWasmBytes, loadEngine } from '../../src/host/node-loader.ts';
import { DEFAULT_MA_PARAMS, type MaParams } from '../../src/engine/types.ts';
import { Mulberry32 } from '../../src/engine/opstream.ts';
import { DEFAULT_CHAIN, DEFAULT_CONSENSUS } from '../../src/node/genesis.ts';
import type { GenesisJson, RawBlockJson, SnapshotJson } from '../../src/rpc/api.ts';
import { nodeSigner, signTxFast, type FastSigner } from '../../src/rpc/node-signer.ts';
import { toBase64 } from '../../src/util/base64.ts';
import { toHex } from '../../src/crypto/sha256.ts';

export interface SyntheticOptions {
  readonly blocks: number;
  readonly txsPerBlock: number;
  readonly validators?: number;
  readonly seed?: number;
  readonly ma?: MaParams;
  /** also return a snapshot taken at these heights */
  readonly snapshotsAt?: readonly number[];
  readonly chainId?: string;
}

export interface SyntheticChain {
  readonly genesis: GenesisJson;
  readonly wasm: Uint8Array;
  /** records for heights 1..blocks, in order */
  readonly records: RawBlockJson[];
  readonly snapshots: Map<number, SnapshotJson>;
  /** the state root after each height (index = height) */
  readonly roots: string[];
  readonly validatorSigners: readonly FastSigner[];
  readonly txs: number;
}

const seedBytes = (tag: number, i: number): Uint8Array => {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, tag);
  new DataView(s.buffer).setUint32(4, i);
  return s;
};

export async function syntheticChain(o: SyntheticOptions): Promise<SyntheticChain> {
  const n = o.validators ?? 4;
  const ma = o.ma ?? DEFAULT_MA_PARAMS;
  const chainId = o.chainId ?? 'numchain-synthetic';
  const signers = Array.from({ length: n }, (_, i) => nodeSigner(seedBytes(0x76616c, i)));
  const validators: Validator[] = signers.map((s) => ({ publicKey: s.publicKey, power: 100 }));
  const genesisTime = 1_700_000_000_000;
  const genesis: GenesisJson = {
    version: 1,
    chainId,
    genesisTime,
    engine: { sha256: engineSha256Hex() },
    ma,
    chain: { ...DEFAULT_CHAIN, maxTxBytes: 4 * ma.dim + 256 },
    consensus: { ...DEFAULT_CONSENSUS },
    validators: signers.map((s, i) => ({ index: i, name: `v${i}`, publicKey: toHex(s.publicKey), bond: 100, gossip: `127.0.0.1:${26650 + i}`, rpc: `127.0.0.1:${26660 + i}` })),
  };
  const engine = await loadEngine(ma);
  const gHash = genesisHash(chainId, genesisTime, engine.root(), validators);
  const app = new ChainApp({ engine, chain: { chainId, ...genesis.chain }, genesisHash: gHash, verifier: new Verifier({ fast: createNodeCryptoVerifier() }) });
  const senders = Array.from({ length: 16 }, (_, i) => nodeSigner(seedBytes(0x736e64, i)));
  const rng = new Mulberry32(o.seed ?? 1);
  const bound = engine.bound;
  const quorum = quorumThreshold(100 * n) / 100;
  const records: RawBlockJson[] = [];
  const snapshots = new Map<number, SnapshotJson>();
  const roots = [toHex(engine.root())];
  let parent = gHash;
  let justify: QC = genesisQC(gHash);
  let nonce = 0;
  let txCount = 0;
  for (let h = 1; h <= o.blocks; h++) {
    const txs: Uint8Array[] = [];
    for (let k = 0; k < o.txsPerBlock; k++) {
      const target = { shard: rng.below(ma.shards), layer: rng.below(ma.layers), slot: rng.below(ma.slots) };
      const kind = rng.below(10);
      const op: TxFields['op'] =
        kind < 6 ? { op: 'add', ...target, vec: Array.from({ length: ma.dim }, () => rng.below(2 * bound + 1) - bound) }
        : kind < 8 ? { op: 'decay', ...target, factor: rng.below(ma.q + 1) }
        : kind < 9 ? { op: 'mix', ...target, src: rng.below(ma.slots), alpha: rng.below(ma.q + 1) }
        : { op: 'clip', ...target, bound: rng.below(bound + 1) };
      txs.push(signTxFast({ chainId, nonce: nonce++, validUntil: h + 10, op }, senders[rng.below(senders.length)]!).bytes);
    }
    txCount += txs.length;
    const exec = app.execute(parent, h, txs);
    const block: Block = makeBlock(
      {
        chainId, height: h, round: h, parentHash: parent, proposer: h % n, timestamp: genesisTime + 100 * h, txRoot: exec.txRoot, stateRoot: exec.stateRoot,
        justify, tc: null, epoch: Math.floor(h / genesis.consensus.epochLength!), randao: { commit: null, reveal: null }, evidence: [],
      },
      txs,
    );
    app.attach(exec.id, block.hash);
    const result = app.commit(block.hash);
    const voters = Array.from({ length: Math.ceil(quorum) }, (_, i) => (h + i) % n).sort((a, b) => a - b);
    const msg = voteSignBytes(chainId, h, h, block.hash);
    const qc: QC = { round: h, height: h, blockHash: block.hash, signers: voters, sigs: voters.map((v) => signers[v]!.sign(msg)) };
    records.push({
      height: h,
      block: toBase64(encodeBlock(block)),
      qc: toBase64(encodeCanonical(qcToCanon(qc))),
      receipts: JSON.parse(JSON.stringify(result.receipts)),
    });
    roots.push(toHex(exec.stateRoot));
    if (o.snapshotsAt?.includes(h)) {
      snapshots.set(h, {
        height: h,
        chain: toBase64(encodeSnapshot(app.exportState())),
        tip: toBase64(encodeCanonical([blockToCanon(block), qcToCanon(qc)])),
      });
    }
    parent = block.hash;
    justify = qc;
  }
  return { genesis, wasm: engineWasmBytes(), records, snapshots, roots, validatorSigners: signers, txs: txCount };
}
