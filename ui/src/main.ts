// The dashboard every node serves at GET /. It shows the node's live numbers (height, round, TPS,
// latency, peers, mempool, validators, evidence) and, above all, verifies the chain itself: starting
// from genesis, it checks every block's QC and the hash chain, replays every block in this browser's
// own ma.wasm (src/light/light-client.ts: the project's consensus and chain code, bundled), and shows
// that its state root equals the chain's at every height. A node that serves a forged block, QC,
// snapshot, receipt, proof or root is shown as FORGED.
//
// ?api=http://host:port reads another node's API (that node needs --cors with this page's origin).
import './style.css';
import type { Receipt } from '../../src/chain/receipts.ts';
import { verifyZip215 } from '../../src/crypto/ed25519.ts';
import { fromHex, toHex } from '../../src/crypto/sha256.ts';
import { Forgery, LightClient, type AppliedBlock, type ForgeryKind } from '../../src/light/light-client.ts';
import { webCryptoFastPath } from '../../src/light/webcrypto-ed25519.ts';
import type { GenesisJson, HealthJson, RawBlocksJson, SnapshotJson, StateJson } from '../../src/rpc/api.ts';
import { SeriesChart } from './charts.ts';
import { API, get, getJson, sleep } from './api.ts';
import { $, fmtInt, fmtMs, fmtNum, h, replaceChildren, setText, short } from './dom.ts';
import { renderBlock, type ShownBlock } from './explorer.ts';
import { HeatMap } from './heatmap.ts';
import { buckets, parseMetrics, quantileBetween, total, type Scrape } from './prom.ts';

// ------------------------------------------------------------------ verdict

type VerdictState = 'starting' | 'syncing' | 'verified' | 'forged' | 'error';
let verdictState: VerdictState = 'starting';
let forgery: Forgery | null = null;

function verdict(state: VerdictState, title: string, detail: string): void {
  if (verdictState === 'forged' && state !== 'forged') return;
  verdictState = state;
  document.body.dataset.verdict = state;
  const v = $('verdict');
  v.dataset.state = state;
  v.querySelector('.verdict-title')!.textContent = title;
  setText('verdict-detail', detail);
}

const FORGED_WHAT: Record<ForgeryKind, string> = {
  engine: 'an engine genesis does not commit to',
  malformed: 'malformed data',
  block: 'a forged block',
  qc: 'a forged QC',
  transactions: 'forged transactions',
  state_root: 'a forged state root',
  receipts: 'forged receipts',
  snapshot: 'a forged snapshot',
  proof: 'a forged row proof',
};

function caught(f: Forgery): void {
  if (forgery !== null) return;
  forgery = f;
  const v = $('verdict');
  v.dataset.kind = f.kind;
  v.dataset.height = f.height === null ? '' : String(f.height);
  verdict('forged', `✗ FORGED: the node served ${FORGED_WHAT[f.kind]}${f.height !== null ? ` at height ${f.height}` : ''}`, f.message);
  console.error('forgery caught:', f.kind, f.height, f.message);
}

// ------------------------------------------------------------------ state shared by the panels

let client: LightClient | null = null;
let genesis: GenesisJson | null = null;
let health: HealthJson | null = null;
/** node /health roots by height (what the node says), checked once the replay gets there */
const nodeRoots = new Map<number, string>();
const recent: (AppliedBlock & { at: number })[] = [];
const RECENT = 30;
let shownHeight = 0;
let dirty = false;
let nodeHeight = 0;
const speed: { t: number; blocks: number; txs: number }[] = [];

// ------------------------------------------------------------------ the verifier loop

