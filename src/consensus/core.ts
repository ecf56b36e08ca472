// The consensus state machine (Jolteon / DiemBFT v4). Sans-IO: every input returns one `Ready`
// batch (ready.ts). Contract (docs/consensus.md): the driver makes the batch's blocks and safety
// state durable before any of its messages leaves, and calls `onTimer(now)` once `now` ≥ the
// latest `timerAt`.
import { encodeCanonical } from '../codec/canonical.ts';
import { toHex } from '../crypto/sha256.ts';
import { AppError, type ConsensusApp } from './app.ts';
import {
  bytesEqual, evidenceKey, genesisBlock, makeBlock, maxHighQcRound, proposalSignBytes, randaoSignBytes, timeoutSignBytes, voteSignBytes,
} from './block.ts';
import { CertVerifier } from './certs.ts';
import {
  applyBlock, decodeChainState, encodeChainState, enterEpoch, epochOf, initialChainState, leaderInputs, randaoCommitment,
  type ChainRules, type ChainState, type EpochInfo, type SlashingEvent,
} from './chain-state.ts';
import { ConsensusError, fail } from './errors.ts';
import { EquivocationDetector, EvidencePool } from './evidence.ts';
import { LeaderSelector } from './leader.ts';
import {
  decodeMessage, encodeMessage, syncBlockBytes, syncResponseBudget, type ConsensusMessage, type MessageType, type ProposalMsg, type SyncRequestMsg, type SyncResponseMsg,
  type TimeoutMsg, type VoteMsg,
} from './messages.ts';
import { signedPower, validateValidators } from './quorum.ts';
import { ReadyBuilder, type LogLevel, type Ready } from './ready.ts';
import { afterTimeout, afterVote, initialSafety, roundTimeoutMs, safeToTimeout, safeToVote } from './safety.ts';
import {
  DEFAULT_LIMITS, type Block, type ConsensusConfig, type ConsensusLimits, type Evidence, type QC, type RandaoField,
  type SafetyState, type SigVerifier, type Signer, type TC,
} from './types.ts';

/** The last committed block and the QC that certifies it (the genesis QC for genesis). */
export interface CommittedTip {
  readonly block: Block;
  readonly qc: QC;
}

export interface ConsensusMetrics {
  rounds: number;
  timeouts: number;
  tcsFormed: number;
  qcsFormed: number;
  viewChanges: number;
  votesReceived: number;
  votesCast: number;
  proposalsReceived: number;
  proposalsMade: number;
  commits: number;
  slashingEvents: number;
  stateRootMismatches: number;
  evidenceFound: number;
  invalidMessages: number;
  syncRequests: number;
  syncResponses: number;
  /** Sync responses from a peer we had not asked (dropped unread). */
  unsolicitedSyncResponses: number;
  syncBlocksApplied: number;
  droppedMessages: number;
  droppedOrphans: number;
  droppedBlocks: number;
}

interface Entry {
  readonly block: Block;
  readonly state: ChainState;
}

interface VoteBucket {
  readonly height: number;
  readonly blockHash: Uint8Array;
  readonly sigs: Map<number, Uint8Array>;
  done: boolean;
}

interface TimeoutBucket {
  /** voter → the (verified) high QC it timed out with, and its signature over (round, highQC.round) */
  readonly entries: Map<number, { readonly highQC: QC; readonly sig: Uint8Array }>;
  done: boolean;
}

const hex = toHex;

export class ConsensusCore {
  readonly limits: ConsensusLimits;
  readonly certs: CertVerifier;
  readonly genesis: Block;
  readonly metrics: ConsensusMetrics = {
    rounds: 0, timeouts: 0, tcsFormed: 0, qcsFormed: 0, viewChanges: 0, votesReceived: 0, votesCast: 0, proposalsReceived: 0,
    proposalsMade: 0, commits: 0, slashingEvents: 0, stateRootMismatches: 0, evidenceFound: 0, invalidMessages: 0, syncRequests: 0,
    syncResponses: 0, unsolicitedSyncResponses: 0, syncBlocksApplied: 0, droppedMessages: 0, droppedOrphans: 0, droppedBlocks: 0,
  };
  /** Recent slashing events from committed blocks (bounded). */
  readonly slashingLog: SlashingEvent[] = [];

  private readonly rules: ChainRules;
  private readonly self: number;
  private safety: SafetyState;
  private round = 0;
  private highQC: QC;
  private highTC: TC | null;
  private tip: Entry;
  private tipQC: QC;
  private tree = new Map<string, Entry>();
  private readonly committedByHash = new Map<string, Block>();
  private readonly qcByBlock = new Map<string, QC>();
  private readonly votes = new Map<number, Map<string, VoteBucket>>();
  private readonly timeouts = new Map<number, TimeoutBucket>();
  private readonly votedInRound = new Set<string>();
  private readonly orphans = new Map<string, { from: number; msg: ProposalMsg }[]>();
  private orphanCount = 0;
  private readonly detector: EquivocationDetector;
  private readonly pool: EvidencePool;
  private readonly leaders = new LeaderSelector();
  private lastTimeout: { round: number; bytes: Uint8Array } | null = null;
  private roundDeadline = Number.POSITIVE_INFINITY;
  private proposeAt: number | null = null;
  private lastTimerAt = Number.NaN;
  private sync: { toHash: string; fromHeight: number; at: number } | null = null;
  /** The height the latest sync request to each peer started at (bounded by the number of validators). */
  private readonly syncAsked = new Map<number, number>();
  private started = false;
  /**
   * The RANDAO reveal is the signature the commitment was made from, re-created when it is due: only
   * a signer that gives the same signature twice (RFC 8032 Ed25519, not a hedged or remote signer
   * that randomises) can take part. Checked once at construction; without it this node never commits.
   */
  private readonly randaoSigner: boolean;
  private now = 0;
  private readonly out = new ReadyBuilder();

