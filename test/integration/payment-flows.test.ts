import { createHash } from 'node:crypto';
import sharp from 'sharp';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { CALLBACK_KEY, DISPLAY_PROFILES, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';

let h: Harness;
let refCounter = 0;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

async function createPayment(amountMinor = 1000, extraHeaders: Record<string, string> = {}): Promise<PaymentJson> {
  const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), ...extraHeaders }, json: { amountMinor, currency: 'NZD', merchantReference: `R-${++refCounter}` } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function getPayment(id: string, query = ''): Promise<PaymentJson> {
  const res = await call<PaymentJson>(`${h.url}/v1/payments/${id}${query}`, { headers: h.auth() });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

type JournalRow = { kind: string; detail: string | null; raw_body: string | null; to_state: string | null };
function journal(paymentId: string): Promise<JournalRow[]> {
  return h.sql<JournalRow>('SELECT kind, detail, raw_body, to_state FROM payment_events WHERE payment_id = ? ORDER BY seq', paymentId);
}

async function postCallback(body: string) {
  return call(`${h.url}/partpay/callback`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
}

/** PartPay's callback for `p` as PartPay signs it: its order, our id and the terminal's reference echoed. */
function callbackBody(p: PaymentJson, status: string, key = CALLBACK_KEY, references: { gatewayReference?: string; merchantReference?: string } = {}): string {
  return buildSignedCallbackBody(
    [
      ['orderId', p.partpay?.orderId ?? ''],
      ['orderNumber', p.partpay?.orderNumber ?? ''],
      ['orderStatus', status],
      ['gatewayReference', references.gatewayReference ?? p.id],
      ['merchantReference', references.merchantReference ?? p.merchantReference],
    ],
    key,
  );
}

describe('PartPay payment flows through the terminal API', () => {
  it('creates an order, shows its QR, and reports the approval delivered by the signed callback', async () => {
    const p = await createPayment(1234);
    expect(p).toMatchObject({ state: 'awaiting_customer', amountMinor: 1234, final: false, paid: false });
    expect(p.partpay?.orderId).toMatch(/^[0-9a-f-]{36}$/);
    const order = h.sim.getOrder(p.partpay?.orderId as string);
    // PartPay's order is for the amount the terminal asked, in major units, and names our payment.
    expect(order).toMatchObject({ amount: 12.34, status: 'pending', gatewayReference: p.id, merchantReference: `R-${refCounter}` });
    expect(h.sim.orders().filter((o) => o.gatewayReference === p.id).map((o) => o.amountCents)).toEqual([1234]);

    const qr = await fetch(`${h.url}${p.qr?.imageUrl}`, { headers: h.auth() });
    expect(qr.status).toBe(200);
    expect(qr.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await qr.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    // Showing the image does not read the text inside it: that waits for someone to ask.
    expect((await getPayment(p.id)).qr).toEqual({ imageUrl: `/v1/payments/${p.id}/qr`, textUrl: `/v1/payments/${p.id}/qr/text`, text: null });
    const read = await call<{ text: string }>(`${h.url}${p.qr?.textUrl}`, { headers: h.auth() });
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual({ text: `${h.sim.url()}/phone/orders/${p.partpay?.orderId}` });

    const waiting = getPayment(p.id, `?wait=10&version=${p.version}`);
    await h.sim.approve(p.partpay?.orderId as string);
    const done = await waiting;
    expect(done).toMatchObject({ state: 'approved', final: true, paid: true, amountMinor: 1234, refundedMinor: 0 });
    expect(h.sim.getOrder(p.partpay?.orderId as string)).toMatchObject({ status: 'approved', amount: 12.34, refunds: [] });
    // the QR text read from PartPay's image is kept on the payment
    expect((await getPayment(p.id)).qr?.text).toBe(read.body.text);
    const kinds = (await journal(p.id)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['request', 'upstream_response', 'callback', 'state_changed']));
    expect((await journal(p.id)).find((e) => e.kind === 'callback')?.raw_body).toMatch(/orderStatus=approved&.*signature=[0-9a-f]{64}$/);
  });

  it('reports a decline', async () => {
    const p = await createPayment(1051);
    await h.sim.decline(p.partpay?.orderId as string);
    const done = await eventually(async () => {
      const now = await getPayment(p.id);
      return now.final ? now : null;
    });
    expect(done).toMatchObject({ state: 'declined', paid: false });
  });

  it('expires a payment the customer never decides, and cancels the order upstream', async () => {
    const p = await createPayment(1052);
    await h.sql('UPDATE payments SET expires_at = ? WHERE id = ?', Date.now() - 1, p.id);
    expect(await h.daemon.core.reconciler.expireDue()).toBe(1);
    expect(await getPayment(p.id)).toMatchObject({ state: 'expired', final: true });
    await h.daemon.deliverer.run();
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.status).toBe('cancelled');
  });

  it('learns an expiry that PartPay reports by callback', async () => {
    const p = await createPayment(1053);
    await h.sim.expire(p.partpay?.orderId as string);
    await eventually(async () => (await getPayment(p.id)).state === 'expired');
  });

  it('cancels a pending payment at PartPay before telling the terminal', async () => {
    const p = await createPayment();
    const res = await call<PaymentJson>(`${h.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: h.auth() });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('cancelled');
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.status).toBe('cancelled');
    // cancelling again is harmless
    expect((await call(`${h.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: h.auth() })).status).toBe(200);
  });

  it('refuses to cancel an approved payment and says to refund it', async () => {
    const p = await createPayment();
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await getPayment(p.id)).state === 'approved');
    const res = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: h.auth() });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('already_approved');
    expect(res.body.error.message).toMatch(/refund/);
    expect((await getPayment(p.id)).state).toBe('approved');
  });

  it('answers "approved" when the customer approved just before the cancel reached PartPay', async () => {
    const p = await createPayment();
    // Approve at PartPay with its callback dropped: the terminal does not know yet, and only
    // PartPay's refusal of the cancel can tell us.
    h.sim.setFaults({ callbacks: { drop: 1 } });
    try {
      await h.sim.approve(p.partpay?.orderId as string);
      await eventually(() => h.sim.faults().injected['callbacks.drop'] === 1);
    } finally {
      h.sim.setFaults({});
    }
    expect((await getPayment(p.id)).state).toBe('awaiting_customer');
    const res = await call<ErrorJson & PaymentJson>(`${h.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: h.auth() });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error.code).toBe('already_approved');
    expect(await getPayment(p.id)).toMatchObject({ state: 'approved', paid: true });
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.status).toBe('approved');
    // The cancel learnt the approval by asking PartPay: journaled as a reconcile, no callback at all.
    const events = await journal(p.id);
    expect(events.filter((e) => e.kind === 'callback')).toEqual([]);
    const reconciled = events.findIndex((e) => e.kind === 'reconcile');
    expect(reconciled, JSON.stringify(events.map((e) => e.kind))).toBeGreaterThanOrEqual(0);
    expect(events[reconciled + 1]).toMatchObject({ kind: 'state_changed', to_state: 'approved' });
    expect((await h.daemon.store.repos.payments.get(p.id))?.resolvedBy).toBe('reconcile');
  });

  it('does not lose an approval that arrives after the terminal cancelled: flags it and refunds it', async () => {
    const p = await createPayment(2500);
    // The terminal's cancel did not reach PartPay (the store's uplink dropped): we cancelled
    // locally and owe the upstream cancel. Then the customer approves in the app.
    await h.sql("UPDATE payments SET state = 'cancelled', version = version + 1, final_at = ? WHERE id = ?", Date.now(), p.id);
    await h.sim.approve(p.partpay?.orderId as string);
    // PartPay's real callback arrives; the payment is flagged and the refund is owed and delivered.
    await eventually(async () => (await getPayment(p.id)).refundedMinor === 2500);
    const settled = await getPayment(p.id);
    expect(settled).toMatchObject({ state: 'cancelled', paid: false, attention: null, refundedMinor: 2500 });
    const kinds = await journal(p.id);
    expect(kinds.some((e) => e.kind === 'state_changed' && e.detail?.includes('late_approval'))).toBe(true);
    expect(kinds.some((e) => e.kind === 'refund_requested')).toBe(true);
    expect(kinds.some((e) => e.kind === 'resolution')).toBe(true);
    const refunds = await h.daemon.store.repos.payments.refundsOf(p.id);
    expect(refunds).toEqual([expect.objectContaining({ state: 'succeeded', amountMinor: 2500, requestedBy: 'system:late-approval' })]);
    expect(h.sim.getOrder(p.partpay?.orderId as string)).toMatchObject({ status: 'approved', amount: 25, refunds: [expect.objectContaining({ amountCents: 2500, status: 'succeeded' })] });
  });

  it('keeps a late approval flagged for an operator when the policy is "flag"', async () => {
    const flagged = await startHarness({ config: { payments: { lateApproval: 'flag' } } });
    try {
      const res = await call<PaymentJson>(`${flagged.url}/v1/payments`, { headers: flagged.auth(), json: { amountMinor: 700, currency: 'NZD', merchantReference: 'F-1' } });
      await flagged.sql("UPDATE payments SET state = 'cancelled', version = version + 1 WHERE id = ?", res.body.id);
      await flagged.sim.approve(res.body.partpay?.orderId as string);
      const now = await eventually(async () => {
        const r = await call<PaymentJson>(`${flagged.url}/v1/payments/${res.body.id}`, { headers: flagged.auth() });
        return r.body.attention === 'late_approval' ? r.body : null;
      });
      expect(now).toMatchObject({ state: 'cancelled', refundedMinor: 0 });
      expect(await flagged.daemon.store.repos.outbox.ofPayment(res.body.id)).toEqual([]);
      expect((await flagged.daemon.store.repos.payments.list({ attention: true })).map((x) => x.id)).toContain(res.body.id);
    } finally {
      await flagged.stop();
    }
  });

  it('treats duplicate callbacks as one and journals each', async () => {
    const p = await createPayment();
    const body = callbackBody(p, 'approved');
    const first = await postCallback(body);
    const second = await postCallback(body);
    expect([first.status, second.status]).toEqual([200, 200]);
    const now = await getPayment(p.id);
    expect(now.state).toBe('approved');
    expect(now.version).toBe(p.version + 1); // one change (awaiting_customer -> approved), nothing more
    expect((await journal(p.id)).filter((e) => e.kind === 'callback')).toHaveLength(2);
  });

  it('does not act on a signed callback whose references name another payment, and journals the mismatch', async () => {
    const p = await createPayment();
    const other = await createPayment();
    const before = await getPayment(p.id);
    // Validly signed, for p's order, but echoing another payment's id or another reference.
    const wrongPayment = callbackBody(p, 'approved', CALLBACK_KEY, { gatewayReference: other.id });
    const wrongReference = callbackBody(p, 'approved', CALLBACK_KEY, { merchantReference: 'R-not-this-sale' });
    expect((await postCallback(wrongPayment)).status).toBe(200);
    expect((await postCallback(wrongReference)).status).toBe(200);
    expect(await getPayment(p.id)).toMatchObject({ state: 'awaiting_customer', version: before.version });
    expect(await getPayment(other.id)).toMatchObject({ state: 'awaiting_customer', version: other.version });
    const mismatches = (await journal(p.id)).filter((e) => e.kind === 'callback_mismatch');
    expect(mismatches.map((e) => e.raw_body)).toEqual([wrongPayment, wrongReference]);
    expect(mismatches.map((e) => (JSON.parse(e.detail ?? '{}') as { mismatched: string[] }).mismatched)).toEqual([['gatewayReference'], ['merchantReference']]);
    expect((await journal(p.id)).filter((e) => e.kind === 'callback')).toEqual([]);
    // The genuine callback, references and all, still decides it.
    expect((await postCallback(callbackBody(p, 'approved'))).status).toBe(200);
    expect((await getPayment(p.id)).state).toBe('approved');
  });

  it('ignores a decline that arrives after the approval (out of order)', async () => {
    const p = await createPayment();
    expect((await postCallback(callbackBody(p, 'approved'))).status).toBe(200);
    expect((await postCallback(callbackBody(p, 'declined'))).status).toBe(200);
    expect(await getPayment(p.id)).toMatchObject({ state: 'approved', attention: null });
  });

  it('refuses a callback with a bad or missing signature and changes nothing', async () => {
    const p = await createPayment();
    const before = await getPayment(p.id);
    const forged = callbackBody(p, 'approved', 'not-the-key');
    expect((await postCallback(forged)).status).toBe(401);
    const unsigned = callbackBody(p, 'approved').replace(/&signature=.*$/, '');
    expect((await postCallback(unsigned)).status).toBe(401);
    const tampered = callbackBody(p, 'declined').replace('orderStatus=declined', 'orderStatus=approved');
    expect((await postCallback(tampered)).status).toBe(401);
    const after = await getPayment(p.id);
    expect(after).toMatchObject({ state: before.state, version: before.version });
    expect((await journal(p.id)).filter((e) => e.kind === 'callback')).toHaveLength(0);
  });

  it('answers 400 to a malformed callback and 415 to the wrong content type', async () => {
    expect((await postCallback('hello=world')).status).toBe(400);
    expect((await call(`${h.url}/partpay/callback`, { json: { orderId: 'x', orderStatus: 'approved' } })).status).toBe(415);
  });

  it('accepts a valid callback for an unknown order with 200 and journals it as an orphan', async () => {
    const body = buildSignedCallbackBody(
      [
        ['orderId', '123e4567-e89b-12d3-a456-426655440000'],
        ['orderNumber', '181211-303902'],
        ['orderStatus', 'approved'],
        ['gatewayReference', 'ab3902094330'],
        ['merchantReference', '87654321'],
      ],
      CALLBACK_KEY,
    );
    const res = await postCallback(body);
    expect(res.status).toBe(200);
    const orphans = await h.daemon.store.repos.payments.orphanEvents();
    expect(orphans.some((e) => e.rawBody === body && e.kind === 'orphan_callback')).toBe(true);
    expect(h.logs.some((l) => l.includes('orphan'))).toBe(true);
  });

  it('refunds fully and partially, and refuses to refund more than was paid', async () => {
    const p = await createPayment(5000);
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await getPayment(p.id)).state === 'approved');
    const part = await call<{ refund: { state: string; amountMinor: number }; payment: PaymentJson }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: { amountMinor: 1500, reason: 'returned item' } });
    expect(part.status, part.text).toBe(201);
    expect(part.body.refund).toMatchObject({ state: 'succeeded', amountMinor: 1500 });
    expect(part.body.payment).toMatchObject({ state: 'partially_refunded', refundedMinor: 1500 });
    const tooMuch = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: { amountMinor: 4000 } });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('refund_exceeds_amount');
    const rest = await call<{ refund: { amountMinor: number }; payment: PaymentJson }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: {} });
    expect(rest.status).toBe(201);
    expect(rest.body.refund.amountMinor).toBe(3500);
    expect(rest.body.payment).toMatchObject({ state: 'refunded', refundedMinor: 5000 });
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.refunds.map((r) => [r.amountCents, r.status])).toEqual([
      [1500, 'succeeded'],
      [3500, 'succeeded'],
    ]);
  });

  it('replays a refund with the same Idempotency-Key instead of refunding twice', async () => {
    const p = await createPayment(3000);
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await getPayment(p.id)).state === 'approved');
    const headers = { ...h.auth(), 'Idempotency-Key': `refund-${p.id}` };
    const a = await call<{ refund: { id: string } }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers, json: { amountMinor: 1000 } });
    const b = await call<{ refund: { id: string }; payment: PaymentJson }>(`${h.url}/v1/payments/${p.id}/refunds`, { headers, json: { amountMinor: 1000 } });
    expect(a.status).toBe(201);
    expect(b.body.refund.id).toBe(a.body.refund.id);
    expect(b.body.payment.refundedMinor).toBe(1000);
  });

  it('refuses to refund a payment that is not paid', async () => {
    const p = await createPayment();
    const res = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}/refunds`, { headers: h.auth(), json: {} });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('not_refundable');
  });

  it('returns the first payment for a retried create with the same Idempotency-Key, and never a second order', async () => {
    const before = h.sim.stats().ordersCreated;
    const headers = { ...h.auth(), 'Idempotency-Key': 'till-7-sale-991' };
    const body = { amountMinor: 4321, currency: 'NZD', merchantReference: 'SALE-991' };
    const [a, b] = await Promise.all([
      call<PaymentJson>(`${h.url}/v1/payments`, { headers, json: body }),
      call<PaymentJson>(`${h.url}/v1/payments`, { headers, json: body }),
    ]);
    const c = await call<PaymentJson>(`${h.url}/v1/payments`, { headers, json: body });
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(c.status).toBe(200);
    expect(c.headers.get('idempotent-replayed')).toBe('true');
    expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(1);
    expect(h.sim.stats().ordersCreated - before).toBe(1);
    const other = await call<ErrorJson>(`${h.url}/v1/payments`, { headers, json: { ...body, amountMinor: 1 } });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
  });

  it('reuses one PartPay token across many payments', async () => {
    const before = h.sim.stats().tokensIssued;
    await Promise.all([createPayment(), createPayment(), createPayment()]);
    expect(h.sim.stats().tokensIssued - before).toBe(0);
    expect(h.sim.stats().tokensIssued).toBe(1);
  });

  it("hides another terminal's payment behind 404", async () => {
    const p = await createPayment();
    for (const path of ['', '/qr', '/events']) {
      const res = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}${path}`, { headers: h.auth(2) });
      expect(res.status, path).toBe(404);
    }
    for (const path of ['/cancel', '/refunds']) {
      const res = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}${path}`, { method: 'POST', headers: h.auth(2) });
      expect(res.status, path).toBe(404);
    }
    expect((await getPayment(p.id)).state).toBe('awaiting_customer');
    const list = await call<{ payments: PaymentJson[] }>(`${h.url}/v1/payments`, { headers: h.auth(2) });
    expect(list.body.payments.some((x) => x.id === p.id)).toBe(false);
  });

  it('renders the QR in the terminal display profile, with overrides', async () => {
    const p = await createPayment();
    const overridden = { format: 'webp', size: 128 } as const;
    const webp = await fetch(`${h.url}/v1/payments/${p.id}/qr?format=${overridden.format}&size=${overridden.size}`, { headers: h.auth() });
    expect(webp.headers.get('content-type')).toBe(`image/${overridden.format}`);
    const bytes = Buffer.from(await webp.arrayBuffer());
    // The image itself is what the override asked for, not only its label.
    expect(await sharp(bytes).metadata()).toMatchObject({ format: overridden.format, width: overridden.size, height: overridden.size });
    // Without overrides: the terminal's configured profile, read back from the image.
    const plain = await fetch(`${h.url}/v1/payments/${p.id}/qr`, { headers: h.auth() });
    const profile = DISPLAY_PROFILES.default;
    expect(plain.headers.get('content-type')).toBe(`image/${profile.format}`);
    const plainBytes = Buffer.from(await plain.arrayBuffer());
    expect(await sharp(plainBytes).metadata()).toMatchObject({ format: profile.format, width: profile.size, height: profile.size });
    const bad = await call<ErrorJson>(`${h.url}/v1/payments/${p.id}/qr?format=gif`, { headers: h.auth() });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/format/);
    const etag = webp.headers.get('etag') as string;
    // An entity tag as RFC 9110 writes one (a quoted opaque string), naming these bytes: the
    // same request revalidates to 304, another rendering has another tag.
    expect(etag).toMatch(/^"[\x21\x23-\x7E]+"$/);
    // README: the tag is the first 22 base64url characters of the SHA-256 of the image bytes.
    expect(etag).toBe(etagOf(bytes));
    expect(plain.headers.get('etag')).toBe(etagOf(plainBytes));
    expect(plain.headers.get('etag')).not.toBe(etag);
    // (fetch() would add Cache-Control: no-cache to a conditional request, so use supertest)
    const again = await request(h.url).get(`/v1/payments/${p.id}/qr?format=${overridden.format}&size=${overridden.size}`).set(h.auth()).set('If-None-Match', etag);
    expect(again.status).toBe(304);
    // Only images are revalidated; a payment's JSON is followed by long-poll or SSE, so it has no ETag.
    expect((await fetch(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).headers.get('etag')).toBeNull();
  });
});

/** The ETag README promises for an image: the first 22 base64url characters of the SHA-256 of its bytes. */
function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
}
