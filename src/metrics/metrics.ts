// One prom-client Registry per node. Every series exists (at 0) from the first scrape, so dashboards
// and alerts never see "absent" where they should see "zero". Names follow CometBFT's where one
// exists (consensus_height, consensus_rounds, consensus_validators, consensus_missing_validators,
// consensus_block_interval_seconds, consensus_block_size_bytes, mempool_size, p2p_peers, ...), under
// `numchain_`; with setChainId() every series carries a `chain_id` label, as CometBFT's do.
// docs/grafana/numchain.json is a dashboard built on them.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const FAST_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1];

// Default gauges whose names end in _total break `promtool check metrics` (prom-client issue #283).
const LINT_BREAKING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface MetricsOptions {
  /** Every reason a transaction can be rejected for, so each series starts at 0. */
  readonly rejectReasons: readonly string[];
  /** Every gossip message type, so each series starts at 0. */
  readonly messageTypes: readonly string[];
  readonly prefix?: string;
  readonly defaultMetrics?: boolean;
}

/** A counter whose value lives in another module's stats object; read at scrape time. */
export type CounterSource = () => Readonly<Record<string, number>>;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly height: Gauge;
  readonly lastBlockTime: Gauge;
  readonly blockTxs: Histogram;
  readonly mempoolSize: Gauge;
  readonly mempoolBytes: Gauge;
  readonly txAccepted: Counter;
  readonly txRejected: Counter<'reason'>;
  readonly execSignatureChecks: Counter<'how'>;
  readonly blockTxsPreverified: Counter;
  readonly txCommitted: Counter;
  readonly blockApplySeconds: Histogram;
  readonly submitToCommitSeconds: Histogram;
  readonly fsyncSeconds: Histogram;
  readonly snapshotSeconds: Histogram;
  readonly persistSeconds: Histogram<'what'>;
  readonly rounds: Gauge;
  readonly roundTimeouts: Counter;
  readonly tcsFormed: Counter;
  readonly viewChanges: Counter;
  readonly votesReceived: Counter;
  readonly proposals: Counter;
  readonly peers: Gauge;
  readonly p2pSentMessages: Counter<'message_type'>;
  readonly p2pSentBytes: Counter<'message_type'>;
  readonly p2pReceivedMessages: Counter<'message_type'>;
  readonly p2pReceivedBytes: Counter<'message_type'>;
  readonly p2pAcked: Counter;
  readonly p2pRetried: Counter;
  readonly syncing: Gauge;
  readonly syncTargetHeight: Gauge;
  readonly storageFull: Gauge;
  readonly queueStalledSeconds: Gauge;
  readonly queueStalls: Counter;
  readonly peerMutes: Counter;
  readonly mutedMessages: Counter;
  readonly storageFullPauses: Counter;
  readonly slashingEvents: Counter;
  readonly stateRootMismatches: Counter;
  readonly validators: Gauge;
  readonly validatorsPower: Gauge;
  readonly missingValidators: Gauge;
  readonly missingValidatorsPower: Gauge;
  readonly byzantineValidators: Gauge;
  readonly byzantineValidatorsPower: Gauge;
  readonly validatorPower: Gauge<'validator' | 'name'>;
  readonly validatorEffectivePower: Gauge<'validator' | 'name'>;
  readonly validatorLastSignedHeight: Gauge<'validator' | 'name'>;
  readonly validatorMissedBlocks: Counter<'validator' | 'name'>;
  readonly validatorLeaderWeight: Gauge<'validator' | 'name'>;
  readonly pocReliability: Gauge<'validator' | 'name'>;
  readonly pocCapacityChunks: Gauge<'validator' | 'name'>;
  readonly pocOutcomes: Counter<'validator' | 'outcome'>;
  readonly pocRefused: Counter<'reason'>;
  readonly pocCommitsSent: Gauge;
  readonly pocAnswersSent: Gauge;
  readonly pocAnswersFailed: Gauge;
  readonly pocAnswerSeconds: Gauge;
  readonly blockInterval: Histogram;
  readonly blockSizeBytes: Gauge;
  readonly numTxs: Gauge;
  private readonly p: string;
  private validatorLabels: { validator: string; name: string }[] = [];

  constructor(opts: MetricsOptions) {
    const p = (this.p = opts.prefix ?? 'numchain_');
    const registers = [this.registry];
    const gauge = (name: string, help: string) => new Gauge({ name: p + name, help, registers });
    const counter = (name: string, help: string) => new Counter({ name: p + name, help, registers });
    const hist = (name: string, help: string, buckets: number[]) => new Histogram({ name: p + name, help, buckets, registers });
    const byType = (name: string, help: string) => {
      const c = new Counter({ name: p + name, help, labelNames: ['message_type'] as const, registers });
      for (const t of opts.messageTypes) c.labels(t).inc(0);
      return c;
    };

    this.height = gauge('consensus_height', 'Height of the latest committed block.');
    this.lastBlockTime = gauge('consensus_latest_block_timestamp_seconds', "Proposer's timestamp of the latest committed block (never used by execution).");
    this.blockTxs = hist('consensus_block_txs', 'Transactions per committed block.', [0, 1, 10, 50, 100, 250, 500, 1000, 2000, 5000]);
    this.mempoolSize = gauge('mempool_size', 'Transactions waiting in the mempool.');
    this.mempoolBytes = gauge('mempool_size_bytes', 'Bytes of transactions waiting in the mempool.');
    this.txAccepted = counter('mempool_tx_accepted_total', 'Transactions admitted to the mempool.');
    this.txRejected = new Counter({ name: p + 'mempool_tx_rejected_total', help: 'Transactions refused at admission or execution, by reason.', labelNames: ['reason'] as const, registers });
    for (const r of opts.rejectReasons) this.txRejected.labels(r).inc(0);
    this.txCommitted = counter('consensus_txs_committed_total', 'Transactions in committed blocks (applied or rejected by execution).');
    this.execSignatureChecks = new Counter({
      name: p + 'state_tx_signature_checks_total',
      help: 'Transactions in executed blocks by how their signature was known good: cached (verified at admission, off the consensus thread) or verified (checked during execution).',
      labelNames: ['how'] as const,
      registers,
    });
    for (const h of ['cached', 'verified']) this.execSignatureChecks.labels(h).inc(0);
    this.blockTxsPreverified = counter('state_block_txs_preverified_total', 'Transactions of received blocks whose signatures were checked on the worker pool before execution (they had not arrived by gossip yet).');
    this.blockApplySeconds = hist('state_block_apply_seconds', 'Time to execute one block against the engine.', LATENCY_BUCKETS);
    this.submitToCommitSeconds = hist('tx_submit_to_commit_seconds', 'From RPC admission to the committed receipt, per transaction.', LATENCY_BUCKETS);
    this.fsyncSeconds = hist('store_fsync_seconds', 'Block log fsync latency.', FAST_BUCKETS.concat([0.25, 0.5, 1]));
    this.snapshotSeconds = hist('store_snapshot_seconds', 'Time to write one snapshot.', LATENCY_BUCKETS);
    this.persistSeconds = new Histogram({ name: p + 'consensus_persist_seconds', help: 'Time to make consensus state durable before acting on it (safety state, uncommitted blocks).', labelNames: ['what'] as const, buckets: FAST_BUCKETS.concat([0.25, 0.5, 1]), registers });
    for (const w of ['safety', 'block']) this.persistSeconds.zero({ what: w });
    this.rounds = gauge('consensus_rounds', 'Current consensus round.');
    this.roundTimeouts = counter('consensus_round_timeouts_total', 'Local round timeouts.');
    this.tcsFormed = counter('consensus_timeout_certificates_total', 'Timeout certificates formed.');
    this.viewChanges = counter('consensus_view_changes_total', 'Rounds advanced through a timeout certificate instead of a QC.');
    this.votesReceived = counter('consensus_votes_received_total', 'Votes received.');
    this.proposals = counter('consensus_proposals_total', 'Blocks this node proposed as leader.');
    this.peers = gauge('p2p_peers', 'Authenticated peers connected.');
    this.p2pSentMessages = byType('p2p_message_send_total', 'Gossip messages sent, by type.');
    this.p2pSentBytes = byType('p2p_message_send_bytes_total', 'Gossip bytes sent, by type.');
    this.p2pReceivedMessages = byType('p2p_message_receive_total', 'Gossip messages received, by type.');
    this.p2pReceivedBytes = byType('p2p_message_receive_bytes_total', 'Gossip bytes received, by type.');
    this.p2pAcked = counter('p2p_messages_acked_total', 'Critical messages acknowledged by peers.');
    this.p2pRetried = counter('p2p_messages_retried_total', 'Critical messages sent again after no ACK.');
    this.syncing = gauge('blocksync_syncing', '1 while catching up from peers, else 0.');
    this.syncTargetHeight = gauge('blocksync_target_height', 'Height the node is catching up to (0 when not syncing).');
    this.storageFull = gauge('storage_full', 'Consensus paused because a write found the disk full (ENOSPC) and is being retried: 1, else 0.');
    this.queueStalledSeconds = gauge('consensus_queue_stalled_seconds', 'Seconds the consensus input queue has finished nothing while inputs wait (0 unless stalled for 5 s or more).');
    this.queueStalls = counter('consensus_queue_stalls_total', 'Times the consensus input queue finished nothing for 5 s while inputs waited.');
    this.peerMutes = counter('consensus_peer_mutes_total', 'Times a peer was muted for sending too many invalid consensus messages.');
    this.mutedMessages = counter('consensus_muted_messages_total', 'Consensus messages from a muted peer, dropped before verification.');
    this.storageFullPauses = counter('storage_full_pauses_total', 'Times consensus paused on a full disk (ENOSPC).');
    this.slashingEvents = counter('consensus_slashing_events_total', 'Evidence committed that reduced a validator’s voting power.');
    this.stateRootMismatches = counter('consensus_state_root_mismatches_total', 'Proposals whose state root differed from this node’s own execution.');
    this.validators = gauge('consensus_validators', 'Number of validators.');
    this.validatorsPower = gauge('consensus_validators_power', 'Total bonded (voting) power of the validators.');
    this.missingValidators = gauge('consensus_missing_validators', 'Validators whose vote is missing from the QC in the latest committed block (its justify, which certifies the parent).');
    this.missingValidatorsPower = gauge('consensus_missing_validators_power', 'Bonded power of the validators missing from the latest committed block’s QC.');
    this.byzantineValidators = gauge('consensus_byzantine_validators', 'Validators with committed equivocation evidence (slashed).');
    this.byzantineValidatorsPower = gauge('consensus_byzantine_validators_power', 'Bonded power of the validators with committed equivocation evidence.');
    const perValidator = ['validator', 'name'] as const;
    this.validatorPower = new Gauge({ name: p + 'consensus_validator_power', help: 'Bonded (voting) power of each validator: what QCs and TCs count.', labelNames: perValidator, registers });
    this.validatorEffectivePower = new Gauge({ name: p + 'consensus_validator_effective_power', help: 'Effective power of each validator after penalties (leader selection weight from the next epoch).', labelNames: perValidator, registers });
    this.validatorLastSignedHeight = new Gauge({ name: p + 'consensus_validator_last_signed_height', help: 'Highest height whose QC, as carried by a committed block, holds the validator’s vote.', labelNames: perValidator, registers });
    this.validatorLeaderWeight = new Gauge({ name: p + 'consensus_validator_leader_weight', help: 'Leader selection weight of each validator this epoch (effective power, scaled by proven capacity when the chain has PoC).', labelNames: perValidator, registers });
    this.pocReliability = new Gauge({ name: p + 'poc_validator_reliability_permille', help: 'PoC reliability of each validator (docs/poc-pop.md): 1000 answering every challenge on time, lower after missed, late or wrong answers.', labelNames: perValidator, registers });
    this.pocCapacityChunks = new Gauge({ name: p + 'poc_validator_capacity_chunks', help: 'Replica chunks each validator has a commitment in force for (0: none).', labelNames: perValidator, registers });
    this.pocOutcomes = new Counter({ name: p + 'poc_epoch_outcomes_total', help: 'PoC epoch outcomes committed, by validator and outcome (ontime, late, missed, wrong).', labelNames: ['validator', 'outcome'] as const, registers });
    this.pocRefused = new Counter({ name: p + 'poc_items_refused_total', help: 'PoC commits and answers refused before the pool (malformed or oversized, bad_signature: not signed by the validator it names, stale: another epoch, duplicate: that validator already has one for the epoch).', labelNames: ['reason'] as const, registers });
    this.pocCommitsSent = gauge('poc_commits_sent', 'PoC commitments this validator signed and submitted since start.');
    this.pocAnswersSent = gauge('poc_answers_sent', 'PoC answers this validator signed and submitted since start.');
    this.pocAnswersFailed = gauge('poc_answers_failed', 'PoC challenges this validator could not answer since start (replica missing or unreadable, PoP state no longer kept).');
    this.pocAnswerSeconds = gauge('poc_last_answer_seconds', 'Time this validator took to build its last PoC answer (disk reads included).');
    this.validatorMissedBlocks = new Counter({ name: p + 'consensus_validator_missed_blocks_total', help: 'Committed blocks whose QC (carried by the next block) lacks the validator’s vote.', labelNames: perValidator, registers });
    this.blockInterval = hist('consensus_block_interval_seconds', 'Time between consecutive committed blocks, by their proposers’ timestamps.', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.blockSizeBytes = gauge('consensus_block_size_bytes', 'Size of the latest committed block, canonical encoding (header and transactions).');
    this.numTxs = gauge('consensus_num_txs', 'Transactions in the latest committed block.');

    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: p });
      for (const name of LINT_BREAKING_DEFAULTS) this.registry.removeSingleMetric(p + name);
    }
  }

  /** Label every series with the chain id (CometBFT's `chain_id`). */
  setChainId(chainId: string): void {
    this.registry.setDefaultLabels({ chain_id: chainId });
  }

  /** The validator set: counts, powers and a series per validator, each present from now on. */
  setValidators(list: readonly { readonly name: string; readonly power: number }[]): void {
    this.validatorLabels = list.map((v, i) => ({ validator: String(i), name: v.name }));
    this.validators.set(list.length);
    this.validatorsPower.set(list.reduce((n, v) => n + v.power, 0));
    list.forEach((v, i) => {
      const l = this.validatorLabels[i]!;
      this.validatorPower.set(l, v.power);
      this.validatorEffectivePower.set(l, v.power);
      this.validatorLastSignedHeight.set(l, 0);
      this.validatorMissedBlocks.inc(l, 0);
    });
  }

  /** The labels of validator `i` (as given to setValidators). */
  validatorLabel(i: number): { validator: string; name: string } {
    return this.validatorLabels[i] ?? { validator: String(i), name: '' };
  }

  /**
   * Export a counter kept by another module (mempool, transport, consensus core): at scrape time the
   * source is read and the prom-client counter advanced by the difference.
   */
  mirrorCounter(name: string, help: string, label: string, keys: readonly string[], source: CounterSource): void {
    const seen = new Map<string, number>();
    const c = new Counter({
      name: this.p + name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        const now = source();
        for (const k of keys) {
          const v = now[k] ?? 0;
          const delta = v - (seen.get(k) ?? 0);
          if (delta > 0) c.labels(k).inc(delta);
          seen.set(k, Math.max(v, seen.get(k) ?? 0));
        }
      },
    });
    for (const k of keys) c.labels(k).inc(0);
  }

  /** Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