  constructor(
    readonly config: ConsensusConfig,
    private readonly app: ConsensusApp,
    private readonly signer: Signer | null,
    verifier: SigVerifier,
    restoredSafety: SafetyState | null,
    committedTip: CommittedTip | null,
  ) {
    validateValidators(config.validators);
    if (!Number.isInteger(config.self) || config.self < -1 || config.self >= config.validators.length) fail('bad_config', 'self', 'must be -1 or a validator index');
    if (config.self >= 0 && signer === null) fail('bad_config', 'signer', 'a validator needs a signer');
    if (!Number.isSafeInteger(config.epochLength) || config.epochLength < 1) fail('bad_config', 'epochLength', 'must be a positive integer');
    if (!(config.timeoutBaseMs > 0)) fail('bad_config', 'timeoutBaseMs', 'must be positive');
    this.limits = { ...DEFAULT_LIMITS, ...(config.limits ?? {}) };
    this.self = config.self;
    this.genesis = genesisBlock(config.chainId, config.genesis.timeMs, config.genesis.stateRoot, config.validators);
    this.certs = new CertVerifier(config.chainId, config.validators, verifier, this.genesis.hash);
    this.rules = {
      chainId: config.chainId, epochLength: config.epochLength, slashPermille: config.slashPermille ?? 500,
      randaoPenaltyPermille: config.randaoPenaltyPermille ?? 100, evidenceWindowRounds: this.limits.evidenceWindowRounds,
      maxEvidencePerBlock: this.limits.maxEvidencePerBlock, certs: this.certs, leaders: this.leaders,
    };
    this.detector = new EquivocationDetector(this.limits.equivocationWindowRounds, 64 * 4 * this.limits.equivocationWindowRounds);
    this.pool = new EvidencePool(this.limits.maxEvidencePool, this.limits.evidenceWindowRounds);
    const tipBlock = committedTip?.block ?? this.genesis;
    this.tipQC = committedTip?.qc ?? this.certs.genesisQcFor();
    this.tip = { block: tipBlock, state: initialChainState(this.genesis.hash, this.certs.bonded.powers) };
    this.tree.set(hex(tipBlock.hash), this.tip);
    this.committedByHash.set(hex(tipBlock.hash), tipBlock);
    this.safety = restoredSafety ?? initialSafety(this.tipQC);
    this.highQC = this.safety.highQC.round >= this.tipQC.round ? this.safety.highQC : this.tipQC;
    this.highTC = this.safety.highTC;
    this.rememberQC(this.tipQC);
    // Its own domain tag: the probe signature can never be taken for a consensus message.
    const probe = encodeCanonical(['numchain/signer-probe/v1', config.chainId]);
    this.randaoSigner = signer !== null && bytesEqual(signer.sign(probe), signer.sign(probe));
  }

  // ---- inputs ------------------------------------------------------------------------------

  /** Enter the first round: max(highQC, highTC) + 1. */
  start(now: number): Ready {
    return this.run(now, () => {
      this.started = true;
      this.round = 0;
      if (this.self >= 0 && !this.randaoSigner) this.log('warn', 'the signer does not sign deterministically: this validator takes no part in RANDAO (it commits nothing, so it is never penalised for not revealing)');
      this.enterRound(Math.max(this.highQC.round, this.highTC?.round ?? 0) + 1, 'start');
    });
  }

  /** A message from validator `from` (transport-authenticated index), as bytes or already decoded. */
  onMessage(from: number, input: Uint8Array | ConsensusMessage, now: number): Ready {
    return this.run(now, () => {
      const msg = input instanceof Uint8Array ? decodeMessage(input, this.limits) : input;
      if (!this.started && msg.type !== 'sync_request') return;
      switch (msg.type) {
        case 'proposal': return this.onProposal(from, msg);
        case 'vote': return this.onVote(from, msg);
        case 'timeout': return this.onTimeout(from, msg);
        case 'cert':
          this.processQC(msg.qc, from, false);
          if (msg.tc !== null) this.processTC(msg.tc, from, false);
          return;
        case 'sync_request': return this.onSyncRequest(from, msg);
        case 'sync_response': return this.onSyncResponse(from, msg);
        case 'evidence':
          this.certs.verifyEvidence(msg.evidence);
          this.addEvidence(msg.evidence, false);
          return;
      }
    });
  }

  /** Timer input; harmless to call early or often. */
  onTimer(now: number): Ready {
    return this.run(now, () => {
      if (!this.started) return;
      if (this.proposeAt !== null && now >= this.proposeAt) {
        this.proposeAt = null;
        this.maybePropose();
      }
      if (now >= this.roundDeadline) this.localTimeout();
    });
  }

  /**
   * Log replay at restart: apply a block that was committed before the crash (the driver replays the
   * app itself). Call before start(), in height order, after importState() if a snapshot was used.
   */
  replayCommitted(block: Block, qc: QC): void {
    const h = block.header;
    if (!bytesEqual(h.parentHash, this.tip.block.hash) || h.height !== this.tip.block.header.height + 1) {
      fail('bad_block', 'replay.block', `height ${h.height} does not extend the committed tip at ${this.tip.block.header.height}`);
    }
    if (!bytesEqual(qc.blockHash, block.hash)) fail('bad_qc', 'replay.qc', 'does not certify the block');
    const state = applyBlock(this.tip.state, block, this.tip.block.header.round, this.rules);
    for (const e of block.header.evidence) this.pool.markCommitted(e);
    this.recordSlashing(state.events);
    this.tip = { block, state };
    this.tipQC = qc;
    this.tree = new Map([[hex(block.hash), this.tip]]);
    this.cacheCommitted(block);
    this.rememberQC(qc);
    this.rememberQC(h.justify);
    if (qc.round > this.highQC.round) this.highQC = qc;
  }

  /**
   * Restart: re-insert the uncommitted blocks the driver stored from `persistBlock` actions (any
   * order; those not extending the committed chain are ignored). Call after replayCommitted() and
   * before start(). May return `commit` actions (a stored 2-chain can now be recognised).
   */
  restoreBlocks(blocks: readonly Block[], now: number): Ready {
    return this.run(now, () => {
      const sorted = [...blocks].sort((a, b) => a.header.height - b.header.height);
      for (const b of sorted) {
        if (b.header.height <= this.tip.block.header.height || this.tree.has(hex(b.hash))) continue;
        const parent = this.tree.get(hex(b.header.parentHash));
        if (parent === undefined) continue;
        try {
          this.checkHeader(b);
          this.certs.verifyQC(b.header.justify, 'block.justify');
          this.rememberQC(b.header.justify);
          if (b.header.justify.round > this.highQC.round) this.highQC = b.header.justify;
          this.insert(b, parent);
        } catch (e) {
          if (!(e instanceof ConsensusError)) throw e;
          this.log('warn', `stored block at height ${b.header.height} rejected: ${e.message}`);
        }
      }
    });
  }

