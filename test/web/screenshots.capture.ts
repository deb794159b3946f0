import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electrumPos } from '../support/electrum-pos.js';
import { TERMINAL_KEY, eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { launchBrowser, type TestBrowser, signInConsole } from './browser.js';
import { OPERATOR, startWebHarness } from './support.js';

// Regenerates the README's screenshots (docs/screenshots/*.png): npm run screenshots
// (not part of npm test: it rewrites files in the repository).
const OUT = resolve(import.meta.dirname, '../../docs/screenshots');

describe('README screenshots', () => {
  let h: Harness;
  let b: TestBrowser;
  beforeAll(async () => {
    [h, b] = await Promise.all([startWebHarness({ simulator: { autoDecideAfterMs: null }, electrum: { scanWaitSeconds: 30 }, config: { payments: { lateApproval: 'flag' } } }), launchBrowser()]);
    mkdirSync(OUT, { recursive: true });
  }, 40_000);
  afterAll(async () => {
    await b?.close();
    await h?.stop();
  });

  async function pay(reference: string, amountMinor: number, outcome: 'approve' | 'decline' | 'open' | 'late', terminal: 1 | 2 = 1): Promise<void> {
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(terminal), json: { amountMinor, currency: 'NZD', merchantReference: reference } })).body;
    const order = p.partpay?.orderId as string;
    if (outcome === 'late') {
      const db = new Database(h.dbPath);
      db.prepare("UPDATE payments SET state = 'cancelled', version = version + 1, final_at = ? WHERE id = ?").run(Date.now(), p.id);
      db.close();
    }
    if (outcome === 'approve' || outcome === 'late') await h.sim.approve(order);
    if (outcome === 'decline') await h.sim.decline(order);
    if (outcome !== 'open') await eventually(() => h.daemon.payments.get(p.id)?.version !== p.version);
  }

  it('captures the virtual terminal, the customer phone, the wallet and the console', async () => {
    await pay('SALE-0998', 4550, 'approve');
    await pay('SALE-0999', 1299, 'approve', 2);
    await pay('SALE-1000', 850, 'decline');
    await pay('SALE-1001', 6400, 'late', 2);
    await pay('SALE-1002', 2200, 'approve', 2);

    const ctx = await b.context();
    const till = await ctx.newPage();
    await till.goto(`${h.url}/terminal?wallet=${encodeURIComponent(`${partnerUrl(h)}/`)}&phone=${encodeURIComponent(`${h.sim.url()}/phone`)}`);
    await till.getByLabel('Terminal API key').fill(TERMINAL_KEY);
    await till.getByLabel('Terminal API key').press('Tab');
    await till.getByLabel(/^Amount/).fill('19.95');
    await till.getByLabel('Reference').fill('SALE-1003');
    await till.getByRole('button', { name: 'Start payment' }).click();
    await till.getByRole('img', { name: /PartPay QR code/ }).waitFor();
    await till.waitForTimeout(300);
    await till.screenshot({ path: `${OUT}/virtual-terminal.png`, fullPage: true });

    const phoneCtx = await b.context();
    const phone = await phoneCtx.newPage();
    await phone.setViewportSize({ width: 412, height: 780 });
    await phone.goto(`${h.sim.url()}/phone`);
    await phone.getByRole('button', { name: /^Approve order/ }).first().waitFor();
    await phone.screenshot({ path: `${OUT}/customer-phone.png` });
    await phone.getByRole('button', { name: /^Approve order/ }).first().click();
    await expect.poll(() => till.getByRole('status').first().textContent(), { timeout: 10_000 }).toMatch(/Approved/);
    await till.screenshot({ path: `${OUT}/virtual-terminal-approved.png`, fullPage: true });

    const wallet = await phoneCtx.newPage();
    await wallet.setViewportSize({ width: 768, height: 700 });
    const code = await electrumPos(h).createQrCode(electrumPos(h).qrRequest(725));
    await wallet.goto(`${partnerUrl(h)}/?qr=${encodeURIComponent(code.body.qrCode)}`);
    await wallet.screenshot({ path: `${OUT}/partner-wallet.png` });

    const ops = await b.context();
    const consolePage = await ops.newPage();
    await consolePage.setViewportSize({ width: 1180, height: 820 });
    await signInConsole(consolePage, h.url, OPERATOR);
    await consolePage.getByRole('button', { name: /Resolve: SALE-1001/ }).waitFor();
    await consolePage.locator('#eod-chart svg').waitFor();
    await consolePage.screenshot({ path: `${OUT}/operator-console.png`, fullPage: true });
    await consolePage.getByRole('button', { name: /Resolve: SALE-1001/ }).click();
    await consolePage.locator('#detail-heading').getByText('SALE-1001').waitFor();
    await consolePage.locator('#detail').screenshot({ path: `${OUT}/operator-console-detail.png` });
  }, 60_000);
});

function partnerUrl(h: Harness): string {
  return (h.partners as NonNullable<Harness['partners']>).a.url();
}
