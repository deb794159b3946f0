import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tranIdFromQr } from '../../src/electrum/emv-qr.js';
import { settledMinor, type PartnerPayment } from '../../src/simulator/electrum-partner/partner-ledger.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';
import { validateElectrum } from '../support/swagger.js';

// Each published sequence diagram (shared/reference/electrum-qr/diagrams) as a test, with
// the POS, tenderbridge (the intermediate) and the partner as real HTTP parties.

let h: Harness;
let pos: ReturnType<typeof electrumPos>;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 2, partnerTimeoutSeconds: 1 } });
  pos = electrumPos(h);
});
afterAll(async () => {
  await h.stop();
});

const partnerA = () => h.partners?.a as NonNullable<Harness['partners']>['a'];

async function newCode(amountMinor: number | null = 1000, extra: Record<string, unknown> = {}) {
  const res = await pos.createQrCode(pos.qrRequest(amountMinor, extra));
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** Starts a held-open pay, then lets the partner scan once the pay is waiting. */
async function payWithScan(amountMinor = 1000, scanner = partnerA()) {
  const code = await newCode(amountMinor);
  const request = pos.payRequest(code.tranId, amountMinor);
  const paying = pos.pay(request);
  await untilPayWaits(h, request.id);
  const scan = await scanner.scan(code.qrCode);
  return { code, request, scan, answer: await paying };
}

async function paymentState(requestId: string): Promise<string | undefined> {
  const [row] = await h.sql<{ state: string }>('SELECT p.state FROM electrum_payments e JOIN payments p ON p.id = e.payment_id WHERE e.request_id = ?', requestId);
  return row?.state;
}

describe('r2 retailer get QR code flow', () => {
  it('issues a tranId and EMV-style QR text carrying our provider id and the tranId', async () => {
    const code = await newCode(1500);
    expect(code.tranId).toMatch(/^[0-9a-f]{32}$/);
    expect(code.qrCode.startsWith('000201')).toBe(true);
    expect(tranIdFromQr(code.qrCode)).toBe(code.tranId);
    expect(code.qrCode).toContain(ELECTRUM.providerId);
  });
});

describe('full flow / r1 retailer payment / p1 partner payment / p3 scan notification', () => {
  it('holds pay open, matches the scan by tranId, forwards to that partner with its token, answers with the partner response, then relays the confirmation', async () => {
    const { code, request, scan, answer } = await payWithScan(1234);
    expect(scan.status).toBe(202);
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ id: request.id, tranId: code.tranId, partner: { id: ELECTRUM.partnerA.id } });
    // the partner received the forwarded PaymentRequest with its own payment token, for the amount the POS asked
    const received = partnerA().received().payments.filter((m) => (m.body as { id: string }).id === request.id);
    expect(received).toHaveLength(1);
    const forwarded = received[0]?.body as Record<string, unknown>;
    expect(forwarded).toMatchObject({ tranId: code.tranId, partner: { id: ELECTRUM.partnerA.id }, amounts: { requestAmount: request.amounts.requestAmount } });
    expect(typeof forwarded['partnerPaymentToken']).toBe('string');
    expect(validateElectrum('PaymentRequest', forwarded)).toEqual([]);
    expect(partnerA().payment(request.id)).toMatchObject({ amountMinor: 1234, currency: '554', state: 'approved', approvedMinor: 1234 });
    // what the POS was told is what the partner answered (its own transaction id included), not a copy we made up
    expect(received[0]?.status).toBe(201);
    expect(answer.body).toEqual(received[0]?.answer);
    expect(await paymentState(request.id)).toBe('approved');

    const confirmation = pos.confirmation(request.id);
    const confirmed = await pos.confirm(confirmation);
    expect(confirmed.status).toBe(202);
    expect(confirmed.body).toMatchObject({ id: confirmation.id, requestId: request.id });
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return partnerA().received().confirmations.some((m) => (m.body as { requestId: string }).requestId === request.id);
    });
    const relayed = partnerA().received().confirmations.find((m) => (m.body as { requestId: string }).requestId === request.id)?.body;
    expect(validateElectrum('PaymentConfirmation', relayed)).toEqual([]);
    expect(partnerA().payment(request.id)).toMatchObject({ state: 'confirmed', approvedMinor: 1234 });
    expect(settledMinor(partnerA().payment(request.id) as PartnerPayment)).toBe(1234);
  });

  it('routes each payment to the partner whose customer scanned', async () => {
    const { request, answer } = await payWithScan(1000, h.partners?.b);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ partner: { id: ELECTRUM.partnerB.id } });
    expect(h.partners?.b.received().payments.some((m) => (m.body as { id: string }).id === request.id)).toBe(true);
    expect(partnerA().received().payments.some((m) => (m.body as { id: string }).id === request.id)).toBe(false);
  });
});

describe('p4 partner declined scan / s3 scan before the payment request', () => {
  it('declines a scan when no payment is waiting for the code, and the later pay times out with NO_SCAN_RECEIVED', async () => {
    const code = await newCode();
    const early = await partnerA().scan(code.qrCode);
    expect(early.status).toBe(400);
    expect(validateElectrum('ErrorDetail', early.body)).toEqual([]);
    expect(early.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD' });
    const answer = await pos.pay(pos.payRequest(code.tranId));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorType: 'NO_SCAN_RECEIVED', tranId: code.tranId });
  });

  it('declines a scan of an unknown tranId', async () => {
    const res = await partnerA().scan('0123456789abcdef0123456789abcdef');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
  });
});