  /** Committed-derived consensus state (effective powers, RANDAO, evidence on chain) for snapshots. */
  exportState(): Uint8Array {
    return encodeChainState(this.tip.state);
  }

  /** Restore exportState() bytes taken at the committed tip given to the constructor. Before start(). */
  importState(bytes: Uint8Array): void {
    if (this.started) fail('bad_state', 'importState', 'must be called before start()');
    const state = decodeChainState(bytes, this.config.validators.length);
    this.tip = { block: this.tip.block, state };
    this.tree = new Map([[hex(this.tip.block.hash), this.tip]]);
  }

  // ---- read-only views ---------------------------------------------------------------------

  get currentRound(): number { return this.round; }
  get committedHeight(): number { return this.tip.block.header.height; }
  /**
   * The lowest committed height a sync request can be answered from memory (the committed cache
   * is a window behind the tip; after a restart from a snapshot it starts above the snapshot).
   * A driver serves requests for lower heights from its block log.
   */
  get lowestCachedHeight(): number {
    const first = this.committedByHash.values().next().value;
    return first === undefined ? this.tip.block.header.height + 1 : first.header.height;
  }
  get committedBlock(): Block { return this.tip.block; }
  get highestQC(): QC { return this.highQC; }
  get highestTC(): TC | null { return this.highTC; }
  get safetyState(): SafetyState { return this.safety; }
  /** Effective powers after everything committed so far (take effect for leader selection next epoch). */
  currentPowers(): readonly number[] { return this.tip.state.effective; }
  /** The epoch of the committed tip: its schedule powers, seed (the RANDAO beacon) and start round. */
  currentEpoch(): EpochInfo { return this.tip.state.epochInfo; }
  pendingEvidence(): Evidence[] { return this.pool.pending(); }
  hasEvidence(kind: 'vote' | 'proposal', validator: number, round: number): boolean { return this.pool.has(kind, validator, round); }
  pendingBlocks(): number { return this.tree.size - 1; }

  /** Leader of `round` for a block extending `parent` (which must be known to this core). */
  leaderFor(parentHash: Uint8Array, round: number): number | null {
    const p = this.tree.get(hex(parentHash));
    if (p === undefined) return null;
    const st = enterEpoch(p.state, p.block.header.height + 1, p.block.header.round, this.rules);
    return this.leaderOf(st, p.block.header.round, round);
  }

  // ---- machinery ---------------------------------------------------------------------------

  private run(now: number, f: () => void): Ready {
    this.now = now;
    try {
      f();
    } catch (e) {
      if (e instanceof ConsensusError) {
        this.metrics.invalidMessages++;
        this.log('warn', `rejected: ${e.code} ${e.message}`);
      } else if (e instanceof AppError) {
        this.log('warn', `app: ${e.code} ${e.message}`);
      } else {
        throw e;
      }
    }
    this.flushTimer();
    return this.out.take();
  }

  private log(level: LogLevel, msg: string): void {
    this.out.notes.push({ type: 'log', level, msg });
  }

  private flushTimer(): void {
    if (!this.started) return;
    const at = Math.min(this.roundDeadline, this.proposeAt ?? Number.POSITIVE_INFINITY);
    if (at !== this.lastTimerAt && Number.isFinite(at)) {
      this.lastTimerAt = at;
      this.out.timerAt = at;
    }
  }

  /**
   * Every persisted state carries the highest QC and TC known at that moment: each vote or timeout
   * is signed in a round entered through one of them, and a timeout raises the lock to the high
   * QC's round. So a restarted node resumes in round max(highQC, highTC) + 1, at or above every round
   * it signed in, with a high QC at or above its lock: it can always time out there (no whole-cluster
   * restart can leave every node unable to vote or time out).
   */
  private persist(next: SafetyState): void {
    this.safety = { ...next, highQC: this.highQC, highTC: this.highTC };
    this.out.safety = this.safety;
  }

  private send(to: number | 'all', msg: ConsensusMessage): Uint8Array {
    const bytes = encodeMessage(msg);
    this.out.messages.push({ to, kind: msg.type, bytes });
    return bytes;
  }

  /** Leader of `round` for a block extending a parent of round `parentRound` whose state, entered into the next height's epoch, is `st0`. */
  private leaderOf(st0: ChainState, parentRound: number, round: number): number {
    return this.leaders.leaderOf(leaderInputs(st0, parentRound, round, this.rules), round);
  }

  private roundsSinceCommit(): number {
    return Math.max(0, this.round - this.tip.block.header.round - 2);
  }

  private enterRound(r: number, why: 'qc' | 'tc' | 'start'): void {
    if (r <= this.round) return;
    this.round = r;
    this.metrics.rounds++;
    if (why === 'tc') this.metrics.viewChanges++;
    for (const k of this.votes.keys()) if (k < r - 1) this.votes.delete(k);
    for (const k of this.timeouts.keys()) if (k < r) this.timeouts.delete(k);
    this.votedInRound.clear();
    this.detector.prune(r);
    this.pool.expire(r);
    this.roundDeadline = this.now + roundTimeoutMs(this.config.timeoutBaseMs, this.roundsSinceCommit(), this.config.timeoutExponentCap ?? 6);
    if (this.self >= 0) {
      // The interval paces blocks when load is light; a full block waiting goes out at once.
      const full = this.app.hasBacklog?.(this.highQC.blockHash, this.limits.maxTxsPerBlock) === true;
      this.proposeAt = this.now + (full ? 0 : this.config.blockIntervalMs ?? 0);
    }
  }

  /**
   * Room for one more round in an aggregation map of at most maxAggregationRounds: the round furthest
   * from ours goes (counted as dropped), so votes or timeouts signed for rounds far ahead (a faulty
   * validator may sign any round) can never crowd out those of the round being decided. False when
   * `round` itself is the furthest.
   */
  private makeRoom(map: Map<number, unknown>, round: number): boolean {
    if (map.size < this.limits.maxAggregationRounds) return true;
    const dist = (r: number) => Math.abs(r - this.round);
    let far = round;
    for (const r of map.keys()) if (dist(r) > dist(far)) far = r;
    this.metrics.droppedMessages++;
    if (far === round) return false;
    map.delete(far);
    return true;
  }

