// Block details for the explorer: the header, the QC that certifies the block and who signed it
// (each vote checked in this page), the justify QC or TC it carries, and its transactions with their
// receipts.
import type { Receipt } from '../../src/chain/receipts.ts';
import type { Block, QC } from '../../src/consensus/types.ts';
import { toHex } from '../../src/crypto/sha256.ts';
import type { LightClient } from '../../src/light/light-client.ts';
import type { ReceiptJson } from '../../src/rpc/api.ts';
import { h, short } from './dom.ts';

export interface ShownBlock {
  readonly block: Block;
  readonly qc: QC;
  readonly receipts: readonly (Receipt | ReceiptJson)[];
  /** how it was checked: 'replayed' (QC + re-execution here) or 'certified' (QC only) */
  readonly how: 'replayed' | 'certified';
}

const MAX_TX_ROWS = 200;

function kv(pairs: [string, Node | string][]): HTMLElement {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) dl.append(h('dt', null, k), h('dd', null, v));
  return dl;
}

function signersView(client: LightClient, signers: readonly number[], what = 'vote'): HTMLElement {
  const names = client.genesis.validators;
  const power = signers.reduce((n, s) => n + (names[s]?.bond ?? 0), 0);
  const totalPower = names.reduce((n, v) => n + v.bond, 0);
  const span = h('span');
  names.forEach((v, i) => {
    const on = signers.includes(i);
    span.append(h('span', { class: `badge ${on ? 'ok' : 'off'}`, title: on ? `${what} signature of ${v.name} verified in this page (ZIP-215)` : `no ${what} from ${v.name}` }, `${on ? '✓' : '·'} ${v.name}`), ' ');
  });
  span.append(h('span', { class: 'muted' }, `  power ${power} of ${totalPower} (quorum > ⅔)`));
  return span;
}

export function renderBlock(client: LightClient, shown: ShownBlock): HTMLElement {
  const { block, qc, receipts } = shown;
  const hd = block.header;
  const names = client.genesis.validators;
  const out = h('div');
  out.append(
    h('div', null, h('span', { class: 'badge ok' }, shown.how === 'replayed' ? '✓ QC verified and block replayed in this browser' : '✓ QC verified in this browser'), ' ', h('span', { class: 'muted mono' }, toHex(block.hash))),
    h('h3', null, 'header'),
    kv([
      ['height', String(hd.height)],
      ['round', String(hd.round)],
      ['epoch', String(hd.epoch)],
      ['proposer', `${hd.proposer} (${names[hd.proposer]?.name ?? '?'})`],
      ['time', `${new Date(hd.timestamp).toISOString()} (proposer's clock)`],
      ['parent', toHex(hd.parentHash)],
      ['tx root', toHex(hd.txRoot)],
      ['state root', toHex(hd.stateRoot)],
      ['evidence', hd.evidence.length === 0 ? 'none' : hd.evidence.map((e) => `${e.kind} by ${e.validator} in round ${e.round}`).join('; ')],
    ]),
    h('h3', null, `QC certifying this block (round ${qc.round})`),
    signersView(client, qc.signers),
    h('h3', null, `justify: QC of the parent (height ${hd.justify.height}, round ${hd.justify.round})`),
    hd.justify.round === 0 ? h('span', { class: 'muted' }, 'the genesis QC') : signersView(client, hd.justify.signers),
  );
  if (hd.tc !== null) {
    out.append(h('h3', null, `timeout certificate (round ${hd.tc.round}, its highest QC round ${hd.tc.highQC.round})`), signersView(client, hd.tc.signers, 'timeout'));
  }
  out.append(h('h3', null, `transactions (${block.txs.length})`));
  const rows = h('tbody');
  block.txs.slice(0, MAX_TX_ROWS).forEach((bytes, i) => {
    const tx = client.decodeTx(bytes);
    const r = receipts[i] as (Receipt & { reason?: string }) | undefined;
    const op = tx?.body.op;
    const what = op === undefined ? 'undecodable' : op.op === 'add' ? 'add' : op.op === 'decay' ? `decay ${op.factor ?? 'genesis'}` : op.op === 'mix' ? `mix ← ${op.src} α ${op.alpha}` : `clip ${op.bound}`;
    const status = r === undefined ? '–' : r.status === 'applied' ? 'applied' : `rejected: ${r.reason}`;
    rows.append(
      h('tr', null,
        h('td', null, i),
        h('td', { class: 'mono', title: tx?.txidHex ?? '' }, tx ? short(tx.txidHex, 14) : '–'),
        h('td', { class: 'mono', title: tx ? toHex(tx.body.sender) : '' }, tx ? short(toHex(tx.body.sender), 10) : '–'),
        h('td', null, what),
        h('td', null, op ? `${op.shard}/${op.layer}/${op.slot}` : '–'),
        h('td', { class: r?.status === 'applied' ? 'ok' : r ? 'bad' : '' }, status),
      ),
    );
  });
  out.append(h('table', null, h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'txid'), h('th', null, 'sender'), h('th', null, 'op'), h('th', null, 'shard/layer/slot'), h('th', null, shown.how === 'replayed' ? 'receipt (computed here)' : 'receipt (from the node)'))), rows));
  if (block.txs.length > MAX_TX_ROWS) out.append(h('div', { class: 'muted' }, `… and ${block.txs.length - MAX_TX_ROWS} more`));
  return out;
}
