import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { electrumPos, paymentIdOf as heldPaymentId, untilPayWaits } from '../support/electrum-pos.js';
import { CALLBACK_KEY, ELECTRUM, eventually, startHarness, TILL_3_KEY, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { paymentHeldAtPartner } from './slow-partner.js';

// Where the two providers meet the core: every cancel and refund goes to the payment's own
// provider, and what the terminal, tenderbridge and the upstream hold agree afterwards.

let h: Harness;
let pos: ReturnType<typeof electrumPos>;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 4, partnerTimeoutSeconds: 2 } });
  pos = electrumPos(h);
});
afterAll(async () => {
  await h.stop();
});

const partnerA = () => h.partners?.a as NonNullable<Harness['partners']>['a'];
type Json = PaymentJson & Record<string, unknown>;

const paymentIdOf = (requestId: string) => heldPaymentId(h, requestId);
const v1 = (path: string, init: { json?: unknown; headers?: Record<string, string> } = {}) => call<Json>(`${h.url}/v1${path}`, { headers: { ...h.auth(1), ...init.headers }, ...(init.json === undefined ? {} : { json: init.json }) });
const sim = () => h.sim.stats().calls;

async function createPartPay(amountMinor: number): Promise<Json> {
  const res = await v1('/payments', { json: { amountMinor, currency: 'NZD', merchantReference: `SEAM-${amountMinor}-${Date.now()}` } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function approvedElectrum(amountMinor = 1000) {
  const code = (await pos.createQrCode(pos.qrRequest(amountMinor))).body;
  const request = pos.payRequest(code.tranId, amountMinor);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  expect((await partnerA().scan(code.qrCode)).status).toBe(202);
  expect((await paying).status).toBe(201);
  return { code, request, paymentId: await paymentIdOf(request.id) };
}

describe('/v1 cancel and refund of an Electrum payment go to the partner, never to PartPay', () => {
  it('cancelling a payment that waits for its scan ends the held pay and refuses the scan', async () => {
    const before = sim();
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId, 1000);
    const paying = pos.pay(request);
    await untilPayWaits(h, request.id);
    const cancelled = await v1(`/payments/${await paymentIdOf(request.id)}/cancel`, { json: {} });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', paid: false, partpay: null });
    const answer = await paying;
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(/cancel/i);
    // ended by the cancel, not by the scan wait running out
    expect(answer.body).not.toMatchObject({ errorType: 'NO_SCAN_RECEIVED' });
    expect((await partnerA().scan(code.qrCode)).status).toBe(400);
    expect(partnerA().payment(request.id)).toBeUndefined();
    expect(sim()).toEqual(before);
  });

  it('cancelling a forwarded payment owes the partner a reversal, sent once the partner has answered', async () => {
    const { h: slow, partner, request, paying, paymentId: id } = await paymentHeldAtPartner();
    try {
      const cancelled = await call<Json>(`${slow.url}/v1/payments/${id}/cancel`, { headers: slow.auth(1), json: {} });
      expect(cancelled.status, cancelled.text).toBe(200);
      expect(cancelled.body.paid).toBe(false);
      // The POS is not told "paid" for a payment its terminal cancelled.
      expect((await paying).status).not.toBe(201);
      await eventually(async () => {
        await slow.daemon.deliverer.run();
        return partner.payment(request.id)?.state === 'reversed';
      });
      expect(settledMinor(partner.payment(request.id) as never)).toBe(0);
      expect(slow.sim.stats().calls).toEqual({});
      expect(await slow.daemon.store.repos.outbox.list('dead')).toEqual([]);
    } finally {
      await slow.stop();
    }
  });

  it('refuses a refund of a confirmed Electrum payment with 409: the interface has no refund', async () => {
    const { request, paymentId } = await approvedElectrum(1000);
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(202);
    const before = sim();
    const res = await v1(`/payments/${paymentId}/refunds`, { json: {} });
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.body)).toMatch(/Electrum/);
    expect(JSON.stringify(res.body)).toMatch(/no refund/i);
    expect(sim()).toEqual(before);
    expect(await h.daemon.store.repos.payments.refundsOf(paymentId)).toEqual([]);
  });

  it('refunds an approved, unconfirmed Electrum payment as a reversal to the partner for the final amount', async () => {
    const { request, paymentId } = await approvedElectrum(1000);
    const before = sim();
    const res = await v1(`/payments/${paymentId}/refunds`, { json: { amountMinor: 300 } });
    expect([201, 202]).toContain(res.status);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return partnerA().payment(request.id)?.state === 'reversed';
    });
    const reversal = partnerA()
      .received()
      .reversals.map((m) => m.body as { requestId: string; amounts?: { approvedAmount?: { amount: number } } })
      .find((b) => b.requestId === request.id);
    expect(reversal?.amounts?.approvedAmount?.amount).toBe(700);
    expect(settledMinor(partnerA().payment(request.id) as never)).toBe(700);
    await eventually(async () => (await v1(`/payments/${paymentId}`)).body.refundedMinor === 300);
    expect(sim()).toEqual(before);
    // the POS can no longer confirm what the terminal reversed
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(400);
  });

  it('shows no partpay block for an Electrum payment', async () => {
    const { paymentId } = await approvedElectrum(1000);
    const res = await v1(`/payments/${paymentId}`);
    expect(res.body.partpay).toBeNull();
    expect(res.body).toMatchObject({ provider: 'electrum', electrum: { partnerId: ELECTRUM.partnerA.id } });
  });
});