  private rememberQC(qc: QC): void {
    const k = hex(qc.blockHash);
    if (this.qcByBlock.has(k)) return;
    if (this.qcByBlock.size >= this.limits.maxCommittedCache + this.limits.maxPendingBlocks) {
      const first = this.qcByBlock.keys().next().value;
      if (first !== undefined) this.qcByBlock.delete(first);
    }
    this.qcByBlock.set(k, qc);
  }

  private cacheCommitted(b: Block): void {
    this.committedByHash.set(hex(b.hash), b);
    while (this.committedByHash.size > this.limits.maxCommittedCache) {
      const first = this.committedByHash.keys().next().value;
      if (first === undefined) break;
      this.committedByHash.delete(first);
    }
  }

  /**
   * Verify and adopt a QC (highest QC, commits, round). Certificates are counted in bonded power, so
   * a QC can be judged without its block; a block not known here is fetched from `from`.
   */
  private processQC(qc: QC, from: number, trusted: boolean): void {
    if (!trusted) this.certs.verifyQC(qc, 'qc');
    this.rememberQC(qc);
    if (qc.round > this.highQC.round) this.highQC = qc;
    if (qc.height > this.tip.block.header.height && !this.tree.has(hex(qc.blockHash))) this.requestSync(from, qc.blockHash);
    this.tryCommit(qc);
    if (qc.round >= this.round) this.enterRound(qc.round + 1, 'qc');
  }

  /** Verify and adopt a TC, and the QC it carries (so our high QC is at least its highest round). */
  private processTC(tc: TC, from: number, trusted: boolean): void {
    if (!trusted) this.certs.verifyTC(tc);
    this.processQC(tc.highQC, from, true);
    if (this.highTC === null || tc.round > this.highTC.round) this.highTC = tc;
    if (tc.round >= this.round) this.enterRound(tc.round + 1, 'tc');
  }

  // ---- proposals ---------------------------------------------------------------------------

  private maybePropose(): void {
    if (this.self < 0 || this.signer === null) return;
    const round = this.round;
    if (this.safety.lastProposedRound >= round) return;
    const tc = this.highQC.round === round - 1 ? null : this.highTC !== null && this.highTC.round === round - 1 ? this.highTC : undefined;
    if (tc === undefined) return;
    // Never below the TC's highest round: nobody could vote for it (processTC adopted the TC's QC,
    // so this only happens with the test-only stale fork).
    if (tc !== null && this.highQC.round < maxHighQcRound(tc)) return;
    const justify = tc !== null && this.config.unsafe?.staleQcFork === true ? this.staleJustify(round) ?? this.highQC : this.highQC;
    const parent = this.tree.get(hex(justify.blockHash));
    if (parent === undefined) return;
    const ph = parent.block.header;
    const height = ph.height + 1;
    const st0 = enterEpoch(parent.state, height, ph.round, this.rules);
    if (this.leaderOf(st0, ph.round, round) !== this.self) return;
    const txs = this.app.selectTxs(parent.block.hash, height, this.limits.maxTxsPerBlock, this.limits.maxBlockBytes);
    const exec = this.app.execute(parent.block.hash, height, txs);
    const epoch = epochOf(height, this.config.epochLength);
    const header = {
      chainId: this.config.chainId, height, round, parentHash: parent.block.hash, proposer: this.self, timestamp: this.now,
      txRoot: exec.txRoot, stateRoot: exec.stateRoot, justify, tc, epoch, randao: this.randaoField(st0, height, epoch),
      evidence: this.pool.select(new Set(st0.included.map((x) => x.key)), round, this.limits.maxEvidencePerBlock),
    };
    const block = makeBlock(header, txs);
    const state = applyBlock(parent.state, block, ph.round, this.rules);
    this.app.attach(exec.id, block.hash);
    this.out.blocks.push(block);
    this.persist({ ...this.safety, lastProposedRound: round });
    const signer = this.signer;
    const sig = signer.sign(proposalSignBytes(this.config.chainId, round, height, block.hash));
    this.metrics.proposalsMade++;
    this.detector.observe('proposal', this.self, round, { height, blockHash: block.hash, sig });
    if (this.config.unsafe?.equivocateProposals === true && this.config.validators.length > 1) {
      // Byzantine test behaviour: a twin block differing only in its timestamp, sent to odd validators
      // (or to everyone, second, with equivocateToAll).
      const twin = makeBlock({ ...header, timestamp: header.timestamp + 1 }, txs);
      this.app.attach(exec.id, twin.hash);
      const twinSig = signer.sign(proposalSignBytes(this.config.chainId, round, height, twin.hash));
      const msgA: ProposalMsg = { type: 'proposal', block, sig, highTC: this.highTC };
      const msgB: ProposalMsg = { type: 'proposal', block: twin, sig: twinSig, highTC: this.highTC };
      const toAll = this.config.unsafe.equivocateToAll === true;
      this.config.validators.forEach((_, i) => {
        if (i === this.self) return;
        const [first, second] = i % 2 === 0 ? [msgA, msgB] : [msgB, msgA];
        this.send(i, first);
        if (toAll) this.send(i, second);
      });
      const entry: Entry = { block, state };
      this.tree.set(hex(block.hash), entry);
      this.considerVote(entry);
      const twinEntry: Entry = { block: twin, state: applyBlock(parent.state, twin, ph.round, this.rules) };
      this.tree.set(hex(twin.hash), twinEntry);
      this.considerVote(twinEntry); // with doubleVote set, a second, conflicting vote
      return;
    }
    this.send('all', { type: 'proposal', block, sig, highTC: this.highTC });
    const entry: Entry = { block, state };
    this.tree.set(hex(block.hash), entry);
    this.considerVote(entry);
  }

