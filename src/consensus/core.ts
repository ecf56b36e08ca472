// The consensus state machine (Jolteon / DiemBFT v4). Sans-IO: every input returns one `Ready`
// batch (ready.ts). Contract (docs/consensus.md): the driver makes the batch's blocks and safety
// state durable before any of its messages leaves, and calls `onTimer(now)` once `now` ≥ the
// latest `timerAt`. This file holds the inputs and their handlers (proposals, blocks, votes,
// timeouts, sync responses); the shared state and machinery are in core-state.ts, and the block
// tree, vote/timeout aggregation, catch-up, RANDAO field and test-only Byzantine behaviours in
// their own files.
// The consensus state machine (Jolteon / DiemBFT v4). Sans-IO: every input returns one `Ready`
// batch (ready.ts). Contract (docs/consensus.md): the driver makes the batch's blocks and safety
// state durable before any of its messages leaves, and calls `onTimer(now)` once `now` ≥ the
// latest `timerAt`.
import { toHex } from '../crypto/sha256.ts';
import { bytesEqual, makeBlock, maxHighQcRound, proposalSignBytes, timeoutSignBytes, voteSignBytes } from './block.ts';
import { checkHeader } from './block-rules.ts';
import type { Entry } from './block-tree.ts';
import { equivocate, staleJustify } from './byzantine.ts';
import { certifiedPrefix, serveSync } from './catch-up.ts';
import { applyBlock, decodeChainState, encodeChainState, enterEpoch, epochOf, type ChainState } from './chain-state.ts';
import { CoreState } from './core-state.ts';
import { ConsensusError, fail } from './errors.ts';
import { decodeMessage, type ConsensusMessage, type ProposalMsg, type SyncRequestMsg, type SyncResponseMsg, type TimeoutMsg, type VoteMsg } from './messages.ts';
import { randaoField } from './randao-field.ts';
import type { Ready } from './ready.ts';
import { afterTimeout, afterVote, roundTimeoutMs, safeToTimeout, safeToVote } from './safety.ts';
import type { Block, QC, RandaoField } from './types.ts';

export type { CommittedTip, ConsensusMetrics } from './core-state.ts';

const hex = toHex;

