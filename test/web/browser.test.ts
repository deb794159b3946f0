import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ELECTRUM, TERMINAL_KEY, eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import Database from 'better-sqlite3';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { launchBrowser, screenshotOnFailure, signInConsole, type TestBrowser } from './browser.js';
import { OPERATOR, startWebHarness } from './support.js';

// The pages driven in headless Chromium by clicks and typing only, as a store's IT person
// would: the virtual terminal, the PartPay customer phone, the partner wallet and the console.

let h: Harness;
let b: TestBrowser;
beforeAll(async () => {
  [h, b] = await Promise.all([
    startWebHarness({ simulator: { autoDecideAfterMs: null }, electrum: { scanWaitSeconds: 20, partnerSimulator: true }, config: { payments: { lateApproval: 'flag' } } }),
    launchBrowser(),
  ]);
}, 40_000);
afterAll(async () => {
  await b?.close();
  await h?.stop();
});

const partnerA = () => (h.partners as NonNullable<Harness['partners']>).a;

/** Opens the virtual terminal and fills in the sale (the harness has no demo keys to prefill). */
async function startSale(page: Page, opts: { amount: string; reference: string; electrum?: boolean; wallet?: string }): Promise<void> {
  await page.goto(`${h.url}/terminal?wallet=${encodeURIComponent(opts.wallet ?? `${partnerA().url()}/`)}&phone=${encodeURIComponent(`${h.sim.url()}/phone`)}`);
  await page.getByLabel('Terminal API key').fill(TERMINAL_KEY);
  await page.getByLabel('Terminal API key').press('Tab');
  await expect.poll(() => page.locator('#terminal-info').textContent()).toContain('TERM0001');
  if (opts.electrum) {
    await page.getByLabel('Electrum QR (wallet apps)').check();
    await page.getByLabel('Client id').fill(ELECTRUM.pos.id);
    await page.getByLabel('Password').fill(ELECTRUM.pos.password);
  }
  await page.getByLabel(/^Amount/).fill(opts.amount);
  await page.getByLabel('Reference').fill(opts.reference);
  await page.getByRole('button', { name: 'Start payment' }).click();
}

const statusText = (page: Page) => page.getByRole('status').first().textContent();

describeWhenAvailable('virtual terminal and customer pages', [tools.chromium()], () => {
  it('takes a PartPay payment: QR shown, approved on the customer phone, then refunded', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    let phone: Page | null = null;
    screenshotOnFailure('partpay-payment', () => [till, ...(phone ? [phone] : [])]);
    await startSale(till, { amount: '12.34', reference: 'BROWSER-PP-1' });
    await expect.poll(() => statusText(till)).toMatch(/Waiting for the customer/);
    await till.getByRole('img', { name: /PartPay QR code for NZD 12.34/ }).waitFor();
    const order = (await till.locator('#order').textContent())?.replace('PartPay order ', '') ?? '';
    expect(order).not.toBe('');
    // The code's text is read from PartPay's image only when someone asks to see it.
    expect(await till.locator('#qr-text').textContent()).toBe('');
    await till.locator('#qr-details summary').click();
    // Read on first ask by the text reader's worker thread, which a loaded box (a full run) may take seconds to start.
    await expect.poll(() => till.locator('#qr-text').textContent(), { timeout: 15_000 }).toMatch(/\/phone\/orders\/[0-9a-f-]{36}$/);
    await expect.poll(() => till.locator('#log').textContent()).toMatch(/qr\/text → 200/);

    const [opened] = await Promise.all([ctx.waitForEvent('page'), till.getByRole('link', { name: /customer phone/ }).click()]);
    phone = opened;
    await phone.getByRole('button', { name: `Approve order ${order}` }).click();
    await expect.poll(() => statusText(till), { timeout: 10_000 }).toMatch(/Approved: paid/);
    expect(await till.getByRole('img', { name: /QR code/ }).count()).toBe(0);

    await till.getByRole('button', { name: 'Refund' }).click();
    await expect.poll(() => statusText(till), { timeout: 10_000 }).toMatch(/Refunded/);
  });

  it('takes an Electrum payment: QR from /qr/v1, scanned in the partner wallet, approved and confirmed', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    let wallet: Page | null = null;
    screenshotOnFailure('electrum-payment', () => [till, ...(wallet ? [wallet] : [])]);
    await startSale(till, { amount: '7.25', reference: 'BROWSER-EL-1', electrum: true });
    await till.getByRole('img', { name: /Electrum QR code for NZD 7.25/ }).waitFor();
    await expect.poll(() => statusText(till)).toMatch(/scan the code/);

    const [opened] = await Promise.all([ctx.waitForEvent('page'), till.getByRole('link', { name: /Open in the wallet app/ }).click()]);
    wallet = opened;
    await expect.poll(() => wallet?.getByLabel('QR code text or tranId').inputValue()).toMatch(/^000201/);
    await wallet.getByRole('button', { name: 'Scan' }).click();
    await expect.poll(() => wallet?.locator('#result').textContent()).toMatch(/Scan accepted/);
    await expect.poll(() => statusText(till), { timeout: 10_000 }).toMatch(/Approved: paid with Wallet A/);
    await expect.poll(() => till.locator('#log').textContent()).toMatch(/confirmations → 202/);
  });

  // Issue 17 item 9: ?wallet= took any https URL and handed it the QR text.
  it('sends the QR code text only to the configured partner simulator, whatever ?wallet= says', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    screenshotOnFailure('wallet-link', () => [till]);
    await startSale(till, { amount: '3.10', reference: 'BROWSER-WALLET-1', electrum: true, wallet: 'https://wallet.attacker.example/collect' });
    await till.getByRole('img', { name: /Electrum QR code for NZD 3.10/ }).waitFor();
    const href = await till.getByRole('link', { name: /Open in the wallet app/ }).getAttribute('href');
    expect(href?.startsWith(`${partnerA().url()}/?qr=`)).toBe(true);
    expect(await till.locator('a[href*="attacker"]').count()).toBe(0);
    await till.getByRole('button', { name: 'Cancel payment' }).click();
    await expect.poll(() => statusText(till)).toMatch(/Cancelled|Reversed|reversed/);
  });

  it('cancels a PartPay payment from the terminal', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    screenshotOnFailure('cancel', () => [till]);
    await startSale(till, { amount: '5.00', reference: 'BROWSER-CANCEL-1' });
    await expect.poll(() => statusText(till)).toMatch(/Waiting for the customer/);
    await till.getByRole('button', { name: 'Cancel payment' }).click();
    await expect.poll(() => statusText(till)).toMatch(/^Cancelled/);
    expect(await till.getByRole('button', { name: 'New sale' }).isEnabled()).toBe(true);
    const cancelled = h.daemon.payments.list({ state: 'cancelled' }).find((p) => p.merchantReference === 'BROWSER-CANCEL-1');
    expect(cancelled).toBeDefined();
  });
});