describe('a PartPay-signed callback acts only on PartPay payments', () => {
  it('journals a callback naming an Electrum payment as an orphan and changes nothing', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId, 1000);
    const paying = pos.pay(request);
    await untilPayWaits(h, request.id);
    const paymentId = await paymentIdOf(request.id);
    const body = buildSignedCallbackBody(
      [
        ['orderId', '0f4a6c1e-9a55-4bd3-8c7e-000000000001'],
        ['orderNumber', '1'],
        ['orderStatus', 'approved'],
        ['gatewayReference', paymentId],
        ['merchantReference', 'R'],
      ],
      CALLBACK_KEY,
    );
    const res = await call(`${h.url}/partpay/callback`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect(res.status).toBe(200);
    expect((await v1(`/payments/${paymentId}`)).body).toMatchObject({ state: 'created', paid: false });
    await v1(`/payments/${paymentId}/cancel`, { json: {} });
    await paying;
  });
});

describe('late approvals stay resolved', () => {
  it('does not flag again a late approval that was refunded when PartPay repeats its approved callback', async () => {
    const p = await createPartPay(1300);
    await h.sql("UPDATE payments SET state = 'cancelled', version = version + 1, final_at = ? WHERE id = ?", Date.now(), p.id);
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      const now = (await v1(`/payments/${p.id}`)).body;
      return now.refundedMinor === 1300 && now.attention === null;
    });
    const body = buildSignedCallbackBody(
      [
        ['orderId', p.partpay?.orderId ?? ''],
        ['orderNumber', p.partpay?.orderNumber ?? ''],
        ['orderStatus', 'approved'],
        ['gatewayReference', p.id],
        ['merchantReference', p.merchantReference as string],
      ],
      CALLBACK_KEY,
    );
    expect((await call(`${h.url}/partpay/callback`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })).status).toBe(200);
    await h.daemon.deliverer.run();
    const after = (await v1(`/payments/${p.id}`)).body;
    expect(after).toMatchObject({ attention: null, refundedMinor: 1300 });
    expect(await h.daemon.store.repos.payments.refundsOf(p.id)).toHaveLength(1);
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.refunds).toHaveLength(1);
  });
});

describe("PartPay's refund answer is read", () => {
  it.each([
    ['declined', 'failed'],
    ['pending', 'pending'],
  ] as const)('does not count a 2xx refund answer that says %s as refunded', async (mode, refundState) => {
    const p = await createPartPay(900);
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await v1(`/payments/${p.id}`)).body.state === 'approved');
    h.sim.setRefundMode(mode);
    try {
      const res = await v1(`/payments/${p.id}/refunds`, { json: {} });
      expect(res.body).toMatchObject({ refund: { state: refundState }, payment: { refundedMinor: 0, state: 'approved' } });
    } finally {
      h.sim.setRefundMode('succeeded');
    }
    if (mode === 'pending') {
      // PartPay finishes it; the outbox asks again with the same reference and learns it.
      h.sim.settlePendingRefunds();
      h.advanceClock(120_000);
      await eventually(async () => {
        await h.daemon.deliverer.run();
        return (await v1(`/payments/${p.id}`)).body.refundedMinor === 900;
      });
      expect(h.sim.getOrder(p.partpay?.orderId as string)?.refunds.map((r) => r.amountCents)).toEqual([900]);
    }
  });
});

describe('Electrum pay checks the terminal', () => {
  it("refuses a pay whose originator.terminalId is not the QR code's terminal, and the code stays usable", async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const code = (await pp.createQrCode(pp.qrRequest(1100))).body;
    const other = { ...pp.payRequest(code.tranId, 1100), originator: { ...pp.originator, terminalId: ELECTRUM.posPartPay.otherTerminal } };
    const wrong = await pp.pay(other);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
    // the right till can still pay it
    const request = pp.payRequest(code.tranId, 1100);
    const paying = pp.pay(request);
    await untilPayWaits(h, request.id);
    await h.sim.approve(code.qrCode.split('/').pop() as string);
    expect((await paying).status).toBe(201);
    // and the other till never saw it
    const res = await call(`${h.url}/v1/payments/${await paymentIdOf(request.id)}`, { headers: { Authorization: `Bearer ${TILL_3_KEY}` } });
    expect(res.status).toBe(404);
  });

  it('answers a retried PartPay createQrCode with DUPLICATE_RECORD, as the spec requires, and makes one PartPay order', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const before = h.sim.stats().ordersCreated;
    const request = pp.qrRequest(1250);
    const [a, b] = await Promise.all([pp.createQrCode(request), pp.createQrCode(request)]);
    expect([a.status, b.status].sort()).toEqual([201, 400]);
    expect([a.body, b.body].find((x) => "errorType" in (x as object))).toMatchObject({ errorType: 'DUPLICATE_RECORD' });
    const again = await pp.createQrCode(request);
    expect(again.body).toMatchObject({ errorType: 'DUPLICATE_RECORD' });
    expect(h.sim.stats().ordersCreated - before).toBe(1);
  });
});
