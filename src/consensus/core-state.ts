// The consensus core's state and the machinery every handler shares: the constructor, read-only
// views, the Ready batch being built, the pacemaker's rounds and timer, adopting certificates,
// committing, evidence, and asking for blocks. The handlers of the inputs are in core.ts (class
// ConsensusCore extends this one); the split is only by job, the state is one.
import { encodeCanonical } from '../codec/canonical.ts';
import { toHex } from '../crypto/sha256.ts';
import { Aggregator } from './aggregation.ts';
import { AppError, type ConsensusApp } from './app.ts';
import { bytesEqual, evidenceKey, genesisBlock, MAX_POC_ITEMS } from './block.ts';
import { BlockTree, type Entry } from './block-tree.ts';
import { SyncRequests } from './catch-up.ts';
import { CertVerifier } from './certs.ts';
import { enterEpoch, initialChainState, leaderInputs, type ChainRules, type ChainState, type EpochInfo, type SlashingEvent } from './chain-state.ts';
import { ConsensusError, fail } from './errors.ts';
import { EquivocationDetector, EvidencePool } from './evidence.ts';
import { LeaderSelector } from './leader.ts';
import { PocPool, type PocPoolVerdict } from './poc-pool.ts';
import type { PocOutcome, PocRules } from './poc-state.ts';
import { encodeMessage, type ConsensusMessage } from './messages.ts';
import { validateValidators } from './quorum.ts';
import { ReadyBuilder, type LogLevel, type Ready } from './ready.ts';
import { initialSafety, roundTimeoutMs } from './safety.ts';
import {
  DEFAULT_LIMITS, type Block, type ConsensusConfig, type ConsensusLimits, type Evidence, type QC, type SafetyState, type SigVerifier, type Signer, type TC,
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

const hex = toHex;

export class CoreState {
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
  /** Recent proof-of-capacity epoch outcomes from committed blocks (bounded). */
  readonly pocLog: PocOutcome[] = [];
  /** PoC items this core refused, by reason (the pool's verdicts other than 'added'). */
  readonly pocRefused: Record<Exclude<PocPoolVerdict, 'added'>, number> = { duplicate: 0, stale: 0, malformed: 0, bad_signature: 0 };

  protected readonly rules: ChainRules;
  protected readonly self: number;
  protected safety: SafetyState;
  protected round = 0;
  protected highQC: QC;
  protected highTC: TC | null;
  protected tip: Entry;
  protected tipQC: QC;
  protected readonly tree: BlockTree;
  protected readonly aggregator: Aggregator;
  protected readonly votedInRound = new Set<string>();
  protected readonly detector: EquivocationDetector;
  protected readonly pool: EvidencePool;
  /** PoC items waiting for a block (null on a chain without PoC). */
  protected readonly pocPool: PocPool | null;
  protected readonly leaders = new LeaderSelector();
  protected lastTimeout: { round: number; bytes: Uint8Array } | null = null;
  protected roundDeadline = Number.POSITIVE_INFINITY;
  protected proposeAt: number | null = null;
  protected lastTimerAt = Number.NaN;
  protected readonly sync = new SyncRequests();
  protected started = false;
  /**
   * The RANDAO reveal is the signature the commitment was made from, re-created when it is due: only
   * a signer that gives the same signature twice (RFC 8032 Ed25519, not a hedged or remote signer
   * that randomises) can take part. Checked once at construction; without it this node never commits.
   */
  protected readonly randaoSigner: boolean;
  protected now = 0;
  protected readonly out = new ReadyBuilder();

  constructor(
    readonly config: ConsensusConfig,
    protected readonly app: ConsensusApp,
    protected readonly signer: Signer | null,
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
      ...(config.poc !== undefined ? { poc: pocRules(config, this.certs.validators.map((v) => v.publicKey)) } : {}),
    };
    this.pocPool = config.poc !== undefined ? new PocPool(config.validators.length) : null;
    this.detector = new EquivocationDetector(this.limits.equivocationWindowRounds, 64 * 4 * this.limits.equivocationWindowRounds);
    this.pool = new EvidencePool(this.limits.maxEvidencePool, this.limits.evidenceWindowRounds);
    const tipBlock = committedTip?.block ?? this.genesis;
    this.tipQC = committedTip?.qc ?? this.certs.genesisQcFor();
    this.tip = { block: tipBlock, state: initialChainState(this.genesis.hash, this.certs.bonded.powers, config.poc !== undefined) };
    this.tree = new BlockTree(this.limits, this.tip);
    this.aggregator = new Aggregator(this.certs.bonded, this.limits, () => this.metrics.droppedMessages++);
    this.safety = restoredSafety ?? initialSafety(this.tipQC);
    this.highQC = this.safety.highQC.round >= this.tipQC.round ? this.safety.highQC : this.tipQC;
    this.highTC = this.safety.highTC;
    this.tree.rememberQC(this.tipQC);
    // Its own domain tag: the probe signature can never be taken for a consensus message.
    const probe = encodeCanonical(['numchain/signer-probe/v1', config.chainId]);
    this.randaoSigner = signer !== null && bytesEqual(signer.sign(probe), signer.sign(probe));
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
    return this.tree.lowestCachedHeight(this.tip.block.header.height);
  }
  get committedBlock(): Block { return this.tip.block; }
  /** The chain-derived state after the committed tip (epoch, powers, RANDAO, PoC). */
  get committedState(): ChainState { return this.tip.state; }
  get highestQC(): QC { return this.highQC; }
  get highestTC(): TC | null { return this.highTC; }
  get safetyState(): SafetyState { return this.safety; }
  /** Effective powers after everything committed so far (take effect for leader selection next epoch). */
  currentPowers(): readonly number[] { return this.tip.state.effective; }
  /** The epoch of the committed tip: its schedule powers, seed (the RANDAO beacon) and start round. */
  currentEpoch(): EpochInfo { return this.tip.state.epochInfo; }
  pendingEvidence(): Evidence[] { return this.pool.pending(); }
  hasEvidence(kind: 'vote' | 'proposal', validator: number, round: number): boolean { return this.pool.has(kind, validator, round); }
  pendingBlocks(): number { return this.tree.pending; }

  /** Leader of `round` for a block extending `parent` (which must be known to this core). */
  leaderFor(parentHash: Uint8Array, round: number): number | null {
    const p = this.tree.get(parentHash);
    if (p === undefined) return null;
    const st = enterEpoch(p.state, p.block.header.height + 1, p.block.header.round, this.rules);
    return this.leaderOf(st, p.block.header.round, round);
  }

  // ---- machinery ---------------------------------------------------------------------------

  protected run(now: number, f: () => void): Ready {
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

  protected log(level: LogLevel, msg: string): void {
    this.out.notes.push({ type: 'log', level, msg });
  }

  protected flushTimer(): void {
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
  protected persist(next: SafetyState): void {
    this.safety = { ...next, highQC: this.highQC, highTC: this.highTC };
    this.out.safety = this.safety;
  }

  protected send(to: number | 'all', msg: ConsensusMessage): Uint8Array {
    const bytes = encodeMessage(msg);
    this.out.messages.push({ to, kind: msg.type, bytes });
    return bytes;
  }

  /** Leader of `round` for a block extending a parent of round `parentRound` whose state, entered into the next height's epoch, is `st0`. */
  protected leaderOf(st0: ChainState, parentRound: number, round: number): number {
    return this.leaders.leaderOf(leaderInputs(st0, parentRound, round, this.rules), round);
  }

  protected roundsSinceCommit(): number {
    return Math.max(0, this.round - this.tip.block.header.round - 2);
  }

  protected enterRound(r: number, why: 'qc' | 'tc' | 'start'): void {
    if (r <= this.round) return;
    this.round = r;
    this.metrics.rounds++;
    if (why === 'tc') this.metrics.viewChanges++;
    this.aggregator.enterRound(r);
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
   * Verify and adopt a QC (highest QC, commits, round). Certificates are counted in bonded power, so
   * a QC can be judged without its block; a block not known here is fetched from `from`.
   */
  protected processQC(qc: QC, from: number, trusted: boolean): void {
    if (!trusted) this.certs.verifyQC(qc, 'qc');
    this.tree.rememberQC(qc);
    if (qc.round > this.highQC.round) this.highQC = qc;
    if (qc.height > this.tip.block.header.height && !this.tree.has(qc.blockHash)) this.requestSync(from, qc.blockHash);
    this.tryCommit(qc);
    if (qc.round >= this.round) this.enterRound(qc.round + 1, 'qc');
  }

  /** Verify and adopt a TC, and the QC it carries (so our high QC is at least its highest round). */
  protected processTC(tc: TC, from: number, trusted: boolean): void {
    if (!trusted) this.certs.verifyTC(tc);
    this.processQC(tc.highQC, from, true);
    if (this.highTC === null || tc.round > this.highTC.round) this.highTC = tc;
    if (tc.round >= this.round) this.enterRound(tc.round + 1, 'tc');
  }

  // ---- commit ------------------------------------------------------------------------------

  protected tryCommit(qc: QC): void {
    const e1 = this.tree.get(qc.blockHash);
    if (e1 === undefined) return;
    if (this.config.unsafe?.commitOnOneChain === true) {
      if (e1.block.header.height > this.tip.block.header.height) this.commitUpTo(e1, qc);
      return;
    }
    const e0 = this.tree.get(e1.block.header.parentHash);
    if (e0 === undefined) return;
    if (e0.block.header.round + 1 !== e1.block.header.round) return;
    if (e0.block.header.height <= this.tip.block.header.height) return;
    this.commitUpTo(e0, e1.block.header.justify);
  }

  protected commitUpTo(target: Entry, qcForTarget: QC): void {
    const chain = this.tree.chainTo(target, qcForTarget, this.tip);
    if (chain === null) {
      this.log('error', `refusing to commit height ${target.block.header.height}: it does not extend the committed tip`);
      return;
    }
    for (const { entry, qc } of chain) {
      this.out.commits.push({ block: entry.block, qc });
      this.metrics.commits++;
      for (const e of entry.block.header.evidence) this.pool.markCommitted(e);
      this.recordSlashing(entry.state.events);
      this.recordPoc(entry);
      this.tree.cacheCommitted(entry.block);
      this.tip = entry;
      this.tipQC = qc;
    }
    this.tree.pruneTo(this.tip);
  }

  protected recordSlashing(events: readonly SlashingEvent[]): void {
    for (const event of events) {
      this.metrics.slashingEvents++;
      this.slashingLog.push(event);
      if (this.slashingLog.length > 256) this.slashingLog.shift();
      this.out.notes.push({ type: 'slashing', event });
    }
  }

  protected recordPoc(entry: Entry): void {
    this.pocPool?.prune(entry.block.header.poc ?? [], entry.state.epochInfo.epoch);
    for (const outcome of entry.state.pocOutcomes) {
      this.pocLog.push(outcome);
      if (this.pocLog.length > 256) this.pocLog.shift();
      this.out.notes.push({ type: 'poc_outcome', outcome });
    }
  }

  // ---- proof of capacity -------------------------------------------------------------------

  /** Keep a PoC item for inclusion; gossip it when it is new and `gossip` (this validator's own). */
  protected addPocItem(item: Uint8Array, gossip: boolean): void {
    if (this.pocPool === null || this.rules.poc === undefined) {
      this.log('debug', 'PoC item dropped: this chain has no proof of capacity');
      return;
    }
    const verdict = this.pocPool.add(item, this.tip.state.epochInfo.epoch, this.rules.poc, (v, m, s) => this.certs.verifySig(v, m, s));
    if (verdict !== 'added') this.pocRefused[verdict]++;
    // A peer that sends these is faulty (or lying): counted as an invalid message, like a bad vote.
    if (verdict === 'malformed') fail('bad_poc', 'poc.item', 'not a PoC commit or answer of a validator');
    if (verdict === 'bad_signature') fail('bad_poc', 'poc.item', 'not signed by the validator it names');
    if (verdict === 'added' && gossip) this.send('all', { type: 'poc', item });
  }

  // ---- evidence ----------------------------------------------------------------------------

  protected addEvidence(e: Evidence, gossip: boolean): void {
    if (!this.pool.add(e)) return;
    this.metrics.evidenceFound++;
    this.out.notes.push({ type: 'evidence', evidence: e });
    if (gossip) this.send('all', { type: 'evidence', evidence: e });
    this.log('warn', `equivocation by validator ${e.validator} in round ${e.round} (${evidenceKey(e)})`);
  }

  // ---- catch-up (requests; answers are the core's) -----------------------------------------

  protected requestSync(from: number, toHash: Uint8Array): void {
    if (from < 0 || from === this.self || from >= this.config.validators.length) return;
    const fromHeight = this.tip.block.header.height + 1;
    // A lost answer is asked again after timeoutBaseMs, possibly from another peer.
    if (!this.sync.request(from, hex(toHash), fromHeight, this.now, this.config.timeoutBaseMs)) return;
    this.metrics.syncRequests++;
    this.send(from, { type: 'sync_request', fromHeight, toHash });
  }

}

/** The chain's PoC rules from the config and the genesis keys. */
function pocRules(config: ConsensusConfig, keys: readonly Uint8Array[]): PocRules {
  const poc = config.poc!;
  if (poc.params.popWindow > config.epochLength) fail('bad_config', 'poc.popWindow', `must be at most epochLength (${config.epochLength})`);
  return {
    ...poc,
    chainId: config.chainId,
    epochLength: config.epochLength,
    // Every validator's answer fits in one block, and a block's PoC bytes stay bounded.
    maxItemsPerBlock: Math.min(MAX_POC_ITEMS, 2 * config.validators.length),
    publicKey: (v: number) => keys[v] ?? null,
  };
}
