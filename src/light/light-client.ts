// A light verifier that trusts genesis and nothing else: it checks every committed block a node
// serves against the validator set (the QC certifying it: ZIP-215 signatures, a quorum of bonded
// power, for exactly that block hash, round and height), the hash chain from genesis (or from a
// certified snapshot), and re-executes every block with its own copy of the engine, so its state
// root must equal the certified one at every height. Row proofs are checked against certified roots.
// A node that serves a forged block, QC, snapshot, proof or receipt is caught: the call throws a
// Forgery naming what was forged and where.
//
// Everything here is the project's own code (consensus encodings and QC rules, the chain executor,
// the engine); nothing is reimplemented. Portable and sans-IO: the caller fetches the JSON of
// GET /genesis, /snapshot/latest, /blocks and /state (src/rpc/api.ts) and hands it in; it runs the
// same in a browser page (ui/), in Node and in the benchmarks.
import { ChainApp } from '../chain/app.ts';
import type { Receipt } from '../chain/receipts.ts';
import { decodeSnapshot } from '../chain/snapshot.ts';
import { decodeTx, TxError, type SignedTx } from '../chain/tx.ts';
import { CanonicalError, decodeCanonical, type Canon } from '../codec/canonical.ts';
import { AppError } from '../consensus/app.ts';
import { blockFromCanon, genesisHash, qcFromCanon, voteSignBytes } from '../consensus/block.ts';
import { CertVerifier } from '../consensus/certs.ts';
import { ConsensusError } from '../consensus/errors.ts';
import type { Block, QC, SigVerifier, Validator } from '../consensus/types.ts';
import { Verifier, verifyZip215 } from '../crypto/ed25519.ts';
import { bytesEqual, fromHex, sha256, toHex } from '../crypto/sha256.ts';
import { MaEngine } from '../engine/engine.ts';
import { verifyRowProof } from '../engine/proof.ts';
import { MaError, type RowTarget } from '../engine/types.ts';
import type { GenesisJson, RawBlockJson, ReceiptJson, SnapshotJson, StateJson } from '../rpc/api.ts';
import { fromBase64 } from '../util/base64.ts';
import { FifoMap } from '../util/fifo-map.ts';
import type { AsyncFastVerifier, SigItem } from './webcrypto-ed25519.ts';
import { Forgery, type LightClientOptions, type CertifiedHeader, type AppliedBlock, type ProofCheck, type ValidatorActivity, type LightStats } from './light-types.ts';

export { type ForgeryKind, Forgery, type LightClientOptions, type CertifiedHeader, type AppliedBlock, type ProofCheck, type ValidatorActivity, type LightStats } from './light-types.ts';

const MAX_PENDING_PROOFS = 16;

export class LightClient {
  readonly chainId: string;
  readonly validators: readonly Validator[];
  readonly genesisHash: Uint8Array;
  readonly engine: MaEngine;
  readonly app: ChainApp;
  readonly stats: LightStats = { start: 'genesis', blocks: 0, txs: 0, qcs: 0, sigsFast: 0, sigsZip215: 0, proofs: 0 };
  readonly activity: ValidatorActivity[];
  private readonly certs: CertVerifier;
  private readonly sigs: SigVerifier;
  private readonly fast: AsyncFastVerifier | null;
  /** (key, message, signature) triples the fast path accepted for the QC being verified */
  private readonly approved = new Set<string>();
  private readonly headers: FifoMap<number, CertifiedHeader>;
  private tipHeader: CertifiedHeader;
  private readonly pendingProofs: { state: StateJson; resolve(c: ProofCheck): void; reject(e: unknown): void }[] = [];
  private busy = false;