describe('s1 no scan notification', () => {
  it('answers pay with NO_SCAN_RECEIVED when no partner reports a scan in time; no reversal is needed', async () => {
    const code = await newCode();
    const request = pos.payRequest(code.tranId);
    const answer = await pos.pay(request);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorType: 'NO_SCAN_RECEIVED', originalId: request.id });
    expect(await paymentState(request.id)).toBe('expired');
    expect((await h.daemon.store.repos.outbox.list('pending')).filter((o) => o.kind === 'electrum.reversal' && o.payload['requestId'] === request.id)).toEqual([]);
  });
});

describe('s2 late scan notification', () => {
  it('declines a scan that arrives after the pay gave up', async () => {
    const code = await newCode();
    const answer = await pos.pay(pos.payRequest(code.tranId));
    expect(answer.body).toMatchObject({ errorType: 'NO_SCAN_RECEIVED' });
    const late = await partnerA().scan(code.qrCode);
    expect(late.status).toBe(400);
    expect(late.body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
  });

  it('declines a second scan of a code already used', async () => {
    const { code } = await payWithScan(1000);
    const again = await partnerA().scan(code.qrCode);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
  });
});

describe('p2 partner timeout reversal / r3 retailer timeout reversal', () => {
  it('answers 504 when the partner does not answer, and sends the partner a TIMEOUT reversal itself', async () => {
    const { request, answer } = await payWithScan(1052); // the simulator never answers cents 52
    expect(answer.status).toBe(504);
    expect(answer.body).toMatchObject({ errorType: 'UPSTREAM_UNAVAILABLE' });
    expect(await paymentState(request.id)).toBe('failed');
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return partnerA().received().reversals.some((m) => (m.body as { requestId: string }).requestId === request.id);
    });
    const reversal = partnerA().received().reversals.find((m) => (m.body as { requestId: string }).requestId === request.id)?.body;
    expect(reversal).toMatchObject({ reversalReason: 'TIMEOUT', tranId: expect.any(String) });
    expect(validateElectrum('PaymentReversal', reversal)).toEqual([]);
    // r3: the POS got no good answer and reverses too; accepted, and the partner is not sent a second one
    const posReversal = await pos.reverse(pos.reversal(request.id, 'TIMEOUT'));
    expect(posReversal.status).toBe(202);
    await h.daemon.deliverer.run();
    expect(partnerA().received().reversals.filter((m) => (m.body as { requestId: string }).requestId === request.id)).toHaveLength(1);
  });

  it('answers a partner decline with its ErrorDetail (DECLINED_BY_PARTNER)', async () => {
    const { request, answer } = await payWithScan(1051);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errorType: 'DECLINED_BY_PARTNER' });
    expect(await paymentState(request.id)).toBe('declined');
  });
});

describe('s4 timeout reversal: the payment request never reached the intermediate', () => {
  it('answers the POS reversal of an unknown request with 404 (nothing to reverse)', async () => {
    const res = await pos.reverse(pos.reversal('5b0f3a57-3f3c-4a3a-9d1e-0d5e8d6f7a11', 'TIMEOUT'));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD' });
  });
});

describe('s5 timeout reversal after a successful payment / s6 payment void', () => {
  it.each(['TIMEOUT', 'CANCELLED'] as const)('reverses an approved payment (%s) and relays the reversal to the partner', async (reason) => {
    const { request, answer } = await payWithScan(1000);
    expect(answer.status).toBe(201);
    const reversal = pos.reversal(request.id, reason);
    const res = await pos.reverse(reversal);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: reversal.id, reversalReason: reason });
    expect(await paymentState(request.id)).toBe('reversed');
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return partnerA().received().reversals.some((m) => (m.body as { id: string }).id === reversal.id);
    });
    // the relayed reversal carries the POS's reason, and the partner gave everything back
    const relayed = partnerA().received().reversals.filter((m) => (m.body as { requestId: string }).requestId === request.id);
    expect(relayed.map((m) => [(m.body as { reversalReason: string }).reversalReason, m.status])).toEqual([[reason, 202]]);
    expect(partnerA().payment(request.id)).toMatchObject({ state: 'reversed', approvedMinor: 1000 });
    expect(settledMinor(partnerA().payment(request.id) as PartnerPayment)).toBe(0);
    // once reversed it cannot be confirmed
    const confirm = await pos.confirm(pos.confirmation(request.id));
    expect(confirm.status).toBe(400);
    expect(confirm.body).toMatchObject({ errorType: 'GENERAL_ERROR' });
  });

  it('refuses to reverse a confirmed payment', async () => {
    const { request } = await payWithScan(1000);
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(202);
    const res = await pos.reverse(pos.reversal(request.id));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'ACCOUNT_ALREADY_SETTLED' });
  });
});

describe('health of the demo wiring', () => {
  it('serves the partner simulator over real HTTP', async () => {
    expect((await call(`${partnerA().url()}/`)).status).toBe(200);
  });
});
