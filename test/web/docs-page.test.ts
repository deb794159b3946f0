import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { DOCS_CONTENT_SECURITY_POLICY } from '../../src/web/docs-routes.js';
import { CONTENT_SECURITY_POLICY } from '../../src/web/page-headers.js';
import { TERMINAL_OPERATIONS } from '../../src/terminals/operations.js';
import { launchBrowser, screenshotOnFailure, type TestBrowser } from './browser.js';
import { operatorAuth, signIn, startWebHarness } from './support.js';

// The /v1 reference at /docs: Redoc's standalone bundle from npm, served by the daemon, with
// the document from /docs/openapi.json, in Chromium with every request off loopback refused.

let h: Harness;
let b: TestBrowser;
beforeAll(async () => {
  [h, b] = await Promise.all([startWebHarness(), launchBrowser()]);
}, 40_000);
afterAll(async () => {
  await b?.close();
  await h?.stop();
});

it("sends a visitor without the console sign-in to it, takes the session or basic auth, and widens the CSP for /docs only", async () => {
  for (const path of ['/docs', '/docs/openapi.json', '/docs/assets/redoc.standalone.js']) {
    const res = await fetch(`${h.url}${path}`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')], path).toEqual([303, '/console/login']);
  }
  const wrong = await fetch(`${h.url}/docs/openapi.json`, { redirect: 'manual', headers: { Authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` } });
  expect(wrong.status).toBe(303);
  const { cookie } = await signIn(h.url);
  expect((await fetch(`${h.url}/docs/openapi.json`, { headers: { Cookie: cookie } })).status).toBe(200);
  const page = await fetch(`${h.url}/docs`, { headers: { Authorization: operatorAuth() } });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toBe(DOCS_CONTENT_SECURITY_POLICY);
  expect(DOCS_CONTENT_SECURITY_POLICY).toMatch(/script-src 'self';/);
  const console = await fetch(`${h.url}/console`, { headers: { Authorization: operatorAuth() } });
  expect(console.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|blob:.*worker|worker-src/);
});

describeWhenAvailable('the API reference page', [tools.chromium()], () => {
  it('renders every operation of the document with no network beyond the daemon', async () => {
    // Signed in as an operator is in the console: the session cookie.
    const { cookie } = await signIn(h.url);
    const name = cookie.slice(0, cookie.indexOf('='));
    const value = cookie.slice(cookie.indexOf('=') + 1);
    const ctx = await b.context();
    await ctx.addCookies([{ name, value, url: h.url }]);
    const origin = new URL(h.url).origin;
    const outside: string[] = [];
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    const page = await ctx.newPage();
    screenshotOnFailure('docs-page', () => [page]);
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${h.url}/docs`);
    await page.getByRole('heading', { name: 'tenderbridge terminal API' }).first().waitFor({ timeout: 20_000 });
    for (const op of TERMINAL_OPERATIONS) {
      await expect.poll(() => page.getByText(op.summary, { exact: true }).count(), { message: op.operationId }).toBeGreaterThan(0);
    }
    // The error table of the description, and the error code of an operation's answers.
    expect(await page.getByText('idempotency_key_reused').count()).toBeGreaterThan(0);
    expect(outside).toEqual([]);
    // Redoc's sidebar credit is an <img> from its CDN: the page's img-src 'self' refuses it
    // before any request (it hides itself on error). Nothing else may be refused or fail.
    const credit = /^Loading the image 'https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini\.svg' violates the following Content Security Policy directive/;
    expect(problems.filter((p) => !credit.test(p))).toEqual([]);
  });
});