export class ConsensusCore extends CoreState {
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
        case 'poc':
          this.addPocItem(msg.item, false);
          return;
      }
    });
  }

  /** A PoC commit or answer this validator's prover made: kept for inclusion and gossiped. */
  onPocItem(item: Uint8Array, now: number): Ready {
    return this.run(now, () => this.addPocItem(item, true));
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
    this.recordPoc(this.tip);
    this.tipQC = qc;
    this.tree.resetTo(this.tip);
    this.tree.cacheCommitted(block);
    this.tree.rememberQC(qc);
    this.tree.rememberQC(h.justify);
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
        if (b.header.height <= this.tip.block.header.height || this.tree.has(b.hash)) continue;
        const parent = this.tree.get(b.header.parentHash);
        if (parent === undefined) continue;
        try {
          this.checkHeader(b);
          this.certs.verifyQC(b.header.justify, 'block.justify');
          this.tree.rememberQC(b.header.justify);
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
    const state = decodeChainState(bytes, this.config.validators.length, this.config.poc?.params.popWindow ?? 0);
    if ((state.poc !== null) !== (this.rules.poc !== undefined)) fail('bad_state', 'importState', 'the snapshot and the genesis disagree on proof of capacity');
    this.tip = { block: this.tip.block, state };
    this.tree.resetTo(this.tip);
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
    const stale = tc !== null && this.config.unsafe?.staleQcFork === true ? staleJustify(this.tree, this.highQC, round, this.self, this.rules, (st, pr, r) => this.leaderOf(st, pr, r)) : null;
    const justify = stale ?? this.highQC;
    const parent = this.tree.get(justify.blockHash);
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
      txRoot: exec.txRoot, stateRoot: exec.stateRoot, justify, tc, epoch, randao: this.randaoFor(st0, height, epoch),
      evidence: this.pool.select(new Set(st0.included.map((x) => x.key)), round, this.limits.maxEvidencePerBlock),
      ...this.pocFor(st0, height),
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
    const unsafe = this.config.unsafe;
    const twins = unsafe?.equivocateProposals === true && this.config.validators.length > 1
      ? equivocate(header, txs, block, sig, signer, this.config.chainId, this.highTC, this.config.validators.length, this.self, unsafe.equivocateToAll === true)
      : null;
    if (twins === null) this.send('all', { type: 'proposal', block, sig, highTC: this.highTC });
    else for (const m of twins.sends) this.send(m.to, m.msg);
    const entry: Entry = { block, state };
    this.tree.add(entry);
    this.considerVote(entry);
    if (twins !== null) {
      this.app.attach(exec.id, twins.twin.hash);
      const twinEntry: Entry = { block: twins.twin, state: applyBlock(parent.state, twins.twin, ph.round, this.rules) };
      this.tree.add(twinEntry);
      this.considerVote(twinEntry); // with doubleVote set, a second, conflicting vote
    }
  }

  /** The PoC items a block at `height` on `st0` (entered into its epoch) carries: none, or a non-empty list. */
  private pocFor(st0: ChainState, height: number): { poc?: Uint8Array[] } {
    const rules = this.rules.poc;
    if (this.pocPool === null || rules === undefined || st0.poc === null || this.pocPool.size === 0) return {};
    const items = this.pocPool.select(st0.poc, height, st0.epochInfo.epoch, st0.epochInfo.seed, rules, rules.maxItemsPerBlock, this.limits.maxMessageBytes >> 1);
    return items.length > 0 ? { poc: items } : {};
  }

  private randaoFor(st: ChainState, height: number, epoch: number): RandaoField {
    if (this.signer === null || this.self < 0 || !this.randaoSigner) return { commit: null, reveal: null };
    const { field, warn } = randaoField(st, height, epoch, this.config.epochLength, this.self, this.signer, this.config.chainId);
    if (warn !== null) this.log('warn', warn);
    return field;
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

  private checkHeader(b: Block): void {
    checkHeader(b, this.config.chainId, this.config.validators.length, this.config.epochLength, this.limits);
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
    const parent = this.tree.get(b.header.parentHash);
    if (parent === undefined) {
      if (proposal !== null && !this.tree.addOrphan(from, proposal)) this.metrics.droppedOrphans++;
      this.requestSync(from, b.header.parentHash);
      return;
    }
    const entry = this.insert(b, parent);
    if (entry === null) return;
    if (proposal !== null) this.considerVote(entry);
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
    if (this.tree.full) {
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
    this.tree.add(entry);
    this.out.blocks.push(b);
    this.tryCommit(h.justify);
    const own = this.tree.qcOf(b.hash);
    if (own !== undefined) this.tryCommit(own);
    return entry;
  }

  private adoptOrphans(parentKey: string): void {
    for (const o of this.tree.takeOrphans(parentKey)) this.handleBlock(o.msg.block, o.from, o.msg);
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

  /**
   * A vote counts towards its QC, formed once the votes reach a quorum of bonded power (whether or
   * not the block is known here yet).
   */
  private aggregateVote(voter: number, round: number, height: number, blockHash: Uint8Array, sig: Uint8Array): void {
    const qc = this.aggregator.addVote(this.round, voter, round, height, blockHash, sig);
    if (qc === null) return;
    this.metrics.qcsFormed++;
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
    const r = this.aggregator.addTimeout(this.round, voter, round, highQC, sig);
    if (r === null) return;
    if (r.tc !== null) {
      this.metrics.tcsFormed++;
      this.processTC(r.tc, this.self, true);
      this.send('all', { type: 'cert', qc: this.highQC, tc: r.tc });
      return;
    }
    // More power timed out than can be faulty: at least one honest node gave up on this round, so join
    // in rather than wait for our own timer (bounded view change).
    const w = this.certs.bonded;
    if (round === this.round && r.power > w.total - w.quorum && (this.lastTimeout === null || this.lastTimeout.round !== round)) this.localTimeout();
  }

  // ---- catch-up ----------------------------------------------------------------------------

  private onSyncRequest(from: number, msg: SyncRequestMsg): void {
    const scan = this.limits.maxPendingBlocks + this.limits.maxCommittedCache;
    const r = serveSync(msg, (k) => this.tree.block(k), (h) => this.tree.qcOf(h), this.limits.maxSyncBlocks, scan, this.limits);
    if (r !== null) this.send(from, r);
  }

  /**
   * Blocks answering our sync request. Nothing in a response is executed, stored or even partly
   * inserted before the whole range is known to be certified (catch-up.ts), the QC on top checked
   * first: an unsolicited, forged or malformed response costs at most one QC verification and the
   * hashing of its headers.
   */
  private onSyncResponse(from: number, msg: SyncResponseMsg): void {
    this.metrics.syncResponses++;
    const fromHeight = msg.blocks[0]?.header.height;
    if (fromHeight === undefined || !this.sync.answered(from, fromHeight)) {
      this.metrics.unsolicitedSyncResponses++;
      return;
    }
    for (const b of msg.blocks) this.checkHeader(b);
    const { count, topQC } = certifiedPrefix(msg, fromHeight, (h) => this.tree.qcOf(h));
    if (topQC === null) return;
    this.certs.verifyQC(topQC, 'sync_response.qc');
    let applied = 0;
    for (let i = 0; i < count; i++) {
      const b = msg.blocks[i]!;
      if (b.header.height <= this.tip.block.header.height) continue;
      // The header is certified from above, and its honest voters checked its justify.
      this.certs.trustQC(b.header.justify);
      this.processQC(b.header.justify, from, true);
      // Not tree size: inserting a block can commit and prune its ancestors.
      const had = this.tree.has(b.hash);
      this.handleBlock(b, from, null);
      if (!had && (this.tree.has(b.hash) || this.tip.block.header.height >= b.header.height)) {
        this.metrics.syncBlocksApplied++;
        applied++;
      }
    }
    this.processQC(topQC, from, true);
    for (const b of msg.blocks) this.adoptOrphans(hex(b.hash));
    // Only a response that brought new blocks asks for the next range: a duplicate (the answer to a
    // retried or overtaken request) asking again too would keep every extra request alive forever.
    if (applied > 0) {
      this.sync.progressed();
      // More to fetch when the response was cut short: ask again towards the highest QC.
      const want = this.highQC;
      if (!this.tree.has(want.blockHash) && want.height > this.tip.block.header.height) this.requestSync(from, want.blockHash);
    }
  }
}