  private constructor(readonly genesis: GenesisJson, engine: MaEngine, opts: LightClientOptions) {
    this.chainId = genesis.chainId;
    this.engine = engine;
    this.fast = opts.fast ?? null;
    this.validators = genesis.validators.map((v, i) => {
      if (v.index !== i) throw new Forgery('malformed', null, `genesis validators[${i}] has index ${v.index}`);
      return { publicKey: fromHex(v.publicKey, `validators[${i}].publicKey`, 32), power: v.bond };
    });
    this.activity = this.validators.map(() => ({ lastVote: 0, lastProposal: 0, missed: 0 }));
    const root = engine.root();
    this.genesisHash = genesisHash(genesis.chainId, genesis.genesisTime, root, this.validators);
    this.app = new ChainApp({ engine, chain: { chainId: genesis.chainId, ...genesis.chain }, genesisHash: this.genesisHash, verifier: new Verifier(), mempool: null });
    const sigs: SigVerifier = {
      verify: (pk: Uint8Array, m: Uint8Array, s: Uint8Array): boolean => {
        if (this.approved.has(sigKey(pk, m, s))) {
          this.stats.sigsFast++;
          return true;
        }
        this.stats.sigsZip215++;
        return verifyZip215(pk, m, s);
      },
    };
    this.sigs = sigs;
    this.certs = new CertVerifier(genesis.chainId, this.validators, sigs, this.genesisHash);
    this.headers = new FifoMap(opts.keepHeaders ?? 4096);
    this.tipHeader = { height: 0, hash: this.genesisHash, stateRoot: root };
    this.headers.set(0, this.tipHeader);
  }

  /**
   * A client at genesis. `wasm` must be the engine genesis commits to (its SHA-256 is checked), so
   * the state roots computed here come from the same code as the validators'.
   */
  static async create(genesis: GenesisJson, wasm: Uint8Array, opts: LightClientOptions = {}): Promise<LightClient> {
    const got = toHex(sha256(wasm));
    if (got !== genesis.engine.sha256) throw new Forgery('engine', null, `the engine served has SHA-256 ${got}, but genesis commits to ${genesis.engine.sha256}`);
    const engine = await MaEngine.instantiate(wasm as Uint8Array<ArrayBuffer>, genesis.ma);
    return new LightClient(genesis, engine, opts);
  }

  /** The last verified and replayed block. */
  get tip(): CertifiedHeader {
    return this.tipHeader;
  }

  /** The certified header at `height`, if verified here and still remembered. */
  header(height: number): CertifiedHeader | null {
    return this.headers.get(height) ?? null;
  }

  /** The fast path in use ('webcrypto'), or null (ZIP-215 in JS only). */
  get fastPath(): string | null {
    return this.fast?.name ?? null;
  }

  /**
   * Start from a node's snapshot instead of genesis: its tip block must be certified by its QC, the
   * snapshot must be of that block, and its tensor must hash to the block's certified state root.
   */
  async loadSnapshot(s: SnapshotJson): Promise<void> {
    if (this.tipHeader.height !== 0 || this.stats.blocks > 0) throw new Error('a snapshot can only be loaded before any block');
    const h = s.height;
    let block: Block;
    let qc: QC;
    let chain: Uint8Array;
    try {
      const t = decodeCanonical(fromBase64(s.tip, 'snapshot.tip'), this.maxBlockEncoding()) as Canon[];
      if (!Array.isArray(t) || t.length !== 2) throw new CanonicalError('the tip must be [block, qc]');
      block = blockFromCanon(t[0], 'snapshot.tip.block', this.genesis.chain.maxTxsPerBlock, this.genesis.chain.maxTxBytes);
      qc = qcFromCanon(t[1], 'snapshot.tip.qc');
      chain = fromBase64(s.chain, 'snapshot.chain');
    } catch (e) {
      throw new Forgery('malformed', h, `snapshot at height ${h}: ${(e as Error).message}`);
    }
    await this.certify(block, qc, h, 'snapshot');
    let snap;
    try {
      snap = decodeSnapshot(chain, this.app.snapshotMaxBytes());
    } catch (e) {
      throw new Forgery('malformed', h, `snapshot at height ${h}: ${(e as Error).message}`);
    }
    if (snap.height !== h || snap.chainId !== this.chainId) throw new Forgery('snapshot', h, `the snapshot's state is of ${snap.chainId} height ${snap.height}, not of the certified block at ${h}`);
    if (!bytesEqual(snap.blockHash, block.hash)) throw new Forgery('snapshot', h, `the snapshot's state is of block ${short(snap.blockHash)}, not of the certified block ${short(block.hash)}`);
    if (!bytesEqual(snap.stateRoot, block.header.stateRoot)) {
      throw new Forgery('snapshot', h, `the snapshot claims state root ${short(snap.stateRoot)}, but the certified block at ${h} has ${short(block.header.stateRoot)}`);
    }
    try {
      this.app.importState(snap);
    } catch (e) {
      if (e instanceof MaError) throw new Forgery('snapshot', h, `the snapshot's tensor does not hash to the certified state root: ${e.message}`);
      throw new Forgery('snapshot', h, `the snapshot does not load: ${(e as Error).message}`);
    }
    this.noteActivity(block, qc);
    this.setTip({ height: h, hash: block.hash, stateRoot: block.header.stateRoot });
    this.stats.start = h;
  }