  /**
   * Test-only Byzantine leader (unsafe.staleQcFork): the justify of the block our high QC certifies,
   * if its block is still in the tree and we would lead `round` on top of it; else null.
   */
  private staleJustify(round: number): QC | null {
    const back = this.tree.get(hex(this.highQC.blockHash))?.block.header.justify;
    const parent = back === undefined ? undefined : this.tree.get(hex(back.blockHash));
    if (back === undefined || parent === undefined) return null;
    const ph = parent.block.header;
    const st = enterEpoch(parent.state, ph.height + 1, ph.round, this.rules);
    return this.leaderOf(st, ph.round, round) === this.self ? back : null;
  }

  private randaoField(st: ChainState, height: number, epoch: number): RandaoField {
    const E = this.config.epochLength;
    if (E < 2 || this.signer === null || this.self < 0 || !this.randaoSigner) return { commit: null, reveal: null };
    const pos = height % E;
    const half = Math.floor(E / 2);
    const committed = st.randaoCommits[this.self] ?? null;
    if (pos < half && committed === null) {
      return { commit: randaoCommitment(this.signer.sign(randaoSignBytes(this.config.chainId, epoch))), reveal: null };
    }
    if (pos >= half && committed !== null && st.randaoSecrets[this.self] === null) {
      const sig = this.signer.sign(randaoSignBytes(this.config.chainId, epoch));
      if (bytesEqual(randaoCommitment(sig), committed)) return { commit: null, reveal: sig };
      // Only if the key changed since the commitment: this block then costs us the withholding penalty.
      this.log('warn', `RANDAO: our signature for epoch ${epoch} does not match our commitment; not revealing`);
    }
    return { commit: null, reveal: null };
  }

  private onProposal(from: number, msg: ProposalMsg): void {
    const b = msg.block;
    const h = b.header;
    if (h.chainId !== this.config.chainId) fail('bad_chain', 'proposal.block.chainId', `expected ${this.config.chainId}`);
    if (!this.certs.verifyProposalSig(h.proposer, h.round, h.height, b.hash, msg.sig)) fail('bad_signature', 'proposal.sig', 'invalid proposer signature');
    this.metrics.proposalsReceived++;
    this.checkHeader(b);
    this.processQC(h.justify, from, false);
    if (h.tc !== null) this.processTC(h.tc, from, false);
    if (msg.highTC !== null) this.processTC(msg.highTC, from, false);
    // A block for a round far ahead of ours (its certificates, which may move us there, were used
    // above) can never get our vote, and a faulty leader could fill the block tree with them.
    if (this.beyondWindow(h.round)) return;
    this.observeSigned('proposal', h.proposer, h.round, { height: h.height, blockHash: b.hash, sig: msg.sig });
    this.handleBlock(b, from, msg);
  }

  /** Rounds so far ahead that nothing signed for them is kept (a faulty validator may sign any round). */
  private beyondWindow(round: number): boolean {
    if (round <= this.round + this.limits.maxFutureRounds) return false;
    this.metrics.droppedMessages++;
    return true;
  }

  /** Equivocation detection for a verified signed statement within the round window. */
  private observeSigned(kind: 'vote' | 'proposal', validator: number, round: number, ref: { height: number; blockHash: Uint8Array; sig: Uint8Array }): void {
    const ev = this.detector.observe(kind, validator, round, ref);
    if (ev !== null) this.addEvidence(ev, true);
  }

  /** Structural rules that need no parent. */
  private checkHeader(b: Block): void {
    const h = b.header;
    if (h.chainId !== this.config.chainId) fail('bad_chain', 'block.chainId', `expected ${this.config.chainId}`);
    if (h.height < 1) fail('bad_block', 'block.height', 'must be at least 1');
    if (h.proposer >= this.config.validators.length) fail('bad_block', 'block.proposer', 'unknown validator');
    if (!bytesEqual(h.justify.blockHash, h.parentHash)) fail('bad_block', 'block.justify', 'must certify the parent');
    if (h.justify.height !== h.height - 1) fail('bad_block', 'block.justify.height', 'must be height − 1');
    if (h.justify.round >= h.round) fail('bad_block', 'block.justify.round', 'must be below the block round');
    if (h.tc !== null && h.tc.round !== h.round - 1) fail('bad_block', 'block.tc.round', 'must be round − 1');
    if (h.epoch !== epochOf(h.height, this.config.epochLength)) fail('bad_block', 'block.epoch', `must be ${epochOf(h.height, this.config.epochLength)}`);
    if (b.txs.length > this.limits.maxTxsPerBlock) fail('bad_block', 'block.txs', `more than ${this.limits.maxTxsPerBlock} transactions`);
    let size = 0;
    for (const t of b.txs) size += t.length;
    if (size > this.limits.maxBlockBytes) fail('bad_block', 'block.txs', `more than ${this.limits.maxBlockBytes} bytes`);
  }

  /** Insert a block whose certificates were already processed; vote on it if it came as a proposal. */
  private handleBlock(b: Block, from: number, proposal: ProposalMsg | null): void {
    const key = hex(b.hash);
    const known = this.tree.get(key);
    if (known !== undefined) {
      if (proposal !== null) this.considerVote(known);
      return;
    }
    if (b.header.height <= this.tip.block.header.height) return;
    const parent = this.tree.get(hex(b.header.parentHash));
    if (parent === undefined) {
      if (proposal !== null) this.addOrphan(from, proposal);
      this.requestSync(from, b.header.parentHash);
      return;
    }
    const entry = this.insert(b, parent);
    if (entry === null) return;
    if (proposal !== null) this.considerVote(entry);
    this.tryFormQC(b.header.round, key);
    // The block our high QC certifies arrived after the QC (votes can overtake the proposal): if we
    // lead this round we could not propose before, so try again now.
    if (this.self >= 0 && bytesEqual(b.hash, this.highQC.blockHash) && this.safety.lastProposedRound < this.round) this.proposeAt = this.now;
    this.adoptOrphans(key);
  }

