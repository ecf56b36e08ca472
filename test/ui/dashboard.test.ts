// The dashboard in real browsers (Debian's Chromium over CDP, Firefox ESR over WebDriver BiDi, both
// driven by puppeteer-core) against a live 4-validator localnet under load: the page loads from a
// validator's HTTP API, starts from a certified snapshot, verifies every QC and replays every block in
// the browser's own ma.wasm, and says so; the height and the heat map move; a row proof is checked;
// the explorer shows a block, its transactions and who signed its QC; the Web Crypto fast path never
// accepts a speccheck signature ZIP-215 rejects. Then the same page through relays that forge blocks,
// QCs, snapshots, proofs and roots: each is shown as FORGED, naming what was forged. Screenshots are
// saved (their paths are printed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { startFlood, type FloodRun } from '../../src/cli/cluster/flood-proc.ts';
import { Localnet } from '../../src/cli/cluster/localnet.ts';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';
import type { ForgeryKind } from '../../src/light/light-client.ts';
import { browserInstalled, launch, screenshotDir, type BrowserName, type LaunchedBrowser } from '../helpers/browsers.ts';
import { startTamperRelay, type TamperMode } from '../helpers/tamper-relay.ts';

// First row of the speccheck table (test/crypto/ed25519.test.ts): what ZIP-215 accepts.
const ZIP215 = [true, true, true, true, true, true, false, false, false, true, true, true];
const SPECCHECK = (() => {
  const lines = readFileSync(join(PROJECT_ROOT, 'test', 'vectors', 'ed25519-speccheck.txt'), 'utf8').trim().split('\n');
  const out: { msg: string; pbk: string; sig: string }[] = [];
  for (let i = 0; i < lines.length; i += 3) out.push({ msg: lines[i]!.slice(4), pbk: lines[i + 1]!.slice(4), sig: lines[i + 2]!.slice(4) });
  return out;
})();

let net: Localnet;
let flood: FloodRun;
const open: LaunchedBrowser[] = [];
const t0 = performance.now();
const secs = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const say = (msg: string): void => void process.stdout.write(`  [ui] ${msg}\n`);
const shots: string[] = [];

test.before(async () => {
  const { buildUi } = await import('../../scripts/build-ui.mjs');
  await buildUi();
  net = await Localnet.create({ nodes: 4, blockIntervalMs: 50, timeoutBaseMs: 500, snapshotEvery: 25 });
  net.startAll();
  await net.waitFor({ minHeight: 2, timeoutMs: 60_000 });
  flood = startFlood({ rpcUrls: net.rpcUrls, rate: 150, durationS: 300, senders: 16, drainS: 1, logPath: join(net.dir, 'flood.log') });
  // A snapshot to start from (every 25 blocks).
  for (let i = 0; ; i++) {
    const r = await fetch(`${net.rpcUrls[0]}/snapshot/latest`);
    await r.arrayBuffer();
    if (r.status === 200) break;
    if (i > 300) throw new Error('no snapshot written within 60 s');
    await new Promise((res) => setTimeout(res, 200));
  }
  say(`localnet up and loaded, first snapshot written: ${secs(t0)}`);
});

test.after(async () => {
  flood?.stop();
  for (const b of open) await b.close();
  await net?.close();
  say(`screenshots: ${shots.join(', ')}`);
  say(`browsers: ${secs(t0)} in all`);
});

interface PageState {
  state: string;
  kind: string;
  height: number;
  root: string;
  title: string;
  detail: string;
  heatHeight: number;
  heatDigest: string;
  blocks: number;
  proofs: number;
  start: string;
  sigs: string;
}

// A string, not a function: tsx compiles test functions with helpers (__name) the page does not have.
const READ_STATE = `(() => {
  const v = document.getElementById('verdict');
  const hm = document.getElementById('heatmap');
  const num = (id) => Number((document.getElementById(id).textContent || '').replace(/,/g, '')) || 0;
  return {
    state: v.dataset.state || '',
    kind: v.dataset.kind || '',
    height: Number(v.dataset.height || 0),
    root: v.dataset.root || '',
    title: v.querySelector('.verdict-title').textContent || '',
    detail: document.getElementById('verdict-detail').textContent || '',
    heatHeight: Number(hm.dataset.height || 0),
    heatDigest: hm.dataset.digest || '',
    blocks: num('v-blocks'),
    proofs: num('v-proofs'),
    start: document.getElementById('v-start').textContent || '',
    sigs: document.getElementById('v-sigs').textContent || '',
  };
})()`;

function readState(page: Page): Promise<PageState> {
  return page.evaluate(READ_STATE) as Promise<PageState>;
}

async function waitState(page: Page, ok: (s: PageState) => boolean, timeoutMs: number, what: string): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  let s = await readState(page);
  while (!ok(s)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; page says: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 250));
    s = await readState(page);
  }
  return s;
}

async function shot(page: Page, name: string): Promise<void> {
  const path = join(screenshotDir(), name);
  await page.screenshot({ path, fullPage: true });
  shots.push(path);
}

async function browser(name: BrowserName): Promise<LaunchedBrowser | null> {
  if (!browserInstalled(name)) {
    if (process.env.CI) assert.unreachable(`${name} is not installed in CI`);
    say(`skipping ${name}: not installed here`);
    return null;
  }
  const t = performance.now();
  const b = await launch(name);
  open.push(b);
  say(`${name} ${b.version} started: ${secs(t)}`);
  return b;
}