async function startVerifier(): Promise<void> {
  genesis = await getJson<GenesisJson>('/genesis');
  if (genesis === null) throw new Error('this node does not serve /genesis');
  setText('chain-id', genesis.chainId);
  // The engine comes with this page (also when ?api= reads another node); its SHA-256 must be the
  // one genesis commits to, which LightClient.create checks.
  const wasmRes = await fetch(new URL('ui/ma.wasm', location.href), { cache: 'no-store' });
  if (!wasmRes.ok) throw new Error(`GET ui/ma.wasm: HTTP ${wasmRes.status}`);
  const wasm = new Uint8Array(await wasmRes.arrayBuffer());
  const fast = await webCryptoFastPath();
  client = await LightClient.create(genesis, wasm, { fast });
  setText('v-engine', `${short(genesis.engine.sha256, 16)} ✓ SHA-256 of the ma.wasm running here`);
  setText('v-genesis', toHex(client.genesisHash));
  setupPanels(client);
  verdict('syncing', 'Verifying in this browser…', 'fetching the latest certified snapshot');
  const snap = await getJson<SnapshotJson>('/snapshot/latest', 60_000);
  if (snap !== null) {
    verdict('syncing', 'Verifying in this browser…', `checking the snapshot at height ${snap.height} against its QC`);
    await client.loadSnapshot(snap);
  }
  setText('v-start', snap === null ? 'genesis' : `certified snapshot at height ${snap.height}`);
  dirty = true;
  await followChain();
}

/** Fetch, verify and replay the blocks after the tip, for ever (long-polls when caught up). */
async function followChain(): Promise<void> {
  const c = client!;
  for (;;) {
    const r = await getJson<RawBlocksJson>(`/blocks?from=${c.tip.height + 1}&count=32&wait=5000`, 40_000);
    if (r === null) throw new Error('this node does not serve /blocks');
    nodeHeight = Math.max(nodeHeight, r.height);
    if (r.blocks.length === 0) refreshVerdict();
    for (const raw of r.blocks) onApplied(await c.applyBlock(raw));
  }
}

function onApplied(a: AppliedBlock): void {
  const c = client!;
  recent.unshift({ ...a, at: Date.now() });
  if (recent.length > RECENT) recent.pop();
  speed.push({ t: performance.now(), blocks: c.stats.blocks, txs: c.stats.txs });
  while (speed.length > 2 && speed[speed.length - 1]!.t - speed[0]!.t > 5000) speed.shift();
  heatTouch(a);
  checkNodeRoots();
  dirty = true;
}

/** The node's /health roots at heights this page has now replayed must be the certified ones. */
function checkNodeRoots(): void {
  const c = client!;
  for (const [hgt, root] of nodeRoots) {
    if (hgt > c.tip.height) continue;
    const cert = c.header(hgt);
    if (cert && toHex(cert.stateRoot) !== root) {
      caught(new Forgery('state_root', hgt, `the node's /health reports state root ${short(root, 16)} at height ${hgt}, but the certified root, replayed here, is ${short(toHex(cert.stateRoot), 16)}`));
    }
  }
}

function refreshVerdict(): void {
  const c = client;
  if (!c || forgery) return;
  const behind = Math.max(0, Math.max(nodeHeight, health?.height ?? 0) - c.tip.height);
  const root = toHex(c.tip.stateRoot);
  if (c.stats.blocks === 0 && c.tip.height === 0) {
    verdict('syncing', 'Verifying in this browser…', 'waiting for the first block');
  } else if (behind > 20) {
    verdict('syncing', `Catching up: replayed to ${fmtInt(c.tip.height)}`, `${fmtInt(behind)} blocks behind the node; every block's QC checked and replayed here`);
  } else {
    const v = $('verdict');
    v.dataset.height = String(c.tip.height);
    v.dataset.root = root;
    verdict('verified', `✓ Verified in this browser at height ${fmtInt(c.tip.height)}`, `this browser's state root ${short(root, 16)} equals the QC-certified root; ${fmtInt(c.stats.blocks)} blocks replayed, 0 forgeries`);
  }
}

// ------------------------------------------------------------------ node polling

let lastScrape: { t: number; s: Scrape } | null = null;
let tpsChart: SeriesChart | null = null;
let latencyChart: SeriesChart | null = null;

