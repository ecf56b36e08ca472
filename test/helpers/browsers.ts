// Debian's Chromium (CDP) and Firefox ESR (WebDriver BiDi) driven headless by puppeteer-core, each
// with a fresh profile directory that is deleted on close. Playwright's own browser builds cannot be
// downloaded here; these are the installed ones (`apt-get install chromium firefox-esr`).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { FIREFOX_PREFS } from '../../src/cli/determinism/browser.ts';
import { PROJECT_ROOT } from '../../src/host/node-loader.ts';

export type BrowserName = 'chromium' | 'firefox';

export const BROWSER_BINARIES: Record<BrowserName, string> = {
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
};

export interface LaunchedBrowser {
  readonly name: BrowserName;
  readonly browser: Browser;
  readonly version: string;
  newPage(width?: number, height?: number): Promise<Page>;
  close(): Promise<void>;
}

export function browserInstalled(name: BrowserName): boolean {
  return existsSync(BROWSER_BINARIES[name]);
}

export async function launch(name: BrowserName): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), `numchain-${name}-`));
  const browser = await puppeteer.launch(
    name === 'chromium'
      ? {
          browser: 'chrome',
          executablePath: BROWSER_BINARIES.chromium,
          headless: true,
          userDataDir: profile,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
        }
      : {
          browser: 'firefox',
          executablePath: BROWSER_BINARIES.firefox,
          headless: true,
          userDataDir: profile,
          extraPrefsFirefox: FIREFOX_PREFS,
          env: { ...process.env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: '1' },
        },
  );
  const version = await browser.version();
  return {
    name,
    browser,
    version,
    async newPage(width = 1500, height = 1400) {
      const p = await browser.newPage();
      await p.setViewport({ width, height });
      return p;
    },
    async close() {
      await browser.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where tests save screenshots: $NUMCHAIN_SCREENSHOTS, else .scratch/screenshots in the checkout. */
export function screenshotDir(): string {
  const dir = process.env.NUMCHAIN_SCREENSHOTS ?? join(PROJECT_ROOT, '.scratch', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
