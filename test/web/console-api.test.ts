import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { OPERATOR, operatorAuth, signIn, startWebHarness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await startWebHarness({ simulator: { autoDecideAfterMs: null } });
});
afterAll(async () => {
  await h.stop();
});

const AUTH = () => ({ Authorization: operatorAuth() });

async function createPayment(reference: string, amountMinor = 1995): Promise<PaymentJson> {
  const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': `web-${reference}` }, json: { amountMinor, currency: 'NZD', merchantReference: reference } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('console authentication', () => {
  it('refuses the console API and script without credentials (a basic-auth challenge for the API), and sends the page to the sign-in form', async () => {
    for (const path of ['/console/api/payments', '/console/assets/console.js']) {
      const res = await call(`${h.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'unauthenticated' } });
    }
    expect((await call(`${h.url}/console/api/payments`)).headers.get('www-authenticate')).toMatch(/^Basic realm="tenderbridge console"/);
    // The script is for the signed-in page only: no basic auth there.
    expect((await call(`${h.url}/console/assets/console.js`, { headers: AUTH() })).status).toBe(401);
    const page = await fetch(`${h.url}/console`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/login');
  });

  it('refuses a wrong password and an unknown operator', async () => {
    for (const header of [operatorAuth(OPERATOR.name, 'wrong'), operatorAuth('mallory', OPERATOR.password), 'Basic !!!', `Bearer ${OPERATOR.password}`]) {
      const res = await call(`${h.url}/console/api/payments`, { headers: { Authorization: header } });
      expect(res.status).toBe(401);
    }
  });

  it('lets a configured operator in and names them', async () => {
    const res = await call(`${h.url}/console/api/whoami`, { headers: AUTH() });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ operator: OPERATOR.name });
    // The page takes the session of the sign-in form, not basic auth (which cannot sign out).
    expect((await fetch(`${h.url}/console`, { headers: AUTH(), redirect: 'manual' })).status).toBe(303);
    const { cookie } = await signIn(h.url);
    const page = await fetch(`${h.url}/console`, { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('Signed in as <strong>olive</strong>');
  });
});

describe('pages', () => {
  it('serves the virtual terminal with a self-only CSP and no demo key outside the demo', async () => {
    const res = await fetch(`${h.url}/terminal`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toContain('test-terminal-key');
    expect(html).not.toMatch(/<script>(?!<)/);
    const js = await fetch(`${h.url}/terminal/assets/terminal.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    // The virtual terminal bundled with the typed client (clients/typescript), which it calls /v1 through.
    const source = await js.text();
    expect(source).toContain('Idempotency-Key');
    expect(source).not.toMatch(/\bfrom\s*["']|require\(|node:/);
  });
});

describe('console API', () => {
  it('lists payments with filters and validates them', async () => {
    const p = await createPayment('WEB-LIST-1');
    const all = await call<{ payments: Array<{ id: string; provider: string }> }>(`${h.url}/console/api/payments?state=open&provider=partpay&terminal=TERM0001&store=S1`, { headers: AUTH() });
    expect(all.status, all.text).toBe(200);
    expect(all.body.payments.map((x) => x.id)).toContain(p.id);
    const none = await call<{ payments: unknown[] }>(`${h.url}/console/api/payments?provider=electrum`, { headers: AUTH() });
    expect(none.body.payments).toEqual([]);
    const bad = await call(`${h.url}/console/api/payments?state=nonsense`, { headers: AUTH() });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request' } });
    expect((bad.body as { error: { message: string } }).error.message).toMatch(/state/);
    const unknown = await call(`${h.url}/console/api/payments?colour=red`, { headers: AUTH() });
    expect(unknown.status).toBe(400);
  });

  it('shows a payment with its journal, refunds and outbox; 404 for an unknown id, 400 for a bad one', async () => {
    type Detail = { payment: { id: string }; events: Array<{ kind: string }>; refunds: Array<Record<string, unknown>>; outbox: Array<Record<string, unknown>> };
    const detailOf = (id: string) => call<Detail>(`${h.url}/console/api/payments/${id}`, { headers: AUTH() });
    // a paid payment with a partial refund: the console shows the refund PartPay holds
    const p = await createPayment('WEB-DETAIL-1', 1995);
    const orderId = p.partpay?.orderId as string;
    await h.sim.approve(orderId);
    await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body.state === 'approved');
    const refund = await call(`${h.url}/v1/payments/${p.id}/refunds`, { headers: { ...h.auth(), 'Idempotency-Key': 'web-detail-refund-1' }, json: { amountMinor: 495, reason: 'damaged box' } });
    expect(refund.status, refund.text).toBe(201);
    const atPartPay = h.sim.getOrder(orderId)?.refunds ?? [];
    expect(atPartPay.map((r) => r.amountCents)).toEqual([495]);
    const res = await detailOf(p.id);
    expect(res.status).toBe(200);
    expect(res.body.payment.id).toBe(p.id);
    expect(res.body.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['request', 'state_changed', 'callback']));
    expect(res.body.refunds).toEqual([expect.objectContaining({ amountMinor: 495, state: 'succeeded', reason: 'damaged box', requestedBy: expect.any(String), error: null })]);
    expect(res.body.refunds[0]?.['upstreamRefundId']).toBe(atPartPay[0]?.refundId);
    // the refund's safety-net delivery, closed when PartPay answered
    expect(res.body.outbox).toEqual(h.daemon.outbox.ofPayment(p.id).map((o) => expect.objectContaining({ id: o.id, kind: o.kind, paymentId: p.id, state: 'done' })));
    // an open payment cancelled while PartPay fails: the cancel owed is shown as pending
    const owed = await createPayment('WEB-DETAIL-2', 1200);
    h.sim.setFaults({ api: { error5xx: 1 } });
    try {
      expect((await call<PaymentJson>(`${h.url}/v1/payments/${owed.id}/cancel`, { method: 'POST', headers: h.auth() })).body.state).toBe('cancelled');
    } finally {
      h.sim.setFaults({});
    }
    const shown = (await detailOf(owed.id)).body;
    expect(shown.refunds).toEqual([]);
    expect(shown.outbox).toEqual([expect.objectContaining({ kind: 'upstream.cancel', paymentId: owed.id, state: 'pending', attempts: expect.any(Number) })]);
    expect((await call(`${h.url}/console/api/payments/00000000-0000-4000-8000-000000000000`, { headers: AUTH() })).status).toBe(404);
    expect((await call(`${h.url}/console/api/payments/not-a-uuid`, { headers: AUTH() })).status).toBe(400);
  });

  it('resolves a payment as the signed-in operator, journaled with who and why', async () => {
    const p = await createPayment('WEB-RESOLVE-1');
    const noReason = await call(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: AUTH(), json: { action: 'cancel', reason: ' ' } });
    expect(noReason.status).toBe(400);
    const spoofed = await call(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: AUTH(), json: { action: 'cancel', reason: 'x', by: 'someone-else' } });
    expect(spoofed.status).toBe(400);
    const form = await call(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: { ...AUTH(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'action=cancel&reason=x' });
    expect(form.status).toBe(415);
    const crossSite = await call(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: { ...AUTH(), Origin: 'http://evil.example' }, json: { action: 'cancel', reason: 'x' } });
    expect(crossSite.status).toBe(403);
    const res = await call<{ result: string; payment: { state: string } }>(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: AUTH(), json: { action: 'cancel', reason: 'customer walked away' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ result: 'cancelled', payment: { state: 'cancelled' } });
    const journal = h.daemon.payments.events(p.id).find((e) => e.kind === 'operator_resolution');
    expect(journal).toMatchObject({ actor: `operator:${OPERATOR.name}`, detail: { by: OPERATOR.name, reason: 'customer walked away' } });
    const again = await call(`${h.url}/console/api/payments/${p.id}/resolve`, { headers: AUTH(), json: { action: 'cancel', reason: 'again' } });
    expect(again.status).toBe(409);
  });

  it('retries a dead letter and refuses to retry anything else', async () => {
    const id = h.daemon.outbox.enqueue('partpay.cancel', null, { orderId: 'nope' }, Date.now());
    h.daemon.outbox.markDead(id, 'test: gave up', Date.now());
    const list = await call<{ items: Array<{ id: number; state: string }> }>(`${h.url}/console/api/outbox?state=dead`, { headers: AUTH() });
    expect(list.body.items.map((i) => i.id)).toContain(id);
    const res = await call<{ item: { state: string } }>(`${h.url}/console/api/outbox/${id}/retry`, { headers: AUTH(), json: {} });
    expect(res.status, res.text).toBe(200);
    expect(res.body.item.state).not.toBe('dead');
    const delivered = h.daemon.outbox.enqueue('partpay.cancel', null, { orderId: 'done' }, Date.now());
    h.daemon.outbox.markDone(delivered, Date.now());
    const notDead = await call(`${h.url}/console/api/outbox/${delivered}/retry`, { headers: AUTH(), json: {} });
    expect(notDead.status).toBe(409);
    expect(notDead.body).toMatchObject({ error: { code: 'not_dead' } });
    expect((await call(`${h.url}/console/api/outbox/999999/retry`, { headers: AUTH(), json: {} })).status).toBe(404);
  });

  it('gives health at a glance and the end-of-day report, also as CSV', async () => {
    const p = await createPayment('WEB-EOD-1', 2500);
    await call(`${h.sim.url()}/phone/api/orders/${p.partpay?.orderId}/approve`, { method: 'POST' });
    await eventually(() => h.daemon.payments.get(p.id)?.state === 'approved');
    const o = await call<{ status: string; payments: { open: number }; today: Array<{ approvedCount: number }> }>(`${h.url}/console/api/overview`, { headers: AUTH() });
    expect(o.status).toBe(200);
    expect(o.body.today[0]?.approvedCount).toBeGreaterThanOrEqual(1);
    const r = await call<{ totals: Array<{ approvedMinor: number }> }>(`${h.url}/console/api/report`, { headers: AUTH() });
    expect(r.body.totals[0]?.approvedMinor).toBeGreaterThanOrEqual(2500);
    const csv = await fetch(`${h.url}/console/api/report.csv`, { headers: AUTH() });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\n')[0]).toMatch(/^level,store,terminal,currency,approved_count/);
    const payments = await fetch(`${h.url}/console/api/payments.csv?state=approved`, { headers: AUTH() });
    expect(await payments.text()).toContain('WEB-EOD-1');
    expect((await call(`${h.url}/console/api/report?date=2026-02-30`, { headers: AUTH() })).status).toBe(400);
  });
});
