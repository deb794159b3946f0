import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { onTestFailed } from 'vitest';
import { chromiumPath, tools } from '../support/system-tools.js';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const RESULTS = resolve(import.meta.dirname, '../../test-results');

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (cookies, credentials) for one test; closed by `close()`. */
  context(options?: { httpCredentials?: { username: string; password: string } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium. Playwright gives every launch a fresh temporary user-data dir
 * (and refuses `--user-data-dir` in args); TMPDIR points it into a folder we remove after.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  // Suites gate on tools.chromium() with describeWhenAvailable; a hook outside that gate (or CI=true,
  // where the gate fails instead of skipping) still gets the same words rather than a spawn error.
  const needed = tools.chromium();
  if (!needed.found) throw new Error(`Chromium is missing: needs ${needed.needs}`);
  const profile = mkdtempSync(join(tmpdir(), 'tenderbridge-chromium-'));
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ARGS, headless: true, timeout: 20_000, env: { ...process.env, TMPDIR: profile } });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async context(options = {}) {
      const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
      ctx.setDefaultTimeout(10_000);
      contexts.push(ctx);
      return ctx;
    },
    async close() {
      for (const ctx of contexts) await ctx.close().catch(() => undefined);
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Registers screenshots of `pages` (taken when the current test fails) into test-results/. */
export function screenshotOnFailure(name: string, pages: () => Page[]): void {
  onTestFailed(async () => {
    mkdirSync(RESULTS, { recursive: true });
    let i = 0;
    for (const page of pages()) {
      i += 1;
      await page.screenshot({ path: join(RESULTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}-${i}.png`), fullPage: true }).catch(() => undefined);
    }
  });
}

/** Signs in on the console's form, as an operator would, and waits for the console. */
export async function signInConsole(page: Page, url: string, operator: { name: string; password: string }): Promise<void> {
  await page.goto(`${url}/console`);
  await page.getByLabel('Operator name').fill(operator.name);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Operator console' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