async function pollHealth(): Promise<void> {
  for (;;) {
    try {
      const hj = await getJson<HealthJson>('/health', 5000);
      if (hj) {
        health = hj;
        nodeRoots.set(hj.height, hj.stateRoot);
        while (nodeRoots.size > 256) nodeRoots.delete(nodeRoots.keys().next().value as number);
        if (client) checkNodeRoots();
        dirty = true;
      }
    } catch {
      /* shown by the verifier loop */
    }
    await sleep(1000);
  }
}

async function pollMetrics(): Promise<void> {
  for (;;) {
    try {
      const r = await get('/metrics', 5000);
      const s = parseMetrics(await r.text());
      const t = Date.now() / 1000;
      if (lastScrape) {
        const dt = t - lastScrape.t;
        const tps = (total(s, 'numchain_consensus_txs_committed_total') - total(lastScrape.s, 'numchain_consensus_txs_committed_total')) / dt;
        const name = 'numchain_tx_submit_to_commit_seconds';
        const [b0, b1] = [buckets(lastScrape.s, name), buckets(s, name)];
        const p50 = quantileBetween(0.5, b0, b1);
        const p99 = quantileBetween(0.99, b0, b1);
        setText('tps', fmtNum(tps, 0));
        setText('tps-sub', `${fmtInt(total(s, 'numchain_consensus_txs_committed_total'))} committed in all`);
        setText('latency', Number.isFinite(p50) ? fmtMs(p50) : '–');
        setText('latency-sub', Number.isFinite(p99) ? `p50 · p99 ${fmtMs(p99)}` : 'p50 · p99 (no transactions)');
        tpsChart?.push(t, [health?.height ?? NaN, tps]);
        latencyChart?.push(t, [p50 * 1000, quantileBetween(0.9, b0, b1) * 1000, p99 * 1000]);
      }
      lastScrape = { t, s };
    } catch {
      /* try again */
    }
    await sleep(2000);
  }
}

async function pollEvidence(): Promise<void> {
  for (;;) {
    try {
      const e = await getJson<{ slashing: { kind: string; validator: number; height: number; before: number; after: number }[]; pending: { kind: string; validator: number; round: number }[] }>('/evidence', 5000);
      if (e && genesis) {
        const name = (i: number) => genesis!.validators[i]?.name ?? `#${i}`;
        const items = [
          ...e.slashing.map((s) => h('div', null, h('span', { class: 'badge bad' }, 'slashed'), ` ${name(s.validator)} at height ${s.height}: ${s.kind.replace('_', ' ')}, effective power ${s.before} → ${s.after}`)),
          ...e.pending.map((p) => h('div', null, h('span', { class: 'badge off' }, 'pending'), ` ${p.kind} equivocation by ${name(p.validator)} in round ${p.round}`)),
        ];
        replaceChildren('evidence', ...(items.length ? items : [document.createTextNode('no equivocation seen; no validator slashed')]));
      }
    } catch {
      /* try again */
    }
    await sleep(5000);
  }
}

/** Every few seconds, a random row of the layer on screen: the node's proof is checked against the certified root and this page's own replayed row. */
async function autoProofs(): Promise<void> {
  for (;;) {
    await sleep(4000);
    if (!client || !genesis || forgery) continue;
    const slot = Math.floor(Math.random() * genesis.ma.slots);
    await checkRow(slot, false).catch(() => {});
  }
}

