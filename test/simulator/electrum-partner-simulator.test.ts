import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader, parseBasicAuth } from '../../src/electrum/basic-auth.js';
import { buildQrCode } from '../../src/electrum/emv-qr.js';
import { createElectrumPartnerSimulator, type ElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import * as ex from '../electrum/examples.js';
import { eventually } from '../support/harness.js';
import { call } from '../support/http.js';
import { expectElectrum, validateElectrum } from '../support/swagger.js';

const expects = { username: 'tenderbridge', password: 'intermediate-pw' };
const credentials = { username: 'demo-partner', password: 'partner-pw' };
const auth = { authorization: basicAuthHeader(expects.username, expects.password) };

/** A stand-in intermediate: records notifyScan bodies and their basic auth, answers 202 or a decline. */
async function startReceiver() {
  const scans: Array<{ body: unknown; auth: ReturnType<typeof parseBasicAuth> }> = [];
  let decline = false;
  const app = express();
  app.post('/qr/v1/scans', express.json(), (req, res) => {
    scans.push({ body: req.body, auth: parseBasicAuth(req.get('authorization')) });
    if (decline) return void res.status(400).json({ id: 'abc', errorType: 'UNABLE_TO_LOCATE_RECORD', errorMessage: 'No payment for this tranId' });
    res.status(202).end();
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/qr/v1`,
    scans,
    declineNext: (v: boolean) => (decline = v),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Electrum partner simulator', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let sim: ElectrumPartnerSimulator;
  let base: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    sim = createElectrumPartnerSimulator({ partnerId: ex.partner.id, partnerName: ex.partner.name, intermediateUrl: receiver.url, credentials, expects });
    base = await sim.listen(0);
  });
  afterAll(async () => {
    await sim.close();
    await receiver.close();
  });

  const pay = (amountMinor: number, overrides: Record<string, unknown> = {}) =>
    call(`${base}/qr/v1/payments`, { headers: auth, json: { ...ex.paymentRequest(amountMinor), id: crypto.randomUUID(), ...overrides } });

  describe('scan()', () => {
    it('posts a spec-valid ScanNotification with the tranId from the QR text and its credentials', async () => {
      const qr = buildQrCode({ scheme: 'ELECTRUM_MERCHANT_MINIMAL', providerId: 'nz.tenderbridge', tranId: 'TRAN-123' });
      const answer = await sim.scan(qr, { amountMinor: 1234 });
      expect(answer).toEqual({ status: 202, body: null });
      const sent = receiver.scans.at(-1);
      expectElectrum('ScanNotification', sent?.body);
      expect(sent?.auth).toEqual(credentials);
      expect(sent?.body).toMatchObject({
        partner: ex.partner,
        tranId: 'TRAN-123',
        partnerPaymentToken: expect.any(String),
        thirdPartyIdentifiers: [{ institutionId: ex.partner.id, transactionIdentifier: expect.any(String) }],
        amounts: { requestAmount: { amount: 1234, currency: '554' } },
      });
      expect((sent?.body as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('takes a bare tranId and the amount and currency of an EMVCo QR', async () => {
      await sim.scan('plain-tran-id');
      expect(receiver.scans.at(-1)?.body).toMatchObject({ tranId: 'plain-tran-id' });
      expect(receiver.scans.at(-1)?.body).not.toHaveProperty('amounts');
      const qr = buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'nz.tb', tranId: 'EMV-1', amountMinor: 950, currencyNumeric: '036', merchantName: 'Shop', merchantCity: 'Sydney', countryCode: 'AU' });
      await sim.scan(qr);
      const body = receiver.scans.at(-1)?.body;
      expectElectrum('ScanNotification', body);
      expect(body).toMatchObject({ tranId: 'EMV-1', amounts: { requestAmount: { amount: 950, currency: '036' } } });
    });

    it('passes a declined scan back to the caller', async () => {
      receiver.declineNext(true);
      try {
        const answer = await sim.scan('late-tran');
        expect(answer.status).toBe(400);
        expect(answer.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD' });
      } finally {
        receiver.declineNext(false);
      }
    });

    it('refuses QR text without a tranId', async () => {
      await expect(sim.scan('000201')).rejects.toThrow(/tranId/);
    });

    it('is reachable as JSON from the wallet page', async () => {
      const res = await call(`${base}/sim/scan`, { json: { qrCode: ex.qrCode } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 202, tranId: ex.tranId });
      expect((await call(`${base}/sim/scan`, { json: {} })).status).toBe(400);
    });
  });

  describe('pay', () => {
    it('approves with a spec-valid 201 PaymentResponse', async () => {
      const res = await pay(1000);
      expect(res.status).toBe(201);
      expectElectrum('PaymentResponse', res.body);
      expect(res.body).toMatchObject({ partner: ex.partner, tenders: [{ tenderType: 'WALLET', amount: ex.nzd(1000) }], stan: '000001', basketRef: 'basket-9' });
    });

    it('declines cents .51 with a spec-valid ErrorDetail', async () => {
      const res = await pay(2051);
      expect(res.status).toBe(400);
      expectElectrum('ErrorDetail', res.body);
      expect(res.body).toMatchObject({ errorType: 'DECLINED_BY_PARTNER', tranId: ex.tranId });
    });

    it('refuses a repeated request id, a bad body and a missing login', async () => {
      const id = crypto.randomUUID();
      expect((await pay(100, { id })).status).toBe(201);
      const dup = await pay(100, { id });
      expect(dup.status).toBe(400);
      expect(dup.body).toMatchObject({ errorType: 'DUPLICATE_RECORD' });

      const bad = await pay(100, { originator: { ...ex.originator, terminalId: 'X' } });
      expect(bad.status).toBe(400);
      expectElectrum('ErrorDetail', bad.body);
      expect(bad.body).toMatchObject({ errorType: 'FORMAT_ERROR', errorMessage: 'Invalid originator.terminalId' });

      const malformed = await call(`${base}/qr/v1/payments`, { headers: { ...auth, 'content-type': 'application/json' }, body: '{"id":' });
      expect(malformed.status).toBe(400);
      expectElectrum('ErrorDetail', malformed.body);

      const anonymous = await call(`${base}/qr/v1/payments`, { json: ex.paymentRequest() });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
      const wrong = await call(`${base}/qr/v1/payments`, { headers: { authorization: basicAuthHeader(expects.username, 'nope') }, json: ex.paymentRequest() });
      expect(wrong.status).toBe(401);
      expect(sim.stats().unauthorized).toBeGreaterThanOrEqual(2);
    });

    it('refuses a payment routed to another partner and one without an amount', async () => {
      expect((await pay(100, { partner: { id: 'someone-else', name: 'X' } })).body).toMatchObject({ errorType: 'ROUTING_ERROR' });
      expect((await pay(100, { amounts: {} })).body).toMatchObject({ errorType: 'INVALID_AMOUNT' });
    });
  });

  describe('advices', () => {
    // The example advices state a final amount of 1234: the payments they advise are approved for that.
    async function approved(): Promise<string> {
      const id = crypto.randomUUID();
      expect((await pay(1234, { id })).status).toBe(201);
      return id;
    }
    const advice = (kind: 'confirmations' | 'reversals', body: Record<string, unknown>) => call(`${base}/qr/v1/payments/${kind}`, { headers: auth, json: body });

    it('echoes a confirmation with 202 and answers a repeat the same way', async () => {
      const requestId = await approved();
      const confirmation = { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId };
      const first = await advice('confirmations', confirmation);
      expect(first.status).toBe(202);
      expect(first.body).toEqual(confirmation);
      expectElectrum('PaymentConfirmation', first.body);
      const again = await advice('confirmations', confirmation);
      expect([again.status, again.body]).toEqual([202, confirmation]);
      expect(sim.payment(requestId)?.state).toBe('confirmed');
    });

    it('echoes a reversal with 202 (a void) and will not confirm it afterwards', async () => {
      const requestId = await approved();
      const reversal = { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId, reversalReason: 'CANCELLED' };
      const res = await advice('reversals', reversal);
      expect([res.status, res.body]).toEqual([202, reversal]);
      expectElectrum('PaymentReversal', res.body);
      const confirm = await advice('confirmations', { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId });
      expect(confirm.status).toBe(400);
      expectElectrum('ErrorDetail', confirm.body);
    });

    it('approves half of amounts ending in .53 (a partial approval) and holds what each advice makes final', async () => {
      const partial = crypto.randomUUID();
      const res = await pay(2053, { id: partial });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ amounts: { requestAmount: ex.nzd(2053), approvedAmount: ex.nzd(1026) } });
      expect(sim.payment(partial)).toMatchObject({ state: 'approved', approvedMinor: 1026, finalMinor: null });
      expect(settledMinor(sim.payment(partial) as never)).toBe(1026);
      // An advice above the approval is refused; a reversal to a final amount keeps that amount.
      const above = await advice('reversals', { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId: partial, amounts: { approvedAmount: ex.nzd(1100) } });
      expect([above.status, (above.body as { errorType: string }).errorType]).toEqual([400, 'INVALID_AMOUNT']);
      expect((await advice('reversals', { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId: partial, amounts: { approvedAmount: ex.nzd(600) } })).status).toBe(202);
      expect(settledMinor(sim.payment(partial) as never)).toBe(600);
      // A confirmation for less settles less; without an amount a reversal takes everything back.
      const confirmed = await approved();
      expect((await advice('confirmations', { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId: confirmed, amounts: { approvedAmount: ex.nzd(1000) } })).status).toBe(202);
      expect(settledMinor(sim.payment(confirmed) as never)).toBe(1000);
      const voided = await approved();
      const { amounts: _none, ...full } = ex.paymentReversal();
      expect((await advice('reversals', { ...full, id: crypto.randomUUID(), requestId: voided })).status).toBe(202);
      expect(settledMinor(sim.payment(voided) as never)).toBe(0);
    });

    it('will not reverse a confirmed payment', async () => {
      const requestId = await approved();
      expect((await advice('confirmations', { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId })).status).toBe(202);
      const res = await advice('reversals', { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ errorType: 'ACCOUNT_ALREADY_SETTLED', originalId: requestId });
    });

    it('answers 404 UNABLE_TO_LOCATE_RECORD for advices of unknown payments, the same on repeat', async () => {
      const reversal = { ...ex.paymentReversal(), id: crypto.randomUUID(), requestId: crypto.randomUUID() };
      const first = await advice('reversals', reversal);
      expect(first.status).toBe(404);
      expectElectrum('ErrorDetail', first.body);
      expect(first.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD', originalId: reversal.requestId });
      const again = await advice('reversals', reversal);
      expect([again.status, again.body]).toEqual([404, first.body]);
      const confirmation = await advice('confirmations', { ...ex.paymentConfirmation(), id: crypto.randomUUID(), requestId: crypto.randomUUID() });
      expect(confirmation.status).toBe(404);
    });

    it('records what it received with the answers', () => {
      const received = sim.received();
      expect(received.confirmations.length).toBeGreaterThan(0);
      expect(received.reversals.every((r) => typeof r.time === 'string' && r.status !== null)).toBe(true);
      for (const p of received.payments.filter((p) => p.status === 201)) expect(validateElectrum('PaymentRequest', p.body)).toEqual([]);
    });
  });

  it('serves an accessible wallet page and its payment list', async () => {
    const page = await call(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('<html lang="en">');
    expect(page.text).toContain('<label for="qr">');
    expect(page.text).toContain('aria-live="polite"');
    expect(page.text).not.toMatch(/<script src=|<link /);
    const list = await call<{ payments: Array<{ outcome: string; amount: string }> }>(`${base}/sim/payments`);
    expect(list.body.payments.length).toBeGreaterThan(0);
    expect(list.body.payments.map((p) => p.outcome)).toContain('declined');
    expect(list.body.payments.map((p) => p.amount)).toContain('NZD 20.51');
  });
});

describe('Electrum partner simulator behaviour options', () => {
  const sims: ElectrumPartnerSimulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });

  it('holds cents .52 open until close() and then lets the test end', async () => {
    const sim = createElectrumPartnerSimulator({ expects });
    sims.push(sim);
    const base = await sim.listen(0);
    const pending = fetch(`${base}/qr/v1/payments`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(ex.paymentRequest(1252)) }).then(
      (r) => r.status,
      () => 'closed',
    );
    await eventually(() => sim.stats().held === 1);
    expect(sim.stats()).toMatchObject({ held: 1, payments: 1 });
    await sim.close();
    sims.length = 0;
    expect(await pending).toBe('closed');
  });

  it('can decline payments for tranIds it never scanned', async () => {
    const receiver = await startReceiver();
    const sim = createElectrumPartnerSimulator({ partnerId: ex.partner.id, expects, credentials, intermediateUrl: receiver.url, behaviour: { requireKnownTranId: true, declineCents: [99] } });
    sims.push(sim);
    try {
      const base = await sim.listen(0);
      const payFor = (tranId: string, token?: string) =>
        call(`${base}/qr/v1/payments`, { headers: auth, json: { ...ex.paymentRequest(1251), id: crypto.randomUUID(), tranId, partnerPaymentToken: token } });
      expect((await payFor('never-scanned')).body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
      await sim.scan('scanned-1');
      const token = (receiver.scans.at(-1)?.body as { partnerPaymentToken: string }).partnerPaymentToken;
      expect((await payFor('scanned-1', 'wrong-token')).body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
      // .51 approves here: the decline cents were overridden.
      expect((await payFor('scanned-1', token)).status).toBe(201);
    } finally {
      await receiver.close();
    }
  });

  it('answers after the configured delay', async () => {
    const sim = createElectrumPartnerSimulator({ expects, behaviour: { responseDelayMs: 200 } });
    sims.push(sim);
    const base = await sim.listen(0);
    const started = Date.now();
    const res = await call(`${base}/qr/v1/payments`, { headers: auth, json: ex.paymentRequest(100) });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('needs an intermediate URL and credentials to scan', async () => {
    const sim = createElectrumPartnerSimulator({ expects });
    await expect(sim.scan('t')).rejects.toThrow(/intermediateUrl/);
  });
});