  private insert(b: Block, parent: Entry): Entry | null {
    const h = b.header;
    const ph = parent.block.header;
    if (h.height !== ph.height + 1) fail('bad_block', 'block.height', 'must be parent height + 1');
    if (h.round <= ph.round) fail('bad_block', 'block.round', 'must be above the parent round');
    const st0 = enterEpoch(parent.state, h.height, ph.round, this.rules);
    const leader = this.leaderOf(st0, ph.round, h.round);
    if (h.proposer !== leader) fail('bad_proposer', 'block.proposer', `round ${h.round} belongs to validator ${leader}, not ${h.proposer}`);
    // Both were usually checked on arrival already (then this is a cache hit); a synced or restored
    // block's come here first.
    this.certs.verifyQC(h.justify, 'block.justify');
    if (h.tc !== null) this.certs.verifyTC(h.tc, 'block.tc');
    const state = applyBlock(parent.state, b, ph.round, this.rules);
    if (this.tree.size >= this.limits.maxPendingBlocks + 1) {
      this.metrics.droppedBlocks++;
      return null;
    }
    const exec = this.app.execute(parent.block.hash, h.height, b.txs);
    if (!bytesEqual(exec.txRoot, h.txRoot)) fail('bad_block', 'block.txRoot', 'does not match the transactions');
    if (!bytesEqual(exec.stateRoot, h.stateRoot)) {
      this.metrics.stateRootMismatches++;
      this.out.notes.push({ type: 'state_root_mismatch', height: h.height, round: h.round, blockHash: b.hash, proposer: h.proposer, ours: exec.stateRoot, theirs: h.stateRoot });
      return null;
    }
    this.app.attach(exec.id, b.hash);
    const entry: Entry = { block: b, state };
    this.tree.set(hex(b.hash), entry);
    this.out.blocks.push(b);
    this.tryCommit(h.justify);
    const own = this.qcByBlock.get(hex(b.hash));
    if (own !== undefined) this.tryCommit(own);
    return entry;
  }

  private addOrphan(from: number, msg: ProposalMsg): void {
    if (this.orphanCount >= this.limits.maxOrphans) {
      this.metrics.droppedOrphans++;
      return;
    }
    const k = hex(msg.block.header.parentHash);
    const list = this.orphans.get(k) ?? [];
    list.push({ from, msg });
    this.orphans.set(k, list);
    this.orphanCount++;
  }

  private adoptOrphans(parentKey: string): void {
    const list = this.orphans.get(parentKey);
    if (list === undefined) return;
    this.orphans.delete(parentKey);
    this.orphanCount -= list.length;
    for (const o of list) this.handleBlock(o.msg.block, o.from, o.msg);
  }

  // ---- voting ------------------------------------------------------------------------------

  private considerVote(entry: Entry): void {
    if (this.self < 0 || this.signer === null) return;
    const h = entry.block.header;
    if (h.round !== this.round) return;
    const key = hex(entry.block.hash);
    if (this.votedInRound.has(key)) return;
    if (!safeToVote(this.safety, h.round, h.justify.round, h.tc, this.config.unsafe)) return;
    this.votedInRound.add(key);
    this.persist(afterVote(this.safety, h.round, h.justify.round));
    const sig = this.signer.sign(voteSignBytes(this.config.chainId, h.round, h.height, entry.block.hash));
    this.metrics.votesCast++;
    this.send('all', { type: 'vote', round: h.round, height: h.height, blockHash: entry.block.hash, voter: this.self, sig, highQC: this.highQC, highTC: this.highTC });
    this.detector.observe('vote', this.self, h.round, { height: h.height, blockHash: entry.block.hash, sig });
    this.aggregateVote(this.self, h.round, h.height, entry.block.hash, sig);
  }

  private onVote(from: number, msg: VoteMsg): void {
    if (!this.certs.verifyVote(msg.voter, msg.round, msg.height, msg.blockHash, msg.sig)) fail('bad_signature', 'vote.sig', 'invalid vote signature');
    this.metrics.votesReceived++;
    this.processQC(msg.highQC, from, false);
    if (msg.highTC !== null) this.processTC(msg.highTC, from, false);
    if (this.beyondWindow(msg.round)) return;
    this.observeSigned('vote', msg.voter, msg.round, { height: msg.height, blockHash: msg.blockHash, sig: msg.sig });
    this.aggregateVote(msg.voter, msg.round, msg.height, msg.blockHash, msg.sig);
  }

  private aggregateVote(voter: number, round: number, height: number, blockHash: Uint8Array, sig: Uint8Array): void {
    if (round < this.round - 1 || round > this.round + this.limits.maxFutureRounds) {
      this.metrics.droppedMessages++;
      return;
    }
    let byBlock = this.votes.get(round);
    if (byBlock === undefined) {
      if (!this.makeRoom(this.votes, round)) return;
      byBlock = new Map();
      this.votes.set(round, byBlock);
    }
    const k = hex(blockHash);
    let bucket = byBlock.get(k);
    if (bucket === undefined) {
      if (byBlock.size >= this.config.validators.length * 2) {
        this.metrics.droppedMessages++;
        return;
      }
      bucket = { height, blockHash, sigs: new Map(), done: false };
      byBlock.set(k, bucket);
    }
    if (bucket.height !== height || bucket.sigs.has(voter)) return;
    bucket.sigs.set(voter, sig);
    this.tryFormQC(round, k);
  }

  /** Form the QC once the votes reach a quorum of bonded power (whether or not the block is known here yet). */
  private tryFormQC(round: number, k: string): void {
    const bucket = this.votes.get(round)?.get(k);
    if (bucket === undefined || bucket.done) return;
    const { height, blockHash } = bucket;
    const signers = [...bucket.sigs.keys()].sort((a, b) => a - b);
    const w = this.certs.bonded;
    if (signedPower(w.powers, signers, 'votes') < w.quorum) return;
    bucket.done = true;
    this.metrics.qcsFormed++;
    const qc: QC = { round, height, blockHash, signers, sigs: signers.map((s) => bucket.sigs.get(s)!) };
    this.certs.trustQC(qc);
    // Also sent to the next leader: when a voter crashes while sending, its vote reaches only some
    // nodes, and a next leader without this QC could not propose until the round timed out.
    const next = this.leaderFor(blockHash, round + 1);
    if (next !== null && next !== this.self) this.send(next, { type: 'cert', qc, tc: null });
    this.processQC(qc, this.self, true);
  }

  // ---- timeouts ----------------------------------------------------------------------------