async function checkRow(slot: number, show: boolean): Promise<void> {
  const c = client!;
  const t = { shard: heat.shard, layer: heat.layer, slot };
  let s: StateJson | null;
  try {
    s = await getJson<StateJson>(`/state/${t.shard}/${t.layer}/${t.slot}`, 5000);
  } catch (e) {
    if (show) replaceChildren('proof', h('span', { class: 'bad' }, `could not fetch the proof: ${(e as Error).message}`));
    return;
  }
  if (s === null) return;
  if (show) replaceChildren('proof', h('span', { class: 'muted' }, `row ${t.shard}/${t.layer}/${t.slot} at height ${s.height}: waiting for the replay to reach it…`));
  try {
    const r = await c.checkProof(s);
    dirty = true;
    if (show) {
      replaceChildren('proof', h('span', { class: 'ok' }, `✓ row ${t.shard}/${t.layer}/${t.slot} at height ${r.height}: the node's proof leads to the QC-certified state root${r.comparedWithReplay ? ', and its values equal the row replayed here' : ''}`));
    }
  } catch (e) {
    if (e instanceof Forgery) {
      caught(e);
      if (show) replaceChildren('proof', h('span', { class: 'bad' }, `✗ ${e.message}`));
    }
  }
}

// ------------------------------------------------------------------ panels

const heat = { shard: 0, layer: 0, map: null as HeatMap | null, lastDraw: 0 };

function setupPanels(c: LightClient): void {
  const g = c.genesis;
  const shardSel = $('shard') as HTMLSelectElement;
  const layerSel = $('layer') as HTMLSelectElement;
  for (let i = 0; i < g.ma.shards; i++) shardSel.append(h('option', { value: i }, i));
  for (let i = 0; i < g.ma.layers; i++) layerSel.append(h('option', { value: i }, i));
  const pick = (): void => {
    heat.shard = Number(shardSel.value);
    heat.layer = Number(layerSel.value);
    heat.lastDraw = 0;
    dirty = true;
  };
  shardSel.addEventListener('change', pick);
  layerSel.addEventListener('change', pick);
  const canvas = $('heatmap') as HTMLCanvasElement;
  canvas.width = g.ma.dim * 6;
  canvas.height = g.ma.slots * 6;
  heat.map = new HeatMap(canvas, g.ma.slots, g.ma.dim, c.engine.bound);
  heat.map.drawLegend($('legend') as HTMLCanvasElement);
  setText('legend-min', `−${c.engine.bound} (−${g.ma.clip})`);
  setText('legend-max', `+${c.engine.bound} (+${g.ma.clip})`);
  canvas.addEventListener('mousemove', (e) => {
    const cell = heat.map?.cellAt(e);
    if (cell) setText('hover', `shard ${heat.shard} layer ${heat.layer} slot ${cell.slot} dim ${cell.dim}: ${cell.value} (${(cell.value / g.ma.q).toFixed(3)})`);
  });
  canvas.addEventListener('click', (e) => {
    const cell = heat.map?.cellAt(e);
    if (cell) void checkRow(cell.slot, true);
  });
  $('explore-go').addEventListener('click', () => void explore(Number(($('explore-height') as HTMLInputElement).value)));
  ($('explore-height') as HTMLInputElement).addEventListener('keydown', (e) => e.key === 'Enter' && void explore(Number(($('explore-height') as HTMLInputElement).value)));
  $('recent').addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (tr?.dataset.height) void explore(Number(tr.dataset.height));
  });
}

function heatTouch(a: AppliedBlock): void {
  const g = client!.genesis.ma;
  const base = (heat.shard * g.layers + heat.layer) * g.slots;
  const slots: number[] = [];
  for (const row of a.rows) if (row >= base && row < base + g.slots) slots.push(row - base);
  heat.map?.touch(slots, performance.now());
}

function renderHeat(now: number): void {
  const c = client;
  if (!c || !heat.map || now - heat.lastDraw < 250) return;
  heat.lastDraw = now;
  heat.map.draw(c.readLayer(heat.shard, heat.layer), c.tip.height, now);
  setText('heat-info', `height ${fmtInt(c.tip.height)} · root ${short(toHex(c.tip.stateRoot), 12)}`);
}

