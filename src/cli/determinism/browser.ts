// Headless browsers: a tiny node:http server on 127.0.0.1 serves a page, the esbuild bundle of
// page.ts (portable wrapper + generator) and build/ma.wasm; the page POSTs its roots back and the
// browser's whole process group is then killed and its fresh profile directory deleted.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable, lastLines, spawnGroup } from './proc.ts';
import { failed, type EngineResult, type RunSpec } from './types.ts';

export type BrowserName = 'chromium' | 'firefox';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAX_BODY = 64 * 1024;

const BINARIES: Record<BrowserName, { names: string[]; install: string }> = {
  chromium: { names: ['chromium', 'chromium-browser'], install: 'apt-get install chromium' },
  firefox: { names: ['firefox-esr', 'firefox'], install: 'apt-get install firefox-esr' },
};

// Keep Firefox from phoning home or opening first-run pages in a throwaway profile.
export const FIREFOX_PREFS: Record<string, boolean | string | number> = {
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'browser.aboutwelcome.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.newtabpage.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.tabs.warnOnClose': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'extensions.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'startup.homepage_welcome_url': '',
  'startup.homepage_welcome_url.additional': '',
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.startup.max_resumed_crashes': -1,
};

/** Bundle page.ts for the browser (in memory). */
export async function bundlePage(): Promise<string> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(HERE, 'page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

interface Pending {
  readonly spec: RunSpec;
  resolve(body: Record<string, unknown>): void;
}

/** Serves the page, the bundle and the wasm to any number of browser runs, each under its own token. */
export class PageServer {
  private readonly pending = new Map<string, Pending>();
  private server: Server | null = null;
  private port = 0;

  constructor(
    private readonly bundle: string,
    private readonly wasm: Uint8Array,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** A fresh URL for one run, and a promise of the body the page posts back. */
  expect(spec: RunSpec): { url: string; result: Promise<Record<string, unknown>>; cancel(): void } {
    const token = randomBytes(12).toString('hex');
    const result = new Promise<Record<string, unknown>>((resolve) => this.pending.set(token, { spec, resolve }));
    return { url: `http://127.0.0.1:${this.port}/run/${token}/`, result, cancel: () => this.pending.delete(token) };
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, type: string, body: string | Uint8Array): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const url = req.url ?? '/';
    if (req.method === 'GET' && url === '/ma.wasm') return send(200, 'application/wasm', this.wasm);
    if (req.method === 'GET' && url === '/page.js') return send(200, 'text/javascript; charset=utf-8', this.bundle);
    const m = /^\/run\/([0-9a-f]{24})\/(spec|result)?$/.exec(url);
    const run = m ? this.pending.get(m[1]) : undefined;
    if (!m || !run) return send(404, 'text/plain', 'not found');
    if (req.method === 'GET' && m[2] === undefined) {
      return send(200, 'text/html; charset=utf-8', '<!doctype html><meta charset="utf-8"><title>numchain determinism</title><script type="module" src="/page.js"></script>');
    }
    if (req.method === 'GET' && m[2] === 'spec') {
      const { params, seed, ops } = run.spec;
      return send(200, 'application/json', JSON.stringify({ params, seed, ops }));
    }
    if (req.method === 'POST' && m[2] === 'result') {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
        if (body.length > MAX_BODY) req.destroy();
      });
      req.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return send(400, 'text/plain', 'bad json');
        }
        if (parsed === null || typeof parsed !== 'object') return send(400, 'text/plain', 'bad result');
        this.pending.delete(m[1]);
        run.resolve(parsed as Record<string, unknown>);
        send(204, 'text/plain', '');
      });
      return;
    }
    send(404, 'text/plain', 'not found');
  }
}

function browserArgs(name: BrowserName, profile: string, url: string): string[] {
  if (name === 'chromium') {
    return [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, url,
    ];
  }
  writeFileSync(join(profile, 'user.js'), Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  return ['--headless', '--no-remote', '--profile', profile, url];
}

/** Run the stream in one headless browser; never leaves a process or a profile directory behind. */
export async function runBrowser(name: BrowserName, spec: RunSpec, server: PageServer): Promise<EngineResult> {
  const t0 = performance.now();
  const wall = (): number => performance.now() - t0;
  const bin = findExecutable(...BINARIES[name].names);
  if (!bin) return failed(name, spec.ops, wall(), `not installed: ${BINARIES[name].names.join(' / ')} not found on PATH (Debian: ${BINARIES[name].install})`);
  const profile = mkdtempSync(join(tmpdir(), `numchain-${name}-`));
  const run = server.expect(spec);
  const env = { ...process.env, HOME: profile, MOZ_HEADLESS: '1', MOZ_CRASHREPORTER_DISABLE: '1' };
  const proc = spawnGroup(bin, browserArgs(name, profile, run.url), { env });
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      run.result.then((body) => ({ kind: 'result' as const, body })),
      proc.exited.then((e) => ({ kind: 'exit' as const, ...e })),
      new Promise<{ kind: 'timeout' }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), spec.timeoutMs);
      }),
    ]);
    const tail = (): string => lastLines(proc.output().stderr + '\n' + proc.output().stdout) || 'no output';
    if (outcome.kind === 'timeout') return failed(name, spec.ops, wall(), `no result within ${Math.round(spec.timeoutMs / 1000)} s (killed); browser said: ${tail()}`);
    if (outcome.kind === 'exit') return failed(name, spec.ops, wall(), `browser exited (${outcome.code ?? outcome.signal}) before posting a result: ${tail()}`);
    const b = outcome.body;
    const version = typeof b.version === 'string' ? b.version : undefined;
    if (b.ok !== true) return failed(name, spec.ops, wall(), `page error: ${String(b.error)}`, version);
    const roots = Array.isArray(b.roots) ? b.roots.map(String) : [];
    const at = Array.isArray(b.at) ? b.at.map(Number) : [];
    return { engine: name, version, ok: true, ops: spec.ops, at, roots, computeMs: Number(b.computeMs), wallMs: wall() };
  } finally {
    clearTimeout(timer);
    run.cancel();
    await proc.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}