  private localTimeout(): void {
    const round = this.round;
    this.roundDeadline = this.now + roundTimeoutMs(this.config.timeoutBaseMs, this.roundsSinceCommit(), this.config.timeoutExponentCap ?? 6);
    if (this.self < 0 || this.signer === null) return;
    if (this.lastTimeout !== null && this.lastTimeout.round === round) {
      // Re-broadcast the same signed timeout: lost messages must not stall the view change.
      this.out.messages.push({ to: 'all', kind: 'timeout', bytes: this.lastTimeout.bytes });
      if (this.highQC.round < round - 1 && this.highTC !== null) this.send('all', { type: 'cert', qc: this.highQC, tc: this.highTC });
      return;
    }
    const qcRound = this.highQC.round;
    if (!safeToTimeout(this.safety, round, qcRound, this.highTC)) {
      this.log('warn', `not safe to time out in round ${round}`);
      return;
    }
    this.persist(afterTimeout(this.safety, round, qcRound));
    const sig = this.signer.sign(timeoutSignBytes(this.config.chainId, round, qcRound));
    this.metrics.timeouts++;
    const bytes = this.send('all', { type: 'timeout', round, voter: this.self, highQC: this.highQC, highTC: this.highTC, sig });
    this.lastTimeout = { round, bytes };
    this.aggregateTimeout(this.self, round, this.highQC, sig);
  }

  private onTimeout(from: number, msg: TimeoutMsg): void {
    if (msg.highQC.round >= msg.round) fail('bad_field', 'timeout.highQC', 'must be below the timeout round');
    if (!this.certs.verifyTimeout(msg.voter, msg.round, msg.highQC.round, msg.sig)) fail('bad_signature', 'timeout.sig', 'invalid timeout signature');
    // A timeout counts only with a verified high QC: the TC it joins must carry the QC of its highest round.
    this.processQC(msg.highQC, from, false);
    if (msg.highTC !== null) this.processTC(msg.highTC, from, false);
    this.aggregateTimeout(msg.voter, msg.round, msg.highQC, msg.sig);
  }

  private aggregateTimeout(voter: number, round: number, highQC: QC, sig: Uint8Array): void {
    if (round < this.round || round > this.round + this.limits.maxFutureRounds) return;
    let bucket = this.timeouts.get(round);
    if (bucket === undefined) {
      if (!this.makeRoom(this.timeouts, round)) return;
      bucket = { entries: new Map(), done: false };
      this.timeouts.set(round, bucket);
    }
    if (bucket.entries.has(voter) || bucket.done) return;
    bucket.entries.set(voter, { highQC, sig });
    const signers = [...bucket.entries.keys()].sort((a, b) => a - b);
    const w = this.certs.bonded;
    const power = signedPower(w.powers, signers, 'timeouts');
    if (power >= w.quorum) {
      bucket.done = true;
      const entries = signers.map((s) => bucket.entries.get(s)!);
      let top = entries[0]!.highQC;
      for (const e of entries) if (e.highQC.round > top.round) top = e.highQC;
      const tc: TC = { round, signers, highQcRounds: entries.map((e) => e.highQC.round), sigs: entries.map((e) => e.sig), highQC: top };
      this.metrics.tcsFormed++;
      this.processTC(tc, this.self, true);
      this.send('all', { type: 'cert', qc: this.highQC, tc });
      return;
    }
    // More power timed out than can be faulty: at least one honest node gave up on this round, so join
    // in rather than wait for our own timer (bounded view-change latency).
    if (round === this.round && power > w.total - w.quorum && (this.lastTimeout === null || this.lastTimeout.round !== round)) {
      this.localTimeout();
    }
  }

  // ---- commit ------------------------------------------------------------------------------

  private tryCommit(qc: QC): void {
    const e1 = this.tree.get(hex(qc.blockHash));
    if (e1 === undefined) return;
    if (this.config.unsafe?.commitOnOneChain === true) {
      if (e1.block.header.height > this.tip.block.header.height) this.commitUpTo(e1, qc);
      return;
    }
    const e0 = this.tree.get(hex(e1.block.header.parentHash));
    if (e0 === undefined) return;
    if (e0.block.header.round + 1 !== e1.block.header.round) return;
    if (e0.block.header.height <= this.tip.block.header.height) return;
    this.commitUpTo(e0, e1.block.header.justify);
  }

  private commitUpTo(target: Entry, qcForTarget: QC): void {
    const chain: { entry: Entry; qc: QC }[] = [];
    let cur: Entry | undefined = target;
    let qc = qcForTarget;
    while (cur !== undefined && cur.block.header.height > this.tip.block.header.height) {
      chain.push({ entry: cur, qc });
      qc = cur.block.header.justify;
      cur = this.tree.get(hex(cur.block.header.parentHash));
    }
    if (cur === undefined || cur !== this.tip) {
      this.log('error', `refusing to commit height ${target.block.header.height}: it does not extend the committed tip`);
      return;
    }
    chain.reverse();
    for (const { entry, qc: q } of chain) {
      this.out.commits.push({ block: entry.block, qc: q });
      this.metrics.commits++;
      for (const e of entry.block.header.evidence) this.pool.markCommitted(e);
      this.recordSlashing(entry.state.events);
      this.cacheCommitted(entry.block);
      this.tip = entry;
      this.tipQC = q;
    }
    this.pruneTree();
  }

  private recordSlashing(events: readonly SlashingEvent[]): void {
    for (const event of events) {
      this.metrics.slashingEvents++;
      this.slashingLog.push(event);
      if (this.slashingLog.length > 256) this.slashingLog.shift();
      this.out.notes.push({ type: 'slashing', event });
    }
  }

  /** Keep only the committed tip and its descendants. */
  private pruneTree(): void {
    const entries = [...this.tree.values()].sort((a, b) => a.block.header.height - b.block.header.height);
    const keep = new Map<string, Entry>([[hex(this.tip.block.hash), this.tip]]);
    for (const e of entries) {
      if (e.block.header.height <= this.tip.block.header.height) continue;
      if (keep.has(hex(e.block.header.parentHash))) keep.set(hex(e.block.hash), e);
    }
    this.tree = keep;
    for (const k of [...this.orphans.keys()]) {
      const list = this.orphans.get(k)!;
      const alive = list.filter((o) => o.msg.block.header.height > this.tip.block.header.height);
      this.orphanCount -= list.length - alive.length;
      if (alive.length === 0) this.orphans.delete(k);
      else this.orphans.set(k, alive);
    }
  }