function renderTiles(): void {
  const c = client;
  if (health) {
    // /health is polled once a second; the block feed and the replay may have seen a later height.
    setText('height', fmtInt(Math.max(health.height, nodeHeight, c?.tip.height ?? 0)));
    setText('height-sub', health.syncing ? 'catching up from peers' : `node ${health.nodeIndex}`);
    setText('round', fmtInt(Number(health.round)));
    setText('peers', `${health.peers}`);
    setText('peers-sub', `of ${health.validators - 1} other validators`);
    setText('mempool', fmtInt(Number(health.mempool)));
    setText('node-id', `· node ${health.nodeIndex} · v${health.version}`);
  }
  if (c) {
    setText('replay-height', fmtInt(c.tip.height));
    const behind = Math.max(0, (health?.height ?? 0) - c.tip.height);
    setText('replay-sub', behind <= 1 ? 'in step with the node' : `${fmtInt(behind)} behind the node`);
  }
}

function renderVerifier(): void {
  const c = client;
  if (!c) return;
  const s = c.stats;
  setText('v-blocks', fmtInt(s.blocks));
  setText('v-txs', fmtInt(s.txs));
  setText('v-qcs', fmtInt(s.qcs));
  setText('v-sigs', `${fmtInt(s.sigsFast + s.sigsZip215)} (${c.fastPath ? `${fmtInt(s.sigsFast)} by Web Crypto, ` : ''}${fmtInt(s.sigsZip215)} by ZIP-215 in JS)`);
  setText('v-proofs', fmtInt(s.proofs));
  if (speed.length >= 2) {
    const a = speed[0]!;
    const b = speed[speed.length - 1]!;
    const dt = (b.t - a.t) / 1000;
    if (dt > 0.5) setText('v-speed', `${fmtNum((b.blocks - a.blocks) / dt, 1)} blocks/s · ${fmtNum((b.txs - a.txs) / dt, 0)} tx/s`);
  }
  const rows = recent.slice(0, 8).map((a) => {
    const hgt = a.block.header.height;
    const cert = toHex(a.block.header.stateRoot);
    const mine = toHex(a.stateRoot);
    const node = nodeRoots.get(hgt);
    const agree = cert === mine && (node === undefined || node === cert);
    return h('tr', null, h('td', null, hgt), h('td', null, short(cert, 16)), h('td', null, short(mine, 16)), h('td', null, node === undefined ? '–' : short(node, 16)), h('td', { class: agree ? 'ok' : 'bad' }, agree ? '✓ equal' : '✗'));
  });
  replaceChildren('roots', ...rows);
}

function renderValidators(): void {
  const c = client;
  if (!c) return;
  const g = c.genesis;
  const rows = g.validators.map((v, i) => {
    const a = c.activity[i]!;
    const weight = (health?.leaderWeight as number[] | undefined)?.[i];
    return h(
      'tr',
      null,
      h('td', null, i),
      h('td', null, v.name),
      h('td', { class: 'mono', title: v.publicKey }, short(v.publicKey, 10)),
      h('td', null, v.bond),
      h('td', { class: weight !== undefined && weight < v.bond ? 'bad' : '' }, weight ?? '–'),
      h('td', null, a.lastVote || '–'),
      h('td', null, a.lastProposal || '–'),
      h('td', null, a.missed),
    );
  });
  replaceChildren('validators', ...rows);
}

/** The latest blocks, updated in place (rows keep their elements, so a click never lands on a replaced one). */
function renderRecent(): void {
  const c = client;
  if (!c) return;
  const names = c.genesis.validators;
  const body = $('recent');
  const list = recent.slice(0, 15);
  while (body.children.length < list.length) body.append(h('tr', null, h('td'), h('td'), h('td'), h('td', { class: 'ok' }), h('td', { class: 'mono' })));
  list.forEach((a, i) => {
    const tr = body.children[i] as HTMLTableRowElement;
    const hd = a.block.header;
    tr.dataset.height = String(hd.height);
    tr.classList.toggle('sel', hd.height === shownHeight);
    const cells = [String(hd.height), String(a.block.txs.length), names[hd.proposer]?.name ?? '?', `✓ ${a.qc.signers.length}/${names.length}`, short(toHex(a.block.hash), 14)];
    cells.forEach((text, k) => {
      const td = tr.children[k] as HTMLElement;
      if (td.textContent !== text) td.textContent = text;
    });
    (tr.children[3] as HTMLElement).title = `QC signed by ${a.qc.signers.map((s) => names[s]?.name).join(', ')}; every signature verified here`;
  });
}