  /**
   * Verify and replay the next block (height tip + 1). Throws Forgery when anything about it is not
   * what the certified chain says; then nothing changes here.
   */
  async applyBlock(r: RawBlockJson): Promise<AppliedBlock> {
    if (this.busy) throw new Error('applyBlock calls must not overlap');
    this.busy = true;
    try {
      return await this.applyBlockNow(r);
    } finally {
      this.busy = false;
    }
  }

  private async applyBlockNow(r: RawBlockJson): Promise<AppliedBlock> {
    const h = this.tipHeader.height + 1;
    if (r.height !== h) throw new Forgery('malformed', r.height, `asked for block ${h}, got block ${r.height}`);
    const { block, qc } = this.decodeRecord(r, h);
    await this.certify(block, qc, h, 'block');
    if (!bytesEqual(block.header.parentHash, this.tipHeader.hash)) {
      throw new Forgery('block', h, `block ${h} extends ${short(block.header.parentHash)}, not the certified block ${short(this.tipHeader.hash)} at ${h - 1}`);
    }
    await this.preverifyTxs(block.txs);
    // Execution checks by ZIP-215 itself every signature the fast path did not accept.
    const checkedBefore = this.app.stats().executionVerified;
    let exec;
    try {
      exec = this.app.execute(block.header.parentHash, h, block.txs);
    } catch (e) {
      if (e instanceof AppError) throw new Forgery('transactions', h, `block ${h}: ${e.message}`);
      throw e;
    } finally {
      this.stats.sigsZip215 += this.app.stats().executionVerified - checkedBefore;
    }
    if (!bytesEqual(exec.txRoot, block.header.txRoot)) {
      throw new Forgery('transactions', h, `the transactions of block ${h} hash to ${short(exec.txRoot)}, but the certified header commits to ${short(block.header.txRoot)}`);
    }
    if (!bytesEqual(exec.stateRoot, block.header.stateRoot)) {
      throw new Forgery('state_root', h, `replaying block ${h} here gives state root ${short(exec.stateRoot)}, but the certified header says ${short(block.header.stateRoot)}`);
    }
    this.app.attach(exec.id, block.hash);
    const committed = this.app.commit(block.hash);
    const bad = receiptsDiffer(committed.receipts, r.receipts);
    if (bad !== null) throw new Forgery('receipts', h, `block ${h}: the node's receipt ${bad}`);
    this.noteActivity(block, qc);
    this.setTip({ height: h, hash: block.hash, stateRoot: exec.stateRoot });
    this.stats.blocks++;
    this.stats.txs += block.txs.length;
    let applied = 0;
    const rows = new Set<number>();
    for (const rc of committed.receipts) {
      if (rc.status !== 'applied') continue;
      applied++;
      rows.add(rc.row);
    }
    this.settleProofs();
    return { block, qc, receipts: committed.receipts, stateRoot: exec.stateRoot, applied, rejected: committed.receipts.length - applied, rows: [...rows] };
  }

