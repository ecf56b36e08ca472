// NodeApi over a running NumchainNode: what the HTTP layer may ask, answered from committed,
// fsynced state only.
import { rejectKind, type RejectKind } from '../chain/reject-reasons.ts';
import { txFromJson, TxError } from '../chain/tx.ts';
import { toHex } from '../crypto/sha256.ts';
import type { RowTarget } from '../engine/types.ts';
import type { BlockJson, GenesisJson, HealthJson, NodeApi, ParamsJson, RawBlockJson, ReceiptJson, SnapshotJson, StateJson, SubmitResult, ValidatorsJson } from '../rpc/api.ts';
import { capacityPermille } from '../poc/weight.ts';
import { ChainSeries } from './chain-series.ts';
import { NODE_VERSION, type NumchainNode } from './node.ts';
import { b64, decodeRecord, type BlockRecord } from '../driver/records.ts';

/** HTTP status of each kind of refusal (reject-reasons.ts gives every code its kind). */
const STATUS: Record<RejectKind, number> = { too_large: 413, malformed: 400, invalid: 422, conflict: 409, retry: 429, full: 503 };

export function statusFor(code: string): number {
  const kind = rejectKind(code);
  return kind === undefined ? 422 : STATUS[kind];
}

export function createNodeApi(node: NumchainNode, engineSha256: string): NodeApi {
  const g = node.genesis;
  const maxTxs = g.chain.maxTxsPerBlock;
  const maxTxBytes = g.chain.maxTxBytes;

  const series = new ChainSeries(node);
  const genesisJson = JSON.parse(JSON.stringify(g)) as GenesisJson;

  // The newest snapshot on disk, encoded once per height: a page load asks for it, and it is megabytes.
  let snapshotCache: { height: number; json: SnapshotJson } | null = null;
  let snapshotLoading: Promise<SnapshotJson | null> | null = null;
  const loadSnapshot = async (): Promise<SnapshotJson | null> => {
    const s = await node.snapshots.latestValid();
    if (s === null) return null;
    const { chain, tip } = s.blobs;
    if (!chain || !tip) return null;
    const json: SnapshotJson = { height: s.height, chain: b64(chain), tip: b64(tip) };
    snapshotCache = { height: s.height, json };
    return json;
  };

  const blockAt = async (height: number): Promise<BlockJson | null> => {
    if (!Number.isSafeInteger(height) || height < 1 || height > node.log.syncedHeight) return null;
    const { block, receipts } = node.recent.get(height) ?? decodeRecord(await node.log.read(height), maxTxs, maxTxBytes);
    const h = block.header;
    return {
      height: h.height,
      hash: toHex(block.hash),
      parent: toHex(h.parentHash),
      stateRoot: toHex(h.stateRoot),
      txRoot: toHex(h.txRoot),
      timestamp: h.timestamp,
      round: h.round,
      proposer: h.proposer,
      epoch: h.epoch,
      evidence: h.evidence.map((e) => ({ kind: e.kind, validator: e.validator, round: e.round })),
      txids: receipts.map((r) => r.txid),
      receipts: receipts as unknown as ReceiptJson[],
    };
  };

  return {
    submit(tx: unknown, clientKey: string): SubmitResult {
      let bytes: Uint8Array;
      if (tx instanceof Uint8Array) bytes = tx;
      else {
        try {
          bytes = txFromJson(tx, node.app.limits).bytes;
        } catch (e) {
          if (!(e instanceof TxError)) throw e;
          node.metrics.txRejected.labels(e.code).inc();
          return { accepted: false, txid: null, code: e.code, field: e.field, message: e.message, status: statusFor(e.code) };
        }
      }
      const r = node.admit(bytes, clientKey);
      if (r.ok) return { accepted: true, txid: r.txid };
      return { accepted: false, txid: r.txid, code: r.code, field: r.field, message: r.message, status: statusFor(r.code) };
    },

    async submitBatch(txs: readonly unknown[], clientKey: string): Promise<SubmitResult[]> {
      const out: (SubmitResult | null)[] = new Array(txs.length).fill(null);
      const bytes: Uint8Array[] = [];
      const at: number[] = [];
      txs.forEach((tx, i) => {
        if (tx instanceof Uint8Array) {
          bytes.push(tx);
          at.push(i);
          return;
        }
        try {
          bytes.push(txFromJson(tx, node.app.limits).bytes);
          at.push(i);
        } catch (e) {
          if (!(e instanceof TxError)) throw e;
          node.metrics.txRejected.labels(e.code).inc();
          out[i] = { accepted: false, txid: null, code: e.code, field: e.field, message: e.message, status: statusFor(e.code) };
        }
      });
      const results = await node.admitBatch(bytes, clientKey);
      results.forEach((r, k) => {
        out[at[k]] = r.ok ? { accepted: true, txid: r.txid } : { accepted: false, txid: r.txid, code: r.code, field: r.field, message: r.message, status: statusFor(r.code) };
      });
      return out as SubmitResult[];
    },

    health(): HealthJson {
      const reason = node.storageFullReason;
      return {
        // false while the node cannot do its job (today: a full disk); `reason` says why.
        ok: reason === null,
        ...(reason === null ? {} : { reason }),
        chainId: g.chainId,
        nodeIndex: node.index,
        height: node.height,
        stateRoot: toHex(node.durableRoot),
        lastBlockTime: node.latestBlockTime,
        syncing: node.syncing,
        peers: node.transport.connectedPeers().length,
        validators: g.validators.length,
        version: NODE_VERSION,
        engineSha256,
        round: node.core.currentRound,
        mempool: node.mempool.size,
        // Quorums are counted in bonded power; penalties lower the leader weight only (docs/consensus.md).
        votingPower: g.validators.map((v) => v.bond),
        leaderWeight: [...node.core.currentEpoch().powers],
        effectivePower: [...node.core.currentPowers()],
        slashingEvents: node.core.slashingLog.length,
        // With proof of capacity: each validator's reliability and its last epoch outcome (GET /validators has the history).
        ...(node.core.committedState.poc !== null ? {
          poc: {
            reliabilityPermille: node.core.committedState.poc.validators.map((s) => s.rel),
            lastOutcome: g.validators.map((_, i) => [...node.core.pocLog].reverse().find((o) => o.validator === i)?.outcome ?? null),
            answersSent: node.replica.prover?.stats.answersSent ?? 0,
            answersFailed: node.replica.prover?.stats.answersFailed ?? 0,
          },
        } : {}),
      };
    },

    params(): ParamsJson {
      return { chainId: g.chainId, ma: g.ma, bound: node.engine.bound, txWindow: g.chain.txWindow, maxTxBytes, maxBatch: 1000 };
    },

    async block(height: number | 'latest'): Promise<BlockJson | null> {
      return blockAt(height === 'latest' ? node.log.syncedHeight : height);
    },

    async waitBlock(height: number, timeoutMs: number): Promise<BlockJson | null> {
      if (!Number.isSafeInteger(height) || height < 1) return null;
      if (!(await node.waitForHeight(height, timeoutMs))) return null;
      return blockAt(height);
    },

    receipt(txid: string): ReceiptJson | null {
      return node.receipts.get(txid) as ReceiptJson | null;
    },

    async waitReceipt(txid: string, timeoutMs: number): Promise<ReceiptJson | null> {
      return (await node.receipts.wait(txid, timeoutMs)) as ReceiptJson | null;
    },

    async state(t: RowTarget): Promise<StateJson> {
      await node.whenDurable();
      return node.app.withCommittedState((e) => {
        const p = e.proof(t);
        return {
          height: node.app.height,
          stateRoot: toHex(e.root()),
          shard: p.shard,
          layer: p.layer,
          slot: p.slot,
          index: p.index,
          rows: p.rows,
          values: Array.from(p.values),
          path: p.path.map(toHex),
        };
      });
    },

    evidence(): unknown {
      return {
        // Effective power after everything committed: the leader weight from the next epoch boundary
        // on. Voting power (what QCs and TCs count) is the bond and never changes.
        effectivePower: [...node.core.currentPowers()],
        epoch: node.core.currentEpoch().epoch,
        leaderWeight: [...node.core.currentEpoch().powers],
        votingPower: g.validators.map((v) => v.bond),
        slashing: node.core.slashingLog,
        pending: node.core.pendingEvidence().map((e) => ({ kind: e.kind, validator: e.validator, round: e.round })),
      };
    },

    validators(): ValidatorsJson {
      const st = node.core.committedState;
      const poc = st.poc;
      const params = g.poc;
      const effective = node.core.currentPowers();
      const commitment = (c: { root: Uint8Array; chunks: number } | null) => (c === null ? null : { root: toHex(c.root), chunks: c.chunks });
      return {
        epoch: st.epochInfo.epoch,
        height: node.core.committedHeight,
        poc: poc !== null,
        validators: g.validators.map((v, i) => {
          const s = poc?.validators[i];
          return {
            index: i,
            name: v.name,
            publicKey: v.publicKey,
            votingPower: v.bond,
            effectivePower: effective[i] ?? 0,
            leaderWeight: st.epochInfo.powers[i] ?? 0,
            ...(s !== undefined && params !== undefined ? {
              poc: {
                active: commitment(s.active),
                pending: commitment(s.pending),
                capacityPermille: capacityPermille(s, params),
                reliabilityPermille: s.rel,
                answeredThisEpoch: poc!.answered[i] === true,
                history: node.core.pocLog.filter((o) => o.validator === i).map((o) => ({ epoch: o.epoch, outcome: o.outcome, reliability: o.relAfter })),
              },
            } : {}),
          };
        }),
      };
    },

    genesis(): GenesisJson {
      return genesisJson;
    },

    async rawBlocks(from: number, count: number, maxBytes: number): Promise<RawBlockJson[]> {
      const out: RawBlockJson[] = [];
      const top = Math.min(node.log.syncedHeight, from + count - 1);
      let bytes = 0;
      for (let h = from; h <= top && bytes < maxBytes; h++) {
        const rec = (await node.log.read(h)) as Partial<BlockRecord>;
        if (typeof rec.block !== 'string' || typeof rec.qc !== 'string' || !Array.isArray(rec.receipts)) throw new Error(`block log record at height ${h} is missing block, qc or receipts`);
        out.push({ height: h, block: rec.block, qc: rec.qc, receipts: rec.receipts as unknown as ReceiptJson[] });
        bytes += rec.block.length + rec.qc.length;
      }
      return out;
    },

    async latestSnapshot(): Promise<SnapshotJson | null> {
      const heights = await node.snapshots.heights();
      const top = heights[heights.length - 1];
      if (top === undefined) return null;
      if (snapshotCache?.height === top) return snapshotCache.json;
      snapshotLoading ??= loadSnapshot().finally(() => (snapshotLoading = null));
      return snapshotLoading;
    },

    async metricsText(): Promise<string> {
      await series.update();
      return node.metricsText();
    },
    get metricsContentType() {
      return node.metrics.contentType;
    },
  };
}