async function explore(height: number): Promise<void> {
  const c = client;
  if (!c || !Number.isSafeInteger(height) || height < 1) return;
  shownHeight = height;
  dirty = true;
  const mine = recent.find((a) => a.block.header.height === height);
  let shown: ShownBlock;
  if (mine) {
    shown = { block: mine.block, qc: mine.qc, receipts: mine.receipts as Receipt[], how: 'replayed' };
  } else {
    setText('explore-status', `fetching block ${height}…`);
    try {
      const r = await getJson<RawBlocksJson>(`/blocks?from=${height}&count=1`);
      const raw = r?.blocks[0];
      if (!raw) {
        setText('explore-status', `block ${height} is not committed yet`);
        return;
      }
      const { block, qc } = await c.verifyRecord(raw);
      shown = { block, qc, receipts: raw.receipts, how: 'certified' };
    } catch (e) {
      if (e instanceof Forgery) caught(e);
      setText('explore-status', `block ${height}: ${(e as Error).message}`);
      return;
    }
  }
  setText('explore-status', '');
  replaceChildren('block-detail', renderBlock(c, shown));
  $('block-detail').classList.remove('muted');
  $('block-detail').dataset.height = String(height);
}

function frame(now: number): void {
  if (dirty) {
    dirty = false;
    renderTiles();
    renderVerifier();
    renderValidators();
    renderRecent();
    refreshVerdict();
  }
  renderHeat(now);
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------ start

async function main(): Promise<void> {
  setText('api-base', API);
  tpsChart = new SeriesChart($('chart-tps'), [
    { label: 'height', color: '#60a5fa', scale: 'h' },
    { label: 'committed TPS', color: '#22c55e', scale: 'tps' },
  ], [{ key: 'h', side: 3, label: 'height' }, { key: 'tps', side: 1, label: 'tx/s' }]);
  latencyChart = new SeriesChart($('chart-latency'), [
    { label: 'p50', color: '#22c55e', scale: 'ms' },
    { label: 'p90', color: '#f59e0b', scale: 'ms' },
    { label: 'p99', color: '#ef4444', scale: 'ms' },
  ], [{ key: 'ms', side: 3, label: 'ms' }]);
  void pollHealth();
  void pollMetrics();
  void pollEvidence();
  void autoProofs();
  requestAnimationFrame(frame);
  // The verifier: a forgery stops it for good; a network failure is retried from where it was.
  for (;;) {
    try {
      if (client === null) await startVerifier();
      else await followChain();
    } catch (e) {
      if (e instanceof Forgery) {
        caught(e);
        return;
      }
      verdict('error', 'Cannot verify right now', `${(e as Error).message}; retrying`);
      await sleep(2000);
    }
  }
}

// For tests and the curious: the Web Crypto fast path next to ZIP-215 on given signatures (hex).
(globalThis as { numchainDebug?: unknown }).numchainDebug = {
  async speccheck(cases: { msg: string; pbk: string; sig: string }[]): Promise<{ fastPath: string | null; fast: boolean[] | null; zip215: boolean[] }> {
    const items = cases.map((c) => ({ message: fromHex(c.msg), publicKey: fromHex(c.pbk), signature: fromHex(c.sig) }));
    const fast = await webCryptoFastPath();
    return { fastPath: fast?.name ?? null, fast: fast ? await fast.verifyMany(items) : null, zip215: items.map((i) => verifyZip215(i.publicKey, i.message, i.signature)) };
  },
};

void main();