  // ---- evidence ----------------------------------------------------------------------------

  private addEvidence(e: Evidence, gossip: boolean): void {
    if (!this.pool.add(e)) return;
    this.metrics.evidenceFound++;
    this.out.notes.push({ type: 'evidence', evidence: e });
    if (gossip) this.send('all', { type: 'evidence', evidence: e });
    this.log('warn', `equivocation by validator ${e.validator} in round ${e.round} (${evidenceKey(e)})`);
  }

  // ---- catch-up ----------------------------------------------------------------------------

  private requestSync(from: number, toHash: Uint8Array): void {
    if (from < 0 || from === this.self || from >= this.config.validators.length) return;
    const k = hex(toHash);
    const fromHeight = this.tip.block.header.height + 1;
    // One request in flight per gap: while catching up every incoming certificate names a newer
    // block, and a request for each would fetch the same range many times over (the follow-up in
    // onSyncResponse extends it towards the highest QC anyway). A lost answer is retried after
    // timeoutBaseMs, possibly from another peer.
    if (this.sync !== null && (this.sync.toHash === k || this.sync.fromHeight === fromHeight) && this.now - this.sync.at < this.config.timeoutBaseMs) return;
    this.sync = { toHash: k, fromHeight, at: this.now };
    // Only an answer to a request is accepted, from the peer asked (see onSyncResponse); a late
    // answer to an earlier request still counts, so each peer keeps its latest request.
    this.syncAsked.set(from, fromHeight);
    this.metrics.syncRequests++;
    this.send(from, { type: 'sync_request', fromHeight, toHash });
  }

  private onSyncRequest(from: number, msg: SyncRequestMsg): void {
    const chain: Block[] = [];
    let k = hex(msg.toHash);
    for (;;) {
      const b = this.tree.get(k)?.block ?? this.committedByHash.get(k);
      if (b === undefined || b.header.height < msg.fromHeight) break;
      chain.push(b);
      if (b.header.height === msg.fromHeight || chain.length > this.limits.maxPendingBlocks + this.limits.maxCommittedCache) break;
      k = hex(b.header.parentHash);
    }
    if (chain.length === 0) return;
    chain.reverse();
    if (chain[0]!.header.height !== msg.fromHeight) return;
    const budget = syncResponseBudget(this.limits);
    const blocks: Block[] = [];
    let bytes = 0;
    for (const b of chain) {
      if (blocks.length >= this.limits.maxSyncBlocks) break;
      bytes += syncBlockBytes(b);
      if (blocks.length > 0 && bytes > budget) break;
      blocks.push(b);
    }
    const qc = blocks.length < chain.length ? chain[blocks.length]!.header.justify : this.qcByBlock.get(hex(blocks[blocks.length - 1]!.hash)) ?? null;
    this.send(from, { type: 'sync_response', blocks, qc });
  }

  /**
   * Blocks answering our sync request. Nothing in a response is executed, stored or even partly
   * inserted before the whole range is known to be certified: the top block by a QC whose signatures
   * are checked first, every block below by the justify of the block above it (hashes are computed
   * here, so a certified header certifies its parent's hash). An unsolicited, forged or malformed
   * response costs at most one QC verification and the hashing of its headers.
   */
  private onSyncResponse(from: number, msg: SyncResponseMsg): void {
    this.metrics.syncResponses++;
    const fromHeight = this.syncAsked.get(from);
    if (fromHeight === undefined) {
      this.metrics.unsolicitedSyncResponses++;
      return;
    }
    this.syncAsked.delete(from);
    const blocks = msg.blocks;
    if (blocks.length === 0) return;
    if (blocks[0]!.header.height !== fromHeight) fail('bad_block', 'sync_response.blocks[0].height', `must be the height asked for, ${fromHeight}`);
    for (let i = 0; i < blocks.length; i++) {
      this.checkHeader(blocks[i]!);
      if (i > 0 && (blocks[i]!.header.height !== blocks[i - 1]!.header.height + 1 || !bytesEqual(blocks[i]!.header.justify.blockHash, blocks[i - 1]!.hash))) {
        fail('bad_block', `sync_response.blocks[${i}].justify`, 'does not certify the previous block');
      }
    }
    // The certified top: the last block with the QC sent for it (or one known here), else the block
    // below it, certified by the last block's justify.
    const last = blocks[blocks.length - 1]!;
    const sent = msg.qc !== null && bytesEqual(msg.qc.blockHash, last.hash) && msg.qc.height === last.header.height ? msg.qc : null;
    const lastQC = sent ?? this.qcByBlock.get(hex(last.hash)) ?? null;
    const certified = lastQC === null ? blocks.length - 1 : blocks.length;
    if (certified === 0) return;
    const topQC = lastQC ?? last.header.justify;
    this.certs.verifyQC(topQC, 'sync_response.qc');
    if (topQC.round !== blocks[certified - 1]!.header.round) fail('bad_qc', 'sync_response.qc.round', 'does not match the certified block');
    let applied = 0;
    for (let i = 0; i < certified; i++) {
      const b = blocks[i]!;
      if (b.header.height <= this.tip.block.header.height) continue;
      // The header is certified from above, and its honest voters checked its justify.
      this.certs.trustQC(b.header.justify);
      this.processQC(b.header.justify, from, true);
      // Not tree.size: inserting a block can commit and prune its ancestors.
      const k = hex(b.hash);
      const had = this.tree.has(k);
      this.handleBlock(b, from, null);
      if (!had && (this.tree.has(k) || this.tip.block.header.height >= b.header.height)) {
        this.metrics.syncBlocksApplied++;
        applied++;
      }
    }
    this.processQC(topQC, from, true);
    for (const b of blocks) this.adoptOrphans(hex(b.hash));
    // Only a response that brought new blocks asks for the next range: a duplicate (the answer to a
    // retried or overtaken request) asking again too would keep every extra request alive forever.
    if (applied > 0) {
      this.sync = null;
      // More to fetch when the response was cut short: ask again towards the highest QC.
      const want = this.highQC;
      if (!this.tree.has(hex(want.blockHash)) && want.height > this.tip.block.header.height) this.requestSync(from, want.blockHash);
    }
  }
}
