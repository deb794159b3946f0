import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electrumPos } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';

// Issue 17 item 4: an Electrum `rrn` was not validated at all, became the payment's merchant
// reference and carried its escape sequences to an operator's terminal (`tenderbridge payments
// list`). Free text from terminals and POS clients is printable characters only, refused with a
// 400 that names the field.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: {} });
});
afterAll(async () => {
  await h.stop();
});

type Detail = { errorType: string; errorMessage: string; detailMessage: { field: string; issues: Array<{ path: string; message: string }> } };
const CLEAR_SCREEN = '\u001b[2J\u001b[1;1H';

describe('Electrum POS free text', () => {
  it.each([
    ['rrn', { rrn: `R${CLEAR_SCREEN}OK` }, 'rrn'],
    ['a C1 control in the stan', { stan: 'S\u009b31m' }, 'stan'],
    ['a bidi override in the basketRef', { basketRef: 'basket\u202eexe.txt' }, 'basketRef'],
    ['a bell in a third-party identifier', { thirdPartyIdentifiers: [{ institutionId: '4021', transactionIdentifier: 'till\u0007' }] }, 'thirdPartyIdentifiers[0].transactionIdentifier'],
  ])('refuses a pay with %s as FORMAT_ERROR naming the field, and stores nothing', async (_what, extra, field) => {
    const pos = electrumPos(h);
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const [before] = await h.sql<{ n: number }>('SELECT count(*) AS n FROM payments');
    const res = await pos.pay({ ...pos.payRequest(code.tranId), ...extra });
    expect(res.status).toBe(400);
    const body = res.body as unknown as Detail;
    // ErrorDetail.errorMessage holds 40 characters: the whole path is in detailMessage.field
    expect(body).toMatchObject({ errorType: 'FORMAT_ERROR', detailMessage: { field } });
    expect(`Invalid ${field}`.startsWith(body.errorMessage.replace(/…$/, ''))).toBe(true);
    expect(body.detailMessage.issues[0]).toMatchObject({ path: field, message: expect.stringMatching(/printable/) });
    expect(await h.sql('SELECT count(*) AS n FROM payments')).toEqual([before]);
  });

  it('refuses a createQrCode whose rrn (the PartPay merchant reference) has a control character', async () => {
    const pos = electrumPos(h, ELECTRUM.posPartPay);
    const res = await pos.createQrCode({ ...pos.qrRequest(1000), rrn: `A\rB` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'FORMAT_ERROR', errorMessage: 'Invalid rrn' });
  });

  it('keeps printable text, accents included, as the merchant reference', async () => {
    const pos = electrumPos(h);
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = { ...pos.payRequest(code.tranId), rrn: 'Café 12 #7' };
    const paying = pos.pay(request);
    await eventually(async () => (await h.sql('SELECT 1 FROM electrum_payments WHERE request_id = ?', request.id)).length > 0);
    const rows = await h.sql('SELECT p.merchant_reference AS ref FROM payments p JOIN electrum_payments e ON e.payment_id = p.id WHERE e.request_id = ?', request.id);
    expect(rows).toEqual([{ ref: 'Café 12 #7' }]);
    await pos.reverse(pos.reversal(request.id));
    await paying;
  });
});

describe('terminal free text (/v1)', () => {
  it('refuses a merchantReference or a refund reason with control characters, naming the field', async () => {
    const bad = await call<ErrorJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: `X${CLEAR_SCREEN}` } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('merchantReference');
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'FT-1' } })).body;
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body.state === 'approved');
    const refund = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: { reason: `customer\u001b]0;pwned\u0007 changed mind` } });
    expect(refund.status).toBe(400);
    expect(refund.body.error.code).toBe('invalid_request');
    expect(refund.text).toMatch(/reason/);
    expect(refund.text).toMatch(/printable/);
    const fine = await call(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: { reason: 'customer changed mind — ça arrive' } });
    expect(fine.status, fine.text).toBeLessThan(300);
  });
});