  /**
   * Verify a block and its QC out of sequence (the explorer): decoding, hash, QC. A height this
   * client has replayed must also have the same hash.
   */
  async verifyRecord(r: RawBlockJson): Promise<{ block: Block; qc: QC }> {
    const { block, qc } = this.decodeRecord(r, r.height);
    await this.certify(block, qc, r.height, 'block');
    const known = this.headers.get(r.height);
    if (known && !bytesEqual(known.hash, block.hash)) throw new Forgery('block', r.height, `block ${r.height} hashes to ${short(block.hash)}, but ${short(known.hash)} was certified and replayed here`);
    return { block, qc };
  }

  /**
   * Check a row proof (GET /state) against the certified state root at its height: at once when this
   * client is already there or past it (and against its own replayed row when exactly there), else
   * once the replay reaches that height. Rejects with Forgery('proof').
   */
  checkProof(s: StateJson): Promise<ProofCheck> {
    if (!Number.isSafeInteger(s?.height) || s.height < 0) return Promise.reject(new Forgery('proof', null, 'the proof has no valid height'));
    if (s.height <= this.tipHeader.height) {
      try {
        return Promise.resolve(this.proofNow(s));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    if (this.pendingProofs.length >= MAX_PENDING_PROOFS) return Promise.reject(new Error('too many proofs waiting for the replay'));
    return new Promise((resolve, reject) => this.pendingProofs.push({ state: s, resolve, reject }));
  }

  /**
   * Check one QC exactly as applyBlock does (fast path, then the quorum and ZIP-215 for what it did not
   * accept), with nothing remembered from earlier checks: for benchmarks and tools. Throws Forgery('qc').
   */
  async verifyQc(qc: QC): Promise<void> {
    await this.preverifyVotes(qc);
    try {
      new CertVerifier(this.chainId, this.validators, this.sigs, this.genesisHash, 1).verifyQC(qc);
    } catch (e) {
      if (e instanceof ConsensusError) throw new Forgery('qc', qc.height, `the QC of block ${qc.height} does not verify: ${e.message}`);
      throw e;
    } finally {
      this.approved.clear();
    }
  }

  /** One layer (slots × dim values, row-major) of the replayed state at the tip. */
  readLayer(shard: number, layer: number): Int32Array {
    const { slots, dim } = this.genesis.ma;
    const out = new Int32Array(slots * dim);
    this.app.withCommittedState((e) => {
      for (let slot = 0; slot < slots; slot++) out.set(e.readRow({ shard, layer, slot }), slot * dim);
    });
    return out;
  }

  /** The replayed row at the tip. */
  readRow(t: RowTarget): Int32Array {
    return this.app.readRow(t);
  }

  /** Decode a transaction of a block for display (null when it does not decode). */
  decodeTx(bytes: Uint8Array): SignedTx | null {
    try {
      return decodeTx(bytes, this.app.limits);
    } catch (e) {
      if (e instanceof TxError) return null;
      throw e;
    }
  }

  // ---------------------------------------------------------------- internals

  private maxBlockEncoding(): number {
    return this.genesis.chain.maxBlockBytes + (1 << 20);
  }

  private decodeRecord(r: RawBlockJson, h: number): { block: Block; qc: QC } {
    try {
      const block = blockFromCanon(decodeCanonical(fromBase64(r.block, 'block'), this.maxBlockEncoding()), 'block', this.genesis.chain.maxTxsPerBlock, this.genesis.chain.maxTxBytes);
      const qc = qcFromCanon(decodeCanonical(fromBase64(r.qc, 'qc')), 'qc');
      return { block, qc };
    } catch (e) {
      throw new Forgery('malformed', h, `block ${h}: ${(e as Error).message}`);
    }
  }

  /** `qc` certifies exactly `block` at height `h` with valid votes of a quorum of bonded power. */
  private async certify(block: Block, qc: QC, h: number, what: 'block' | 'snapshot'): Promise<void> {
    const hd = block.header;
    const kind = what === 'snapshot' ? 'snapshot' : 'block';
    if (hd.chainId !== this.chainId) throw new Forgery(kind, h, `block ${h} is of chain ${hd.chainId}, not ${this.chainId}`);
    if (hd.height !== h) throw new Forgery(kind, h, `asked for block ${h}, got a block of height ${hd.height}`);
    if (!bytesEqual(qc.blockHash, block.hash)) {
      throw new Forgery(kind, h, `the QC certifies block ${short(qc.blockHash)}, but the block served at ${h} hashes to ${short(block.hash)}`);
    }
    if (qc.height !== h || qc.round !== hd.round) throw new Forgery('qc', h, `the QC is for height ${qc.height} round ${qc.round}, the block is at height ${h} round ${hd.round}`);
    await this.preverifyVotes(qc);
    try {
      this.certs.verifyQC(qc, `qc(${h})`);
    } catch (e) {
      if (e instanceof ConsensusError) throw new Forgery('qc', h, `the QC of block ${h} does not verify: ${e.message}`);
      throw e;
    } finally {
      this.approved.clear();
    }
    this.stats.qcs++;
    // The certificates the header carries, so that what the explorer shows of them is checked too:
    // the justify QC must certify the parent, and a TC must verify with its high QC (bonded power).
    const j = hd.justify;
    if (!bytesEqual(j.blockHash, hd.parentHash) || j.height !== h - 1) throw new Forgery('block', h, `block ${h}'s justify QC certifies ${short(j.blockHash)} at height ${j.height}, not its parent`);
    await this.preverifyVotes(j);
    try {
      this.certs.verifyQC(j, `block(${h}).justify`);
      if (hd.tc !== null) this.certs.verifyTC(hd.tc, `block(${h}).tc`);
    } catch (e) {
      if (e instanceof ConsensusError) throw new Forgery('qc', h, `a certificate in block ${h}'s header does not verify: ${e.message}`);
      throw e;
    } finally {
      this.approved.clear();
    }
  }

  private async preverifyVotes(qc: QC): Promise<void> {
    if (this.fast === null || qc.round === 0) return;
    const msg = voteSignBytes(this.chainId, qc.round, qc.height, qc.blockHash);
    const items: SigItem[] = [];
    qc.signers.forEach((s, i) => {
      const v = this.validators[s];
      if (v !== undefined && qc.sigs[i] !== undefined) items.push({ publicKey: v.publicKey, message: msg, signature: qc.sigs[i]! });
    });
    const ok = await this.fast.verifyMany(items);
    items.forEach((it, i) => ok[i] && this.approved.add(sigKey(it.publicKey, it.message, it.signature)));
  }

  /** Transactions the fast path accepts are remembered as verified; execution checks the others by ZIP-215. */
  private async preverifyTxs(txs: readonly Uint8Array[]): Promise<void> {
    if (this.fast === null || txs.length === 0) return;
    const decoded: SignedTx[] = [];
    for (const t of txs) {
      const d = this.decodeTx(t);
      if (d !== null) decoded.push(d);
    }
    const ok = await this.fast.verifyMany(decoded.map((d) => ({ publicKey: d.body.sender, message: d.bodyBytes, signature: d.signature })));
    decoded.forEach((d, i) => {
      if (!ok[i]) return;
      this.app.verified.remember(d);
      this.stats.sigsFast++;
    });
  }

  private setTip(h: CertifiedHeader): void {
    this.tipHeader = h;
    this.headers.set(h.height, h);
  }

  private noteActivity(block: Block, qc: QC): void {
    const h = block.header.height;
    const a = this.activity;
    const p = a[block.header.proposer];
    if (p) p.lastProposal = Math.max(p.lastProposal, h);
    const signed = new Set(qc.signers);
    a.forEach((v, i) => {
      if (signed.has(i)) v.lastVote = Math.max(v.lastVote, h);
      else v.missed++;
    });
    for (const s of block.header.justify.signers) if (a[s]) a[s]!.lastVote = Math.max(a[s]!.lastVote, h - 1);
  }

  private proofNow(s: StateJson): ProofCheck {
    const h = s.height;
    const cert = this.headers.get(h);
    // Not the node's fault: this client no longer remembers that height (or started after it).
    if (!cert) throw new Error(`no certified header at height ${h} is remembered here to check the proof against`);
    const { shards, layers, slots, dim } = this.genesis.ma;
    const fail = (m: string): never => {
      throw new Forgery('proof', h, `row proof (${s.shard}/${s.layer}/${s.slot}) at height ${h}: ${m}`);
    };
    const target = { shard: s.shard, layer: s.layer, slot: s.slot };
    if (![s.shard, s.layer, s.slot].every((x) => Number.isSafeInteger(x) && x >= 0) || s.shard >= shards || s.layer >= layers || s.slot >= slots) fail('not a row of this tensor');
    if (s.index !== (s.shard * layers + s.layer) * slots + s.slot || s.rows !== shards * layers * slots) fail('row index or row count do not match the chain parameters');
    if (!Array.isArray(s.values) || s.values.length !== dim || !s.values.every((x) => Number.isInteger(x) && x >= -0x8000_0000 && x <= 0x7fff_ffff)) fail(`values must be ${dim} int32 integers`);
    if (!Array.isArray(s.path)) fail('no audit path');
    let root: Uint8Array;
    let path: Uint8Array[];
    try {
      root = fromHex(s.stateRoot, 'stateRoot', 32);
      path = s.path.map((p, i) => fromHex(p, `path[${i}]`, 32));
    } catch (e) {
      return fail((e as Error).message);
    }
    const values = Int32Array.from(s.values);
    if (!verifyRowProof({ ...target, index: s.index, rows: s.rows, values, path }, root)) fail(`the proof does not lead to the root it came with (${short(root)})`);
    if (!bytesEqual(root, cert.stateRoot)) fail(`the proof leads to ${short(root)}, but the certified state root at ${h} is ${short(cert.stateRoot)}`);
    let compared = false;
    if (h === this.tipHeader.height) {
      const mine = this.readRow(target);
      if (mine.some((x, i) => x !== values[i])) fail('its values differ from the row replayed here');
      compared = true;
    }
    this.stats.proofs++;
    return { height: h, index: s.index, comparedWithReplay: compared };
  }

  private settleProofs(): void {
    const h = this.tipHeader.height;
    for (let i = 0; i < this.pendingProofs.length; ) {
      const p = this.pendingProofs[i]!;
      if (p.state.height > h) {
        i++;
        continue;
      }
      this.pendingProofs.splice(i, 1);
      try {
        p.resolve(this.proofNow(p.state));
      } catch (e) {
        p.reject(e);
      }
    }
  }
}

function sigKey(pk: Uint8Array, m: Uint8Array, s: Uint8Array): string {
  return `${toHex(pk)}/${toHex(s)}/${toHex(m)}`;
}

function short(b: Uint8Array): string {
  return toHex(b).slice(0, 16) + '…';
}

/** null when the node's receipts are exactly the ones computed here, else what differs. */
function receiptsDiffer(mine: readonly Receipt[], theirs: readonly ReceiptJson[] | undefined): string | null {
  if (!Array.isArray(theirs)) return 'list is missing';
  if (theirs.length !== mine.length) return `list has ${theirs.length} entries, execution gives ${mine.length}`;
  for (let i = 0; i < mine.length; i++) {
    const a = mine[i] as unknown as Record<string, unknown>;
    const b = theirs[i] as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(a), ...Object.keys(b ?? {})]);
    for (const k of keys) {
      if (a[k] !== b?.[k]) return `${i} (${String(a.txid).slice(0, 16)}…) says ${k} = ${JSON.stringify(b?.[k])}, execution gives ${JSON.stringify(a[k])}`;
    }
  }
  return null;
}
