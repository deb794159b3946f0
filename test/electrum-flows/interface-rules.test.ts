import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { parseTlv, tranIdFromQr, verifyCrc } from '../../src/electrum/emv-qr.js';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { ELECTRUM, eventually, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';
import { validateElectrum } from '../support/swagger.js';

let h: Harness;
let pos: ReturnType<typeof electrumPos>;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 2, partnerTimeoutSeconds: 1 } });
  pos = electrumPos(h);
});
afterAll(async () => {
  await h.stop();
});

const count = async (table: string) => ((await h.sql<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0] as { n: number }).n;
const counts = async () => ({ payments: await count('payments'), qr: await count('electrum_qr_codes'), messages: await count('electrum_messages'), outbox: await count('outbox') });

describe('QR schemes and expiry', () => {
  it('makes a fully EMVCo-conformant payload for EMVCO_MERCHANT, with amount, currency and a valid CRC', async () => {
    const res = await pos.createQrCode(pos.qrRequest(1234, { scheme: 'EMVCO_MERCHANT' }));
    expect(res.status).toBe(201);
    const tags = Object.fromEntries(parseTlv(res.body.qrCode).map((f) => [f.tag, f.value]));
    expect(tags).toMatchObject({ '00': '01', '01': '12', '52': '5411', '53': '554', '54': '12.34', '58': 'NZ', '59': 'Test Grocers', '60': 'Auckland' });
    expect(verifyCrc(res.body.qrCode)).toBe(true);
    expect(tranIdFromQr(res.body.qrCode)).toBe(res.body.tranId);
    expect(res.body).toMatchObject({ qrProperties: { scheme: 'EMVCO_MERCHANT' } });
  });

  it.each(['PSEUDO_EMVCO_MERCHANT', 'ELECTRUM_MERCHANT_MINIMAL'] as const)('makes the spec-example style payload for %s', async (scheme) => {
    const res = await pos.createQrCode(pos.qrRequest(null, { scheme }));
    const fields = parseTlv(res.body.qrCode);
    expect(fields.map((f) => f.tag)).toEqual(['00', '26']);
    expect(res.body.qrCode).toBe(`00020126${String(8 + ELECTRUM.providerId.length + 32).padStart(2, '0')}00${String(ELECTRUM.providerId.length).padStart(2, '0')}${ELECTRUM.providerId}0132${res.body.tranId}`);
  });

  it('honours qrProperties.expiryDate and refuses one in the past', async () => {
    const expiry = new Date(Date.now() + 60_000).toISOString();
    const res = await pos.createQrCode(pos.qrRequest(1000, { expiryDate: expiry }));
    expect(res.body).toMatchObject({ qrProperties: { expiryDate: expiry } });
    const past = await pos.createQrCode(pos.qrRequest(1000, { expiryDate: '2020-01-01T00:00:00.000Z' }));
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ errorType: 'FORMAT_ERROR' });
  });

  it('answers with RFC 3339 UTC times with milliseconds and no nulls', async () => {
    const res = await pos.createQrCode({ ...pos.qrRequest(1000), rrn: null, customer: null });
    expect(res.status).toBe(201);
    expect(res.body['time' as never]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(res.text).not.toContain('null');
  });
});

describe('identifiers and idempotency', () => {
  it('refuses a reused request id with DUPLICATE_RECORD', async () => {
    const request = pos.qrRequest(1000);
    expect((await pos.createQrCode(request)).status).toBe(201);
    const again = await pos.createQrCode(request);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ errorType: 'DUPLICATE_RECORD', originalId: request.id });
  });

  it('answers a repeated advice with the same id the same way, not as a duplicate', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId);
    const paying = pos.pay(request);
    await untilPayWaits(h, request.id);
    await h.partners?.a.scan(code.qrCode);
    expect((await paying).status).toBe(201);
    const confirmation = pos.confirmation(request.id);
    const first = await pos.confirm(confirmation);
    const second = await pos.confirm(confirmation);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body).toEqual(first.body);
    await h.daemon.deliverer.run();
    const relayed = h.partners?.a.received().confirmations.filter((m) => (m.body as { requestId: string }).requestId === request.id) ?? [];
    expect(relayed).toHaveLength(1);
  });

  it('answers 404 UNABLE_TO_LOCATE_RECORD to a confirmation of an unknown payment', async () => {
    const res = await pos.confirm(pos.confirmation(randomUUID()));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ errorType: 'UNABLE_TO_LOCATE_RECORD' });
  });

  it('refuses to confirm a payment that was not approved (advices out of order with the outcome)', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId);
    expect((await pos.pay(request)).body).toMatchObject({ errorType: 'NO_SCAN_RECEIVED' });
    const res = await pos.confirm(pos.confirmation(request.id));
    expect(res.status).toBe(400);
    // and a reversal of it is accepted: nothing to reverse, answered 202
    expect((await pos.reverse(pos.reversal(request.id))).status).toBe(202);
  });

  it('ends a waiting pay when the POS reverses it before any scan', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId);
    const paying = pos.pay(request);
    await untilPayWaits(h, request.id);
    expect((await pos.reverse(pos.reversal(request.id, 'CANCELLED'))).status).toBe(202);
    const answer = await paying;
    expect(answer.status).toBe(400);
    const late = await h.partners?.a.scan(code.qrCode);
    expect(late?.status).toBe(400);
    expect(h.partners?.a.received().payments.some((m) => (m.body as { id: string }).id === request.id)).toBe(false);
  });
});