async function dashboard(b: LaunchedBrowser): Promise<void> {
  const t = performance.now();
  const page = await b.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String((e as Error).message ?? e)));
  await page.goto(`${net.rpcUrls[0]}/`);
  const first = await waitState(page, (s) => s.state === 'verified' && s.heatHeight > 0, 90_000, 'the verdict "verified"');
  assert.match(first.start, /certified snapshot at height \d+/, 'the page started from a certified snapshot');
  assert.match(first.title, /Verified in this browser/);
  say(`${b.name}: verified at height ${first.height} (${first.start}) after ${secs(t)}`);
  // The chain moves, the replay follows it, the heat map changes.
  const later = await waitState(page, (s) => s.state === 'verified' && s.height >= first.height + 5 && s.heatHeight > first.heatHeight && s.heatDigest !== first.heatDigest, 60_000, 'the height and the heat map to change');
  // The browser's root is the chain's: another validator's block at that height carries it.
  const blk = await net.clients[1]!.block(later.height, { waitMs: 10_000, receipts: 'none' });
  assert.is(later.root, blk?.stateRoot, `state root at height ${later.height}: browser vs validator 1`);
  assert.match(later.sigs, /by Web Crypto/);
  say(`${b.name}: height ${first.height} → ${later.height}, heat map ${first.heatDigest} → ${later.heatDigest}; browser root = validator 1's root ${later.root.slice(0, 16)}…`);
  await waitState(page, (s) => s.proofs >= 1, 30_000, 'a row proof checked against a certified root');
  // The explorer: the newest block replayed here, then an old one fetched and certified on demand.
  await page.evaluate(`document.querySelector('#recent tr').click()`);
  await page.waitForFunction(`/QC certifying this block/.test(document.getElementById('block-detail').textContent || '')`, { timeout: 10_000 });
  const detail = (await page.evaluate(`document.getElementById('block-detail').textContent`)) as string;
  assert.match(detail, /QC verified and block replayed in this browser/);
  assert.match(detail, /✓ v\d/, 'who signed the QC');
  assert.match(detail, /transactions \(\d+\)/);
  await page.click('#explore-height', { count: 3 });
  await page.type('#explore-height', '3');
  await page.click('#explore-go');
  await page.waitForFunction(`document.getElementById('block-detail').dataset.height === '3'`, { timeout: 10_000 });
  assert.match((await page.evaluate(`document.getElementById('block-detail').textContent`)) as string, /QC verified in this browser/);
  // Web Crypto is only a fast path: on the speccheck edge cases it accepts a subset of ZIP-215.
  const sc = (await page.evaluate(`numchainDebug.speccheck(${JSON.stringify(SPECCHECK)})`)) as { fast: boolean[] | null; zip215: boolean[] };
  assert.equal(sc.zip215, ZIP215, `${b.name}: ZIP-215 in the page`);
  assert.ok(sc.fast, `${b.name} has Ed25519 in Web Crypto`);
  (sc.fast as boolean[]).forEach((f, i) => f && assert.ok(ZIP215[i], `${b.name}'s Web Crypto accepts speccheck case ${i}, which ZIP-215 rejects`));
  say(`${b.name}: Web Crypto on speccheck ${JSON.stringify((sc.fast as boolean[]).map((x) => (x ? 'V' : 'X')).join(''))} ⊆ ZIP-215 ${ZIP215.map((x) => (x ? 'V' : 'X')).join('')}`);
  await page.evaluate(`document.querySelector('#recent tr').click()`);
  await new Promise((r) => setTimeout(r, 300));
  await shot(page, `dashboard-${b.name}.png`);
  assert.equal(errors, [], 'errors in the page');
  await page.close();
  say(`${b.name}: dashboard checks ${secs(t)}`);
}

const EXPECT: Record<TamperMode, { kind: ForgeryKind; message: RegExp }> = {
  block: { kind: 'transactions', message: /certified header commits to/ },
  qc: { kind: 'qc', message: /invalid vote signature/ },
  snapshot: { kind: 'snapshot', message: /does not hash to the certified state root/ },
  proof: { kind: 'proof', message: /but the certified state root at \d+ is/ },
  root: { kind: 'state_root', message: /\/health reports state root .* but the certified root/ },
};

async function forged(b: LaunchedBrowser, mode: TamperMode, screenshot: boolean): Promise<void> {
  const t = performance.now();
  const relay = await startTamperRelay(net.rpcUrls[0]!, mode);
  const page = await b.newPage();
  try {
    await page.goto(`${relay.url}/`);
    const s = await waitState(page, (x) => x.state === 'forged', 60_000, `the verdict "forged" (${mode})`);
    assert.is(s.kind, EXPECT[mode].kind, s.detail);
    assert.match(s.detail, EXPECT[mode].message);
    assert.match(s.title, /FORGED/);
    assert.ok(relay.forged > 0);
    if (screenshot) await shot(page, `forged-${mode}-${b.name}.png`);
    say(`${b.name}: relay forging ${mode}: "${s.title}" after ${secs(t)}`);
  } finally {
    await page.close();
    await relay.close();
  }
}

test('Chromium: the dashboard verifies and replays the live chain; the explorer shows blocks and signers', async () => {
  const b = await browser('chromium');
  if (b) await dashboard(b);
});

test('Chromium: a node forging a block, a QC, a snapshot, a proof or a root is shown as FORGED', async () => {
  const b = open.find((x) => x.name === 'chromium');
  if (!b) return;
  for (const mode of ['qc', 'block', 'snapshot', 'proof', 'root'] as const) await forged(b, mode, mode === 'qc');
  await b.close();
  open.splice(open.indexOf(b), 1);
});

test('Firefox: the same dashboard verifies the live chain and catches a forged block', async () => {
  const b = await browser('firefox');
  if (!b) return;
  await dashboard(b);
  await forged(b, 'block', true);
});

test.run();
