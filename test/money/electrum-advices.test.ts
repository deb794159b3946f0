import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settledMinor } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { electrumPos, paymentIdOf, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { paymentHeldAtPartner } from './slow-partner.js';

// Electrum advices carry the transaction's *final* amount (swagger: PaymentConfirmation.amounts,
// PaymentReversal.amounts). Every test here compares three parties: what the POS was told,
// what tenderbridge holds, and what the partner (or PartPay) holds.

let h: Harness;
let pos: ReturnType<typeof electrumPos>;
let pp: ReturnType<typeof electrumPos>;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 3, partnerTimeoutSeconds: 2 } });
  pos = electrumPos(h);
  pp = electrumPos(h, ELECTRUM.posPartPay);
});
afterAll(async () => {
  await h.stop();
});

const partnerA = () => h.partners?.a as NonNullable<Harness['partners']>['a'];
const nzd = (amount: number) => ({ amount, currency: '554' });

/** The tenderbridge payment behind an Electrum request id, as /v1 shows it to the terminal that owns it. */
async function paymentOf(requestId: string, auth = h.auth(1)): Promise<PaymentJson & Record<string, unknown>> {
  const res = await call<PaymentJson & Record<string, unknown>>(`${h.url}/v1/payments/${await paymentIdOf(h, requestId)}`, { headers: auth });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function approvedElectrumPayment(amountMinor = 1000) {
  const code = (await pos.createQrCode(pos.qrRequest(amountMinor))).body;
  const request = pos.payRequest(code.tranId, amountMinor);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  expect((await partnerA().scan(code.qrCode)).status).toBe(202);
  const answer = await paying;
  return { request, answer };
}

async function approvedPartPayBridgePayment(amountMinor: number) {
  const code = (await pp.createQrCode(pp.qrRequest(amountMinor))).body;
  const orderId = code.qrCode.split('/').pop() as string;
  const request = pp.payRequest(code.tranId, amountMinor);
  const paying = pp.pay(request);
  await untilPayWaits(h, request.id);
  await h.sim.approve(orderId);
  expect((await paying).status).toBe(201);
  return { request, orderId };
}

async function deliverUntil(check: () => boolean | Promise<boolean>) {
  await eventually(async () => {
    await h.daemon.deliverer.run();
    return check();
  });
}

const received = (kind: 'confirmations' | 'reversals', requestId: string) => {
  const messages = partnerA().received()[kind];
  return messages.map((m) => m.body as { requestId: string; amounts?: { approvedAmount?: { amount: number } } }).filter((b) => b.requestId === requestId);
};

describe('partial advices reach the partner as the final amount', () => {
  it('forwards a confirmation for 600 of 1000 as 600 and settles 600 here', async () => {
    const { request, answer } = await approvedElectrumPayment(1000);
    expect(answer.status).toBe(201);
    const res = await pos.confirm({ ...pos.confirmation(request.id), amounts: { approvedAmount: nzd(600) } });
    expect(res.status).toBe(202);
    await deliverUntil(() => received('confirmations', request.id).length === 1);
    expect(received('confirmations', request.id)[0]?.amounts?.approvedAmount?.amount).toBe(600);
    const partner = partnerA().payment(request.id);
    expect(partner && settledMinor(partner)).toBe(600);
    await eventually(async () => (await paymentOf(request.id)).refundedMinor === 400);
    expect(await paymentOf(request.id)).toMatchObject({ amountMinor: 1000, refundedMinor: 400, paid: true });
  });

  it('forwards a reversal to a final amount of 600 as 600 and leaves 600 settled here, not reversed in full', async () => {
    const { request } = await approvedElectrumPayment(1000);
    const res = await pos.reverse({ ...pos.reversal(request.id, 'CANCELLED'), amounts: { approvedAmount: nzd(600) } });
    expect(res.status).toBe(202);
    await deliverUntil(() => received('reversals', request.id).length === 1);
    expect(received('reversals', request.id)[0]?.amounts?.approvedAmount?.amount).toBe(600);
    const partner = partnerA().payment(request.id);
    expect(partner && settledMinor(partner)).toBe(600);
    await eventually(async () => (await paymentOf(request.id)).refundedMinor === 400);
    const now = await paymentOf(request.id);
    expect(now.state).not.toBe('reversed');
    expect(now).toMatchObject({ paid: true, refundedMinor: 400 });
  });

  it.each(['confirm', 'reverse'] as const)('refuses to %s with an approvedAmount above the authorised amount (400 INVALID_AMOUNT), changing nothing', async (advice) => {
    const { request } = await approvedElectrumPayment(1000);
    const res =
      advice === 'confirm'
        ? await pos.confirm({ ...pos.confirmation(request.id), amounts: { approvedAmount: nzd(1200) } })
        : await pos.reverse({ ...pos.reversal(request.id), amounts: { approvedAmount: nzd(1200) } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'INVALID_AMOUNT' });
    expect(await paymentOf(request.id)).toMatchObject({ state: 'approved', refundedMinor: 0 });
    // the refused advice is not an advice: a proper one is still accepted
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(202);
  });

  it('refunds only the difference at PartPay when a PartPay payment is reversed to a final amount', async () => {
    const { request, orderId } = await approvedPartPayBridgePayment(1800);
    expect((await pp.reverse({ ...pp.reversal(request.id, 'CANCELLED'), amounts: { approvedAmount: nzd(1000) } })).status).toBe(202);
    await deliverUntil(() => (h.sim.getOrder(orderId)?.refunds.length ?? 0) > 0);
    expect(h.sim.getOrder(orderId)?.refunds.map((r) => r.amountCents)).toEqual([800]);
    await eventually(async () => (await paymentOf(request.id, h.auth(2))).refundedMinor === 800);
    expect(await paymentOf(request.id, h.auth(2))).toMatchObject({ state: 'partially_refunded', paid: true });
  });

  it('refunds the difference at PartPay when a PartPay payment is confirmed for less', async () => {
    const { request, orderId } = await approvedPartPayBridgePayment(1500);
    expect((await pp.confirm({ ...pp.confirmation(request.id), amounts: { approvedAmount: nzd(1200) } })).status).toBe(202);
    await deliverUntil(() => (h.sim.getOrder(orderId)?.refunds.length ?? 0) > 0);
    expect(h.sim.getOrder(orderId)?.refunds.map((r) => r.amountCents)).toEqual([300]);
    await eventually(async () => (await paymentOf(request.id, h.auth(2))).refundedMinor === 300);
  });
});

describe('advices are resent until the partner gives a final answer', () => {
  it.each(['confirm', 'reverse'] as const)('keeps a %s owed while the partner answers 503 (busy), and delivers it once it answers', async (kind) => {
    const { request } = await approvedElectrumPayment(1000);
    partnerA().setFaults({ busy: 1 });
    try {
      const res = kind === 'confirm' ? await pos.confirm(pos.confirmation(request.id)) : await pos.reverse(pos.reversal(request.id));
      expect(res.status).toBe(202);
      await eventually(() => partnerA().faults().injected[`${kind === 'confirm' ? 'confirmations' : 'reversals'}.busy`] !== undefined);
      h.advanceClock(5_000);
      await h.daemon.deliverer.run();
      const id = await paymentIdOf(h, request.id);
      expect((await h.daemon.store.repos.outbox.ofPayment(id)).map((o) => o.state)).toEqual(['pending']);
    } finally {
      partnerA().setFaults({});
    }
    await deliverUntil(() => {
      const held = partnerA().payment(request.id);
      return held?.state === (kind === 'confirm' ? 'confirmed' : 'reversed');
    });
  });
});

describe("the partner's answer is checked against the request", () => {
  it('records a partial approval as partial: what the partner approved is what can be settled', async () => {
    // The partner simulator approves half of amounts ending in .53.
    const { request, answer } = await approvedElectrumPayment(2053);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ amounts: { approvedAmount: { amount: 1026 } } });
    const payment = await paymentOf(request.id);
    expect(payment).toMatchObject({ state: 'approved', approvedMinor: 1026, settledMinor: 1026 });
    // a full confirmation settles the approved amount, at the partner and here
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(202);
    await deliverUntil(() => partnerA().payment(request.id)?.state === 'confirmed');
    expect(settledMinor(partnerA().payment(request.id) as never)).toBe(1026);
    expect((await paymentOf(request.id)).settledMinor).toBe(1026);
  });
});

describe('a reversal that races the forwarded pay', () => {
  it('reaches the partner after its answer, so the partner does not keep an approval the POS reversed', async () => {
    const { h: slow, pos: slowPos, partner, request, paying, paymentId } = await paymentHeldAtPartner();
    try {
      // the partner has the pay but has not answered; the POS gives up and reverses
      expect((await slowPos.reverse(slowPos.reversal(request.id, 'CANCELLED'))).status).toBe(202);
      await slow.daemon.deliverer.run();
      const answer = await paying;
      expect(answer.status).not.toBe(201);
      await eventually(async () => {
        await slow.daemon.deliverer.run();
        return partner.payment(request.id)?.state === 'reversed';
      });
      // nothing is left owed for the payment, so nothing more will reach the partner
      await eventually(async () => {
        await slow.daemon.deliverer.run();
        return (await slow.daemon.store.repos.outbox.ofPayment(paymentId)).every((o) => o.state === 'done');
      });
      await slow.daemon.deliverer.run();
      expect(partner.payment(request.id)?.state).toBe('reversed');
      expect(settledMinor(partner.payment(request.id) as never)).toBe(0);
    } finally {
      await slow.stop();
    }
  });
});