describeWhenAvailable('operator console', [tools.chromium()], () => {
  it('refuses access without signing in: the console sends the browser to its sign-in form, which refuses a wrong password', async () => {
    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-refused', () => [page]);
    await page.goto(`${h.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await page.getByLabel('Operator name').fill(OPERATOR.name);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-result').textContent()).toMatch(/Not signed in: unknown operator or wrong password/);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    // Basic credentials do not open the page (they could not be signed out).
    const basic = await b.context({ httpCredentials: { username: OPERATOR.name, password: OPERATOR.password } });
    const again = await basic.newPage();
    await again.goto(`${h.url}/console`);
    expect(new URL(again.url()).pathname).toBe('/console/login');
  });

  it('finds a late-approved payment and refunds it, journaled with the operator', async () => {
    // The terminal was told "cancelled" (its cancel never reached PartPay), then the customer approved.
    const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 4321, currency: 'NZD', merchantReference: 'STUCK-1' } });
    const db = new Database(h.dbPath);
    db.prepare("UPDATE payments SET state = 'cancelled', version = version + 1, final_at = ? WHERE id = ?").run(Date.now(), created.body.id);
    db.close();
    await h.sim.approve(created.body.partpay?.orderId as string);
    await eventually(() => h.daemon.payments.get(created.body.id)?.attention === 'late_approval');

    const ctx = await b.context();
    const page = await ctx.newPage();
    screenshotOnFailure('console-resolve', () => [page]);
    await signInConsole(page, h.url, OPERATOR);
    const attention = page.getByRole('table', { name: 'Payments needing attention' });
    await attention.getByRole('button', { name: /Resolve: STUCK-1/ }).click();
    await expect.poll(() => page.locator('#detail-heading').textContent()).toContain('STUCK-1');
    expect(await page.getByLabel('Action').inputValue()).toBe('refund');
    await page.getByLabel('Reason (journaled)').fill('customer charged after the till cancelled');
    await page.getByRole('button', { name: 'Resolve payment' }).click();
    await expect.poll(() => page.locator('#resolve-result').textContent()).toMatch(/Done: refunded/);
    await expect.poll(() => attention.getByRole('button', { name: /Resolve: STUCK-1/ }).count()).toBe(0);
    const journal = h.daemon.payments.events(created.body.id).find((e) => e.kind === 'operator_resolution');
    expect(journal).toMatchObject({ actor: `operator:${OPERATOR.name}`, detail: { action: 'refund', reason: 'customer charged after the till cancelled' } });
    expect(h.daemon.payments.get(created.body.id)).toMatchObject({ attention: null, refundedMinor: 4321 });
  });
});