describe('authentication: each caller acts only as itself', () => {
  it.each([
    ['no credentials', {}],
    ['a wrong password', { Authorization: basicAuthHeader(ELECTRUM.pos.id, 'wrong') }],
    ['an unknown user', { Authorization: basicAuthHeader('nobody', ELECTRUM.pos.password) }],
    ['a bearer token', { Authorization: 'Bearer something' }],
  ])('answers 401 with an ErrorDetail and WWW-Authenticate for %s', async (_what, headers) => {
    const before = await counts();
    for (const path of ['/qrCodes', '/scans', '/payments', '/payments/confirmations', '/payments/reversals']) {
      const res = await call(`${h.url}/qr/v1${path}`, { headers: headers as Record<string, string>, json: pos.qrRequest(1000) });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(validateElectrum('ErrorDetail', res.body)).toEqual([]);
    }
    expect(await counts()).toEqual(before);
  });

  it('refuses a POS whose client.id is another client', async () => {
    const res = await pos.createQrCode({ ...pos.qrRequest(1000), client: { id: ELECTRUM.posPartPay.id, name: 'x' } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('client.id');
  });

  it('refuses a terminal the POS client does not own', async () => {
    const res = await pos.createQrCode({ ...pos.qrRequest(1000), originator: { ...pos.originator, terminalId: 'TERM0002' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'INVALID_MERCHANT' });
  });

  it('refuses a partner scanning on behalf of another partner', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const res = await call(`${h.url}/qr/v1/scans`, {
      headers: { Authorization: basicAuthHeader(ELECTRUM.partnerB.id, ELECTRUM.partnerB.password) },
      json: { id: randomUUID(), time: new Date().toISOString(), partner: { id: ELECTRUM.partnerA.id, name: 'A' }, tranId: code.tranId },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('partner.id');
  });

  it('refuses POS operations to partners and scans to POS clients', async () => {
    const partnerAuth = { Authorization: basicAuthHeader(ELECTRUM.partnerA.id, ELECTRUM.partnerA.password) };
    expect((await pos.post('/qrCodes', pos.qrRequest(1000), null, partnerAuth)).status).toBe(403);
    expect((await pos.post('/scans', { id: randomUUID(), time: new Date().toISOString(), partner: { id: 'x', name: 'x' }, tranId: 'x' }, null)).status).toBe(403);
  });
});

describe('malformed requests get FORMAT_ERROR naming the field and change nothing', () => {
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['a missing required field', () => ({ ...pos.qrRequest(1000), originator: undefined }), /originator/],
    ['a wrong type', () => ({ ...pos.qrRequest(1000), time: 12345 }), /time/],
    ['a terminal id that is not 8 characters', () => ({ ...pos.qrRequest(1000), originator: { ...pos.originator, terminalId: 'TERM1' } }), /originator\.terminalId/],
    ['an over-long institution name', () => ({ ...pos.qrRequest(1000), client: { id: ELECTRUM.pos.id, name: 'x'.repeat(41) } }), /client\.name/],
    ['a currency that is not 3 digits', () => ({ ...pos.qrRequest(null), qrProperties: { value: { amount: 100, currency: 'NZD' } } }), /currency/],
    ['a decimal amount', () => ({ ...pos.qrRequest(null), qrProperties: { value: { amount: 12.5, currency: '554' } } }), /amount/],
    ['an unknown scheme', () => ({ ...pos.qrRequest(1000), qrProperties: { scheme: 'QRIS' } }), /scheme/],
    ['a JSON array', () => [], /object/i],
  ];
  it.each(bad)('refuses %s', async (_what, body, field) => {
    const before = await counts();
    const res = await pos.createQrCode(body());
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'FORMAT_ERROR' });
    expect(JSON.stringify(res.body)).toMatch(field);
    expect(await counts()).toEqual(before);
  });

  it('refuses malformed JSON and a non-JSON content type', async () => {
    const res = await call(`${h.url}/qr/v1/qrCodes`, { headers: { ...pos.auth, 'Content-Type': 'application/json' }, body: '{"id": ' });
    expect(res.status).toBe(400);
    expect(validateElectrum('ErrorDetail', res.body)).toEqual([]);
    expect(res.body).toMatchObject({ errorType: 'FORMAT_ERROR' });
    const form = await call(`${h.url}/qr/v1/qrCodes`, { headers: { ...pos.auth, 'Content-Type': 'text/plain' }, body: 'x' });
    expect(form.status).toBe(415);
    expect(validateElectrum('ErrorDetail', form.body)).toEqual([]);
  });

  it('ignores unknown properties', async () => {
    const res = await pos.createQrCode({ ...pos.qrRequest(1000), somethingNew: { nested: true } });
    expect(res.status).toBe(201);
    expect(res.text).not.toContain('somethingNew');
  });

  it('refuses a pay whose amount differs from the QR code or whose currency is not the merchant’s', async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const wrong = await pos.pay(pos.payRequest(code.tranId, 999));
    expect(wrong.body).toMatchObject({ errorType: 'INVALID_AMOUNT' });
    const aud = await pos.pay({ ...pos.payRequest(code.tranId), amounts: { requestAmount: { amount: 1000, currency: '036' } } });
    expect(aud.body).toMatchObject({ errorType: 'INVALID_AMOUNT' });
    const unknown = await pos.pay(pos.payRequest('ffffffffffffffffffffffffffffffff'));
    expect(unknown.body).toMatchObject({ errorType: 'INVALID_TRAN_ID' });
  });
});

