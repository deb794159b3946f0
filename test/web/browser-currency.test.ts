import { afterAll, beforeAll, expect, it } from 'vitest';
import { TERMINAL_KEY, eventually, type Harness } from '../support/harness.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';
import { launchBrowser, screenshotOnFailure, signInConsole, type TestBrowser } from './browser.js';
import { OPERATOR, startWebHarness } from './support.js';

// The pages read and show amounts with the server's ISO 4217 digits, not a hard-coded two:
// a yen merchant's "500" is 500 minor units (¥500), never 50000.

let h: Harness;
let b: TestBrowser;
beforeAll(async () => {
  [h, b] = await Promise.all([startWebHarness({ currency: 'JPY', simulator: { autoDecideAfterMs: null } }), launchBrowser()]);
}, 40_000);
afterAll(async () => {
  await b?.close();
  await h?.stop();
});

describeWhenAvailable('a merchant whose currency has no minor units (JPY)', [tools.chromium()], () => {
  it('takes "500" typed on the virtual terminal as ¥500, sends PartPay 500 and shows JPY 500 in the console', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    const operatorPage = await ctx.newPage();
    screenshotOnFailure('jpy-sale', () => [till, operatorPage]);
    await till.goto(`${h.url}/terminal`);
    expect(await till.getByLabel(/^Amount/).inputValue()).toBe('1995');
    await till.getByLabel('Terminal API key').fill(TERMINAL_KEY);
    await till.getByLabel(/^Amount/).fill('500');
    await till.getByLabel('Reference').fill('YEN-1');
    await till.getByRole('button', { name: 'Start payment' }).click();
    await till.getByRole('img', { name: /PartPay QR code for JPY 500$/ }).waitFor();

    const payment = await eventually(() => h.daemon.payments.list({}).find((p) => p.merchantReference === 'YEN-1'));
    expect(payment).toMatchObject({ amountMinor: 500, currency: 'JPY' });
    expect(h.sim.orders().find((o) => o.merchantReference === 'YEN-1')?.amount).toBe(500);

    await signInConsole(operatorPage, h.url, OPERATOR);
    const rows = operatorPage.getByRole('table', { name: 'Payments, newest first' });
    await expect.poll(() => rows.textContent()).toContain('JPY 500');
    expect(await rows.textContent()).not.toContain('JPY 5.00');
  });

  it('refuses a decimal amount the currency cannot have', async () => {
    const ctx = await b.context();
    const till = await ctx.newPage();
    screenshotOnFailure('jpy-decimal', () => [till]);
    await till.goto(`${h.url}/terminal`);
    await till.getByLabel('Terminal API key').fill(TERMINAL_KEY);
    await till.getByLabel(/^Amount/).fill('5.50');
    await till.getByRole('button', { name: 'Start payment' }).click();
    await expect.poll(() => till.locator('#form-error').textContent()).toMatch(/such as 1995$/);
  });
});
