// A validator's Prometheus view: counters mirrored from the modules that keep their own totals
// (core, mempool, verifier, transport, worker pool, thread CPU), gauges brought up to date on each
// scrape, and the replica observer that counts what the replica reports as it happens.
import type { ChainApp } from '../chain/app.ts';
import type { Mempool } from '../chain/mempool.ts';
import type { ConsensusCore } from '../consensus/core.ts';
import type { Note } from '../consensus/ready.ts';
import type { ReplicaObserver } from '../driver/replica.ts';
import type { WireKind } from '../driver/world.ts';
import type { VerifyPool } from '../host/verify-pool.ts';
import type { NodeMetrics } from '../metrics/metrics.ts';
import { threadCpuReader } from '../metrics/thread-cpu.ts';
import { msgTypeName } from '../net/messages.ts';
import type { Transport } from '../net/transport.ts';
import { KIND_TO_NET } from './wire-kinds.ts';

export interface TelemetrySources {
  readonly metrics: NodeMetrics;
  readonly core: ConsensusCore;
  readonly app: ChainApp;
  readonly mempool: Mempool;
  readonly transport: Transport;
  readonly pool: VerifyPool | null;
  readonly syncing: () => boolean;
}

export class NodeTelemetry {
  private readonly seen = new Map<string, number>();

  constructor(private readonly s: TelemetrySources) {
    const c = s.core.metrics;
    const m = s.metrics;
    m.mirrorCounter('consensus_events_total', 'Consensus core events by kind.', 'event', Object.keys(c), () => c as unknown as Record<string, number>);
    const pool = s.mempool.counts as unknown as Record<string, number>;
    m.mirrorCounter('mempool_events_total', 'Mempool events by kind (admissions, rejections, evictions).', 'event', Object.keys(pool), () => pool);
    const v = s.app.verifier.counters as unknown as Record<string, number>;
    m.mirrorCounter('signature_verifications_total', 'Ed25519 verifications by outcome (fast path, ZIP-215 slow path, rejected, busy).', 'outcome', Object.keys(v), () => v);
    const totals = s.transport.stats as unknown as Record<string, unknown>;
    const numeric = Object.keys(totals).filter((k) => typeof totals[k] === 'number');
    const tlsRefused = s.transport.stats.tlsRefused;
    m.mirrorCounter('p2p_tls_refused_total', 'Peer links refused by TLS: tls_handshake_failed, plaintext (the peer did not speak TLS), unknown_key (certificate key not in genesis), wrong_key (another validator answered our dial).', 'reason', Object.keys(tlsRefused), () => tlsRefused);
    m.mirrorCounter('p2p_events_total', 'Transport events by kind (connects, auth failures, malformed frames, drops, retries).', 'event', numeric, () => totals as Record<string, number>);
    const vp = s.pool?.counters;
    if (vp) m.mirrorCounter('verify_pool_events_total', 'Signature worker pool events: workers replaced after exiting, jobs answered null because their worker died or they timed out, batches refused.', 'event', Object.keys(vp), () => vp as unknown as Record<string, number>);
    const cpu = threadCpuReader(() => s.pool?.threadIds ?? []);
    if (cpu) {
      m.mirrorCounter(
        'thread_cpu_seconds_total',
        'CPU time of this process by thread: consensus (the main thread: consensus, execution, admission, network, RPC), verify (signature worker threads), other (V8 garbage collection and compiler threads, libuv). Linux only.',
        'thread',
        ['consensus', 'verify', 'other'],
        () => ({ ...cpu() }),
      );
    }
  }

  /** The replica's events as metrics; `admitted` also feeds the node's submit-to-commit clock. */
  observer(onAdmitted: (txid: string) => void): Required<Pick<ReplicaObserver, 'note' | 'admitted' | 'refused' | 'preverified'>> {
    const m = this.s.metrics;
    return {
      note: (n: Note) => {
        if (n.type === 'slashing') m.slashingEvents.inc();
        else if (n.type === 'poc_outcome') m.pocOutcomes.labels(String(n.outcome.validator), n.outcome.outcome).inc();
        else if (n.type === 'state_root_mismatch') m.stateRootMismatches.inc();
      },
      admitted: (txid, gossiped) => {
        if (gossiped) return;
        m.txAccepted.inc();
        onAdmitted(txid);
      },
      refused: (code, count) => m.txRejected.labels(code).inc(count),
      preverified: (count) => m.blockTxsPreverified.inc(count),
    };
  }

  /** Prometheus text; gauges and the core's counters are brought up to date first. */
  async text(): Promise<string> {
    const { metrics: m, core, mempool, transport, app } = this.s;
    const c = core.metrics;
    m.rounds.set(core.currentRound);
    const syncing = this.s.syncing();
    m.syncing.set(syncing ? 1 : 0);
    m.syncTargetHeight.set(syncing ? core.highestQC.height : 0);
    m.peers.set(transport.connectedPeers().length);
    m.mempoolSize.set(mempool.size);
    m.mempoolBytes.set(mempool.bytes);
    this.advance(m.roundTimeouts, 'timeouts', c.timeouts);
    this.advance(m.tcsFormed, 'tcs', c.tcsFormed);
    this.advance(m.viewChanges, 'viewChanges', c.viewChanges);
    this.advance(m.votesReceived, 'votes', c.votesReceived);
    this.advance(m.proposals, 'proposals', c.proposalsMade);
    const net = transport.stats.byType as unknown as Record<string, { sent: number; sentBytes: number; received: number; receivedBytes: number; acked: number; retried: number }>;
    let acked = 0;
    let retried = 0;
    for (const [kind, type] of Object.entries(KIND_TO_NET) as [WireKind, number][]) {
      const st = net[msgTypeName(type) ?? ''];
      if (!st) continue;
      this.advance(m.p2pSentMessages.labels(kind), `s:${kind}`, st.sent);
      this.advance(m.p2pSentBytes.labels(kind), `sb:${kind}`, st.sentBytes);
      this.advance(m.p2pReceivedMessages.labels(kind), `r:${kind}`, st.received);
      this.advance(m.p2pReceivedBytes.labels(kind), `rb:${kind}`, st.receivedBytes);
    }
    for (const st of Object.values(net)) {
      acked += st.acked;
      retried += st.retried;
    }
    const a = app.stats();
    this.advance(m.execSignatureChecks.labels('cached'), 'execCached', a.verifiedCacheHits);
    this.advance(m.execSignatureChecks.labels('verified'), 'execVerified', a.executionVerified);
    for (const [reason, n] of Object.entries(core.pocRefused)) this.advance(m.pocRefused.labels(reason), `poc:${reason}`, n);
    this.advance(m.p2pAcked, 'acked', acked);
    this.advance(m.p2pRetried, 'retried', retried);
    return m.text();
  }

  /** Move a prom-client counter up to a module's running total. */
  private advance(counter: { inc(v: number): void }, key: string, total: number): void {
    const prev = this.seen.get(key) ?? 0;
    if (total > prev) counter.inc(total - prev);
    this.seen.set(key, Math.max(prev, total));
  }
}