describe('PartPay through the Electrum retailer operations', () => {
  it('creates a PartPay order at createQrCode (QR text read from its image) and answers pay with the approval', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const code = await pp.createQrCode(pp.qrRequest(2599));
    expect(code.status, code.text).toBe(201);
    expect(code.body.qrCode).toMatch(/\/phone\/orders\/[0-9a-f-]{36}$/);
    const orderId = code.body.qrCode.split('/').pop() as string;
    const request = pp.payRequest(code.body.tranId, 2599);
    const paying = pp.pay(request);
    await untilPayWaits(h, request.id);
    await h.sim.approve(orderId);
    const answer = await paying;
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ partner: { id: 'partpay' }, amounts: { approvedAmount: { amount: 2599, currency: '554' } } });
    expect((await pp.confirm(pp.confirmation(request.id))).status).toBe(202);
  });

  it('answers DECLINED_BY_PARTNER for a PartPay decline', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const code = (await pp.createQrCode(pp.qrRequest(1000))).body;
    const request = pp.payRequest(code.tranId);
    const paying = pp.pay(request);
    await untilPayWaits(h, request.id);
    await h.sim.decline(code.qrCode.split('/').pop() as string);
    expect((await paying).body).toMatchObject({ errorType: 'DECLINED_BY_PARTNER' });
  });

  it('cancels the PartPay order when the customer does not decide in time (NO_SCAN_RECEIVED)', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const code = (await pp.createQrCode(pp.qrRequest(1000))).body;
    const answer = await pp.pay(pp.payRequest(code.tranId));
    expect(answer.body).toMatchObject({ errorType: 'NO_SCAN_RECEIVED' });
    expect(h.sim.getOrder(code.qrCode.split('/').pop() as string)?.status).toBe('cancelled');
  });

  it('refunds a paid PartPay order on reversal', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const code = (await pp.createQrCode(pp.qrRequest(1800))).body;
    const orderId = code.qrCode.split('/').pop() as string;
    const request = pp.payRequest(code.tranId, 1800);
    const paying = pp.pay(request);
    await untilPayWaits(h, request.id);
    await h.sim.approve(orderId);
    expect((await paying).status).toBe(201);
    expect((await pp.reverse(pp.reversal(request.id, 'CANCELLED'))).status).toBe(202);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      const [row] = await h.sql<{ state: string; refunded_minor: number }>('SELECT p.state, p.refunded_minor FROM electrum_payments e JOIN payments p ON p.id = e.payment_id WHERE e.request_id = ?', request.id);
      return row?.state === 'refunded' && row.refunded_minor === 1800;
    });
    // PartPay's books: the order was for 18.00, approved, and refunded once, in full.
    const order = h.sim.orders().find((o) => o.orderId === orderId);
    expect(order).toMatchObject({ status: 'approved', amountCents: 1800 });
    expect(order?.refunds.map((r) => [r.amountCents, r.status])).toEqual([[1800, 'succeeded']]);
  });

  it('needs the amount at createQrCode for PartPay', async () => {
    const pp = electrumPos(h, ELECTRUM.posPartPay);
    const res = await pp.createQrCode(pp.qrRequest(null));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorType: 'INVALID_AMOUNT' });
  });
});

describe('the Electrum QR code as an image through the native terminal API', () => {
  it("renders the code in the terminal's display profile and hides it from other terminals", async () => {
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const img = await fetch(`${h.url}/v1/qr-codes/${code.tranId}`, { headers: h.auth(1) });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await img.arrayBuffer());
    const { default: jsQR } = await import('jsqr');
    const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(jsQR(new Uint8ClampedArray(data), info.width, info.height)?.data).toBe(code.qrCode);
    expect((await fetch(`${h.url}/v1/qr-codes/${code.tranId}`, { headers: h.auth(2) })).status).toBe(404);
    expect((await fetch(`${h.url}/v1/qr-codes/${code.tranId}`)).status).toBe(401);
  });
});
