// The CometBFT-style chain series of a node's /metrics (validators and their power, missing and
// byzantine validators, block interval and size, transactions per block), brought up to date when
// /metrics is scraped: every block committed since the previous scrape is observed once, from the
// node's cache of recent blocks or, past it, from its block log. Nothing on the commit path.
import { encodeBlock } from '../consensus/block.ts';
import type { Block } from '../consensus/types.ts';
import type { NumchainNode } from './node.ts';
import { decodeRecord } from '../driver/records.ts';

/** Blocks observed per scrape at most; older ones are skipped (a scraper that was away that long). */
const MAX_BLOCKS_PER_SCRAPE = 2048;

export class ChainSeries {
  private observed: number;
  private lastTimestamp: number | null = null;
  private readonly byzantine = new Set<number>();
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly node: NumchainNode) {
    const g = node.genesis;
    node.metrics.setChainId(g.chainId);
    node.metrics.setValidators(g.validators.map((v) => ({ name: v.name, power: v.bond })));
    // Blocks committed before this process started were observed by the process that committed them.
    this.observed = node.log.syncedHeight;
  }

  /** Observe the blocks committed since the last call (calls are serialized). */
  update(): Promise<void> {
    const run = this.running.then(() => this.updateNow());
    this.running = run.catch(() => {});
    return run;
  }

  private async updateNow(): Promise<void> {
    const node = this.node;
    const m = node.metrics;
    const g = node.genesis;
    const top = node.log.syncedHeight;
    let from = this.observed + 1;
    if (top - from + 1 > MAX_BLOCKS_PER_SCRAPE) {
      from = top - MAX_BLOCKS_PER_SCRAPE + 1;
      this.lastTimestamp = null;
    }
    let latest: Block | null = null;
    for (let h = from; h <= top; h++) {
      const block = await this.blockAt(h);
      latest = block;
      const hd = block.header;
      if (this.lastTimestamp !== null && hd.timestamp >= this.lastTimestamp) m.blockInterval.observe((hd.timestamp - this.lastTimestamp) / 1000);
      this.lastTimestamp = hd.timestamp;
      for (const e of hd.evidence) this.byzantine.add(e.validator);
      // The justify of block h certifies h − 1: who voted for it and who did not.
      if (hd.justify.round > 0) {
        const signed = new Set(hd.justify.signers);
        for (let i = 0; i < g.validators.length; i++) {
          if (signed.has(i)) m.validatorLastSignedHeight.set(m.validatorLabel(i), hd.justify.height);
          else m.validatorMissedBlocks.inc(m.validatorLabel(i));
        }
      }
    }
    this.observed = Math.max(this.observed, top);
    if (latest !== null) {
      m.blockSizeBytes.set(encodeBlock(latest).length);
      m.numTxs.set(latest.txs.length);
      const signed = new Set(latest.header.justify.signers);
      const missing = latest.header.justify.round === 0 ? [] : g.validators.filter((_, i) => !signed.has(i));
      m.missingValidators.set(missing.length);
      m.missingValidatorsPower.set(missing.reduce((n, v) => n + v.bond, 0));
    }
    for (const e of node.core.slashingLog) if (e.kind === 'equivocation') this.byzantine.add(e.validator);
    const byz = [...this.byzantine].filter((i) => i < g.validators.length);
    m.byzantineValidators.set(byz.length);
    m.byzantineValidatorsPower.set(byz.reduce((n, i) => n + g.validators[i]!.bond, 0));
    node.core.currentPowers().forEach((p, i) => m.validatorEffectivePower.set(m.validatorLabel(i), p));
    node.core.currentEpoch().powers.forEach((p, i) => m.validatorLeaderWeight.set(m.validatorLabel(i), p));
    const poc = node.core.committedState.poc;
    if (poc !== null) {
      poc.validators.forEach((s, i) => {
        m.pocReliability.set(m.validatorLabel(i), s.rel);
        m.pocCapacityChunks.set(m.validatorLabel(i), s.active?.chunks ?? 0);
      });
      const st = node.replica.prover?.stats;
      if (st !== undefined) {
        m.pocCommitsSent.set(st.commitsSent);
        m.pocAnswersSent.set(st.answersSent);
        m.pocAnswersFailed.set(st.answersFailed);
        m.pocAnswerSeconds.set(st.lastAnswerMs / 1000);
      }
    }
  }

  private async blockAt(h: number): Promise<Block> {
    const cached = this.node.recent.get(h);
    if (cached) return cached.block;
    const c = this.node.genesis.chain;
    return decodeRecord(await this.node.log.read(h), c.maxTxsPerBlock, c.maxTxBytes).block;
  }
}
