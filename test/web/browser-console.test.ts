import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { launchBrowser, screenshotOnFailure, signInConsole, type TestBrowser } from './browser.js';
import { OPERATOR, startWebHarness } from './support.js';

// The finished console in headless Chromium: signing in and out, live updates over its event
// stream, CSRF, idle expiry (the daemon's clock moved past it), favicon, the end-of-day table
// and the focus ring's contrast.

const IDLE_S = 120;
let h: Harness;
let b: TestBrowser;
let attacker: Server;
let attackerUrl: string;
beforeAll(async () => {
  [h, b] = await Promise.all([startWebHarness({ simulator: { autoDecideAfterMs: null }, config: { ops: { console: { idleTimeoutSeconds: IDLE_S } } } }), launchBrowser()]);
  // A page on another origin (same host, another port: the same *site*, so SameSite alone would not stop it).
  attacker = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><form id="f" method="post" enctype="text/plain" action="${h.url}/console/api/outbox/1/retry"><input name='{"x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((ok) => attacker.listen(0, '127.0.0.1', ok));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/`;
}, 40_000);
afterAll(async () => {
  attacker?.close();
  await b?.close();
  await h?.stop();
});

async function sale(reference: string, amountMinor = 1234): Promise<PaymentJson> {
  const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': `bc-${reference}` }, json: { amountMinor, currency: 'NZD', merchantReference: reference } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** WCAG contrast ratio of two `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const lum = (css: string) => {
    const [r, g, bl] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (bl ?? 0);
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** The focused element's outline colour and the first opaque background behind it, from computed styles. */
function focusColours(page: Page): Promise<{ outline: string; outlineStyle: string; background: string; what: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const style = getComputedStyle(el);
    let behind: Element | null = el.parentElement;
    let background = 'rgb(255, 255, 255)';
    while (behind) {
      const bg = getComputedStyle(behind).backgroundColor;
      if (bg && bg !== 'transparent' && !/rgba\([^)]*,\s*0\)$/.test(bg)) {
        background = bg;
        break;
      }
      behind = behind.parentElement;
    }
    return { outline: style.outlineColor, outlineStyle: style.outlineStyle, background, what: `${el.tagName} ${el.textContent?.trim().slice(0, 30) ?? ''}` };
  });
}

describeWhenAvailable('the console, finished', [tools.chromium()], () => {
  it('signs in, serves its favicon, and shows a new payment live, without a reload', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-live', () => [page]);
    const icons: number[] = [];
    page.on('response', (r) => {
      if (/\/favicon\.(svg|ico)$/.test(r.url())) icons.push(r.status());
    });
    await signInConsole(page, h.url, OPERATOR);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    const ico = await page.request.get(`${h.url}/favicon.ico`);
    expect(ico.status()).toBe(200);
    expect(ico.headers()['content-type']).toMatch(/^image\/svg\+xml/);
    await expect.poll(() => icons).toContain(200);

    await expect.poll(() => page.locator('#live-state').textContent()).toBe('(live)');
    let navigations = 0;
    page.on('framenavigated', () => (navigations += 1));
    const rows = page.getByRole('table', { name: 'Payments, newest first' });
    expect(await rows.textContent()).not.toContain('LIVE-BROWSER-1');
    await sale('LIVE-BROWSER-1');
    await expect.poll(() => rows.textContent(), { timeout: 10_000 }).toContain('LIVE-BROWSER-1');
    // It came over the stream: still live (no fallback to polling), and the page was never reloaded.
    expect(await page.locator('#live-state').textContent()).toBe('(live)');
    expect(navigations).toBe(0);
  });

  it('falls back to polling while the event stream is down, and says so', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-poll-fallback', () => [page]);
    // Every connection to the stream fails, as behind a proxy that drops it.
    await page.route('**/console/api/events', (route) => route.abort());
    await signInConsole(page, h.url, OPERATOR);
    await expect.poll(() => page.locator('#live-state').textContent()).toBe('(stream lost: checking every 3 s)');
    const rows = page.getByRole('table', { name: 'Payments, newest first' });
    await sale('POLLED-BROWSER-1');
    await expect.poll(() => rows.textContent(), { timeout: 15_000 }).toContain('POLLED-BROWSER-1');
  });

  it('signs out: back to the sign-in form, and the console refuses the old session', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-sign-out', () => [page]);
    await signInConsole(page, h.url, OPERATOR);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'tb_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect((await ctx.cookies()).find((c) => c.name === 'tb_console')).toBeUndefined();
    await page.goto(`${h.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    // The old session id, put back by hand, is dead on the server too.
    await ctx.addCookies([{ ...(cookie as NonNullable<typeof cookie>) }]);
    const api = await page.evaluate(async () => (await fetch('/console/api/whoami')).status);
    expect(api).toBe(401);
    await page.goto(`${h.url}/console`);
    expect(page.url()).toBe(`${h.url}/console/login?expired=1`);
  });

  it('refuses a cross-site POST made with the signed-in operator\'s browser', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-csrf', () => [page]);
    await signInConsole(page, h.url, OPERATOR);
    const evil = await ctx.newPage();
    const [answer] = await Promise.all([evil.waitForResponse((r) => r.url().endsWith('/console/api/outbox/1/retry')), evil.goto(attackerUrl)]);
    expect(answer.status()).toBe(403);
    expect(await answer.text()).toContain('cross-origin request from http://127.0.0.1:');
    // The console's own POSTs (same origin, with the session's token) are taken.
    const own = await page.evaluate(async () => {
      const token = (JSON.parse(document.getElementById('console-data')?.textContent ?? '{}') as { csrfToken: string }).csrfToken;
      const res = await fetch('/console/api/outbox/1/retry', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token }, body: '{}' });
      const bare = await fetch('/console/api/outbox/1/retry', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return [res.status, bare.status];
    });
    // 404: past every check, there is no outbox item 1. Without the token: 403.
    expect(own).toEqual([404, 403]);
  });

  it('ends an idle session: the next action lands on the sign-in form saying why', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-idle', () => [page]);
    await signInConsole(page, h.url, OPERATOR);
    h.advanceClock((IDLE_S + 1) * 1000);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(`${h.url}/console/login?expired=1`);
    await expect.poll(() => page.locator('#login-notice').textContent()).toContain('Your session ended');
  });

  it('fits the end-of-day table in its card at common widths', async () => {
    const p = await sale('EOD-FIT-1', 99_999_999);
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(() => h.daemon.payments.get(p.id)?.state === 'approved');
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-eod', () => [page]);
    await signInConsole(page, h.url, OPERATOR);
    for (const width of [360, 768, 1024, 1280, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      await expect.poll(() => page.locator('#eod-rows').textContent()).toContain('NZD 999999.99');
      const sizes = await page.evaluate(() => {
        const table = document.getElementById('eod-table') as HTMLElement;
        const scroller = table.parentElement as HTMLElement;
        const card = table.closest('.card') as HTMLElement;
        return { table: table.scrollWidth, scroller: scroller.clientWidth, scrollerScroll: scroller.scrollWidth, card: card.clientWidth, cardScroll: card.scrollWidth };
      });
      expect(sizes.scrollerScroll, `width ${width}: ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(sizes.scroller);
      expect(sizes.cardScroll, `width ${width}: ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(sizes.card);
    }
  });

  it('draws a focus ring with at least 3:1 contrast against what is behind it, on the sign-in form, in the card and in the dark header', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-focus', () => [page]);
    await page.goto(`${h.url}/console/login`);
    await page.getByLabel('Operator name').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const onForm = await focusColours(page);
    expect(onForm.what).toContain('BUTTON Sign in');
    await signInConsole(page, h.url, OPERATOR);
    await page.getByRole('button', { name: 'Apply filters' }).focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const inCard = await focusColours(page);
    await page.getByRole('link', { name: 'Virtual terminal' }).focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+Tab');
    const inHeader = await focusColours(page);
    for (const seen of [onForm, inCard, inHeader]) {
      expect(seen.outlineStyle, seen.what).toBe('solid');
      expect(contrast(seen.outline, seen.background), `${seen.what}: ${seen.outline} on ${seen.background}`).toBeGreaterThanOrEqual(3);
    }
    expect(inHeader.background).toBe('rgb(29, 39, 51)');
  });
});
