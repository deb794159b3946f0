import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyCallbackBody } from '../../src/partpay/signature.js';
import { AUDIENCE, MERCHANTS, startServer, startSimulator, waitFor } from '../partpay/support.js';

type Env = Awaited<ReturnType<typeof startSimulator>>;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function simulator(overrides: Parameters<typeof startSimulator>[0] = {}): Promise<Env> {
  const env = await startSimulator(overrides);
  cleanups.push(() => env.sim.close());
  return env;
}

/** A local callback receiver recording raw bodies; fails the first `failFirst` posts. */
async function callbackReceiver(failFirst = 0) {
  const bodies: Array<{ raw: string; contentType: string | undefined }> = [];
  let calls = 0;
  const server = await startServer((app) =>
    app.post('/partpay/callback', express.text({ type: '*/*' }), (req, res) => {
      calls += 1;
      if (calls <= failFirst) return void res.status(503).end();
      bodies.push({ raw: req.body as string, contentType: req.get('content-type') });
      res.status(204).end();
    }),
  );
  cleanups.push(server.close);
  return { url: `${server.url}/partpay/callback`, bodies, calls: () => calls };
}

async function token(url: string, m: { clientId: string; clientSecret: string } = MERCHANTS.base64): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: m.clientId, client_secret: m.clientSecret, audience: AUDIENCE, grant_type: 'client_credentials' }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function createOrder(url: string, bearer: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/terminal/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'partpay-merchantid': 'mer-base64', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const validOrder = (amount = 10.5, ref = 'ref-1') => ({ amount, gatewayReference: `gw-${ref}`, merchantReference: ref });

describe('PartPay simulator token endpoint', () => {
  it('issues a bearer token for a JSON request in PartPay style', async () => {
    const { url } = await simulator({ tokenTtlSeconds: 3600 });
    const res = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'client-base64', client_secret: 's3cret-base64', audience: AUDIENCE, grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ access_token: expect.stringMatching(/^[\w-]{20,}$/), expires_in: 3600, scope: expect.any(String), token_type: 'Bearer' });
  });

  it('accepts form-encoded requests with HTTP basic client authentication', async () => {
    const { url, sim } = await simulator();
    const res = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('client-url:s3cret-url').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience: AUDIENCE }).toString(),
    });
    expect(res.status).toBe(200);
    expect(sim.stats().tokensIssued).toBe(1);
  });

  it('answers OAuth errors for a wrong secret, a missing or wrong audience, and another grant type', async () => {
    const { url, sim } = await simulator();
    const post = async (body: Record<string, string>) => {
      const res = await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
      return { status: res.status, body: (await res.json()) as { error: string } };
    };
    const base = { client_id: 'client-base64', client_secret: 's3cret-base64', audience: AUDIENCE, grant_type: 'client_credentials' };
    expect(await post({ ...base, client_secret: 'nope' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await post({ ...base, client_id: 'unknown' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const { audience: _omit, ...noAudience } = base;
    expect(await post(noAudience)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await post({ ...base, audience: 'https://other' })).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(await post({ ...base, grant_type: 'password' })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    expect(sim.stats().tokensIssued).toBe(0);
  });
});

describe('PartPay simulator terminal API', () => {
  it('requires a valid bearer token and the matching merchant id header', async () => {
    const { url } = await simulator();
    expect((await createOrder(url, 'forged', validOrder())).status).toBe(401);
    const bearer = await token(url);
    expect((await createOrder(url, bearer, validOrder(), { 'partpay-merchantid': 'mer-url' })).status).toBe(403);
    expect((await createOrder(url, bearer, validOrder())).status).toBe(201);
  });

  it('refuses an expired token', async () => {
    const { url } = await simulator({ tokenTtlSeconds: 1 });
    const bearer = await token(url);
    // The simulator's tokens expire on the real clock; waiting past the 1 s TTL is the behaviour under test.
    await new Promise((r) => setTimeout(r, 1100));
    const res = await createOrder(url, bearer, validOrder());
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ title: 'Unauthorized' });
  });

  it('answers invalid orders in PartPay property-validation style', async () => {
    const { url } = await simulator();
    const bearer = await token(url);
    const res = await createOrder(url, bearer, { amount: 10.555, gatewayReference: '', merchantReference: 'x'.repeat(65) });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ isValid: false, type: 'https://partpay.net/errors/property-validation', message: expect.any(String) });
    expect((res.json['errors'] as Array<{ propertyName: string }>).map((e) => e.propertyName)).toEqual(['amount', 'gatewayReference', 'merchantReference']);
    expect((await createOrder(url, bearer, { ...validOrder(), amount: -1 })).status).toBe(400);
    expect((await createOrder(url, bearer, { ...validOrder(), amount: '10.00' })).status).toBe(400);
  });

  it('returns the first order for a repeated idempotency key and refuses the key for a different order', async () => {
    const { url, sim } = await simulator();
    const bearer = await token(url);
    const first = await createOrder(url, bearer, validOrder(), { 'idempotency-key': 'k1' });
    const again = await createOrder(url, bearer, validOrder(), { 'idempotency-key': 'k1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json['orderId']).toBe(first.json['orderId']);
    expect((await createOrder(url, bearer, validOrder(99), { 'idempotency-key': 'k1' })).status).toBe(422);
    expect(sim.stats().ordersCreated).toBe(1);
  });

  it('hides other merchants orders', async () => {
    const { url } = await simulator();
    const order = await createOrder(url, await token(url), validOrder());
    const other = await token(url, MERCHANTS.url);
    const res = await fetch(`${url}/api/terminal/orders/${String(order.json['orderId'])}`, { headers: { authorization: `Bearer ${other}`, 'partpay-merchantid': 'mer-url' } });
    expect(res.status).toBe(404);
  });
});

describe('PartPay simulator callbacks and decisions', () => {
  it('posts a signed form callback, fields in documented order, when the customer approves', async () => {
    const receiver = await callbackReceiver();
    const { url, sim } = await simulator({ callbackUrl: receiver.url });
    const order = await createOrder(url, await token(url), validOrder(12.34, 'lane-7'));
    const orderId = String(order.json['orderId']);
    await sim.approve(orderId);
    const [cb] = await waitFor(() => (receiver.bodies.length > 0 ? receiver.bodies : undefined));
    expect(cb?.contentType).toBe('application/x-www-form-urlencoded');
    const raw = cb?.raw ?? '';
    expect([...new URLSearchParams(raw).keys()]).toEqual(['orderId', 'orderNumber', 'orderStatus', 'gatewayReference', 'merchantReference', 'signature']);
    expect(Object.fromEntries(new URLSearchParams(raw))).toMatchObject({ orderId, orderStatus: 'approved', gatewayReference: 'gw-lane-7', merchantReference: 'lane-7', orderNumber: order.json['orderNumber'] });
    expect(verifyCallbackBody(raw, [MERCHANTS.base64.callbackKey])).toMatchObject({ ok: true });
    expect(verifyCallbackBody(raw, ['another-key'])).toMatchObject({ ok: false });
    await waitFor(() => (sim.stats().callbacksSent === 1 ? true : undefined));
  });

  it('prefers the callback URL of the order and retries a failing receiver', async () => {
    const receiver = await callbackReceiver(2);
    const { url, sim } = await simulator({ callbackUrl: 'http://127.0.0.1:9/never', callbackRetry: { attempts: 5, initialDelayMs: 20 } });
    const order = await createOrder(url, await token(url), { ...validOrder(), callbackUrl: receiver.url });
    await sim.decline(String(order.json['orderId']));
    await waitFor(() => (receiver.bodies.length === 1 ? true : undefined));
    expect(receiver.calls()).toBe(3);
    expect(new URLSearchParams(receiver.bodies[0]?.raw).get('orderStatus')).toBe('declined');
  });

  it('gives up after the configured attempts and counts the failure', async () => {
    const receiver = await callbackReceiver(100);
    const { url, sim } = await simulator({ callbackUrl: receiver.url, callbackRetry: { attempts: 3, initialDelayMs: 10 } });
    const order = await createOrder(url, await token(url), validOrder());
    await sim.approve(String(order.json['orderId']));
    await waitFor(() => (sim.stats().callbacksFailed === 1 ? true : undefined));
    expect(receiver.calls()).toBe(3);
    expect(sim.stats().callbacksSent).toBe(0);
  });

  it('auto-decides: cents 51 declined, 52 left pending, others approved', async () => {
    const receiver = await callbackReceiver();
    const { url, sim } = await simulator({ callbackUrl: receiver.url, autoDecideAfterMs: 50 });
    const bearer = await token(url);
    const ids = await Promise.all([10.51, 10.52, 10.5, 7].map(async (amount, i) => String((await createOrder(url, bearer, validOrder(amount, `a${i}`))).json['orderId'])));
    await waitFor(() => (receiver.bodies.length === 3 ? true : undefined));
    expect(ids.map((id) => sim.getOrder(id)?.status)).toEqual(['declined', 'pending', 'approved', 'approved']);
    // Nothing to wait on: the test is that .52 is never decided. Three times the 50 ms decide delay on the real clock.
    await new Promise((r) => setTimeout(r, 150));
    expect(sim.getOrder(ids[1] ?? '')?.status).toBe('pending');
  });

  it('expires undecided orders after the order TTL and sends a callback', async () => {
    const receiver = await callbackReceiver();
    const { url, sim } = await simulator({ callbackUrl: receiver.url, orderTtlMs: 100 });
    const id = String((await createOrder(url, await token(url), validOrder())).json['orderId']);
    await waitFor(() => (receiver.bodies.length === 1 ? true : undefined));
    expect(sim.getOrder(id)?.status).toBe('expired');
    expect(new URLSearchParams(receiver.bodies[0]?.raw).get('orderStatus')).toBe('expired');
  });

  it('cancels a pending order with a callback and refuses to cancel a declined one with 409', async () => {
    const receiver = await callbackReceiver();
    const { url, sim } = await simulator({ callbackUrl: receiver.url });
    const bearer = await token(url);
    const cancel = (id: string) => fetch(`${url}/api/terminal/orders/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'partpay-merchantid': 'mer-base64' } });
    const a = String((await createOrder(url, bearer, validOrder(1, 'c1'))).json['orderId']);
    const res = await cancel(a);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ orderId: a, orderStatus: 'cancelled' });
    await waitFor(() => (receiver.bodies.length === 1 ? true : undefined));
    const b = String((await createOrder(url, bearer, validOrder(1, 'c2'))).json['orderId']);
    await sim.decline(b);
    const refused = await cancel(b);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toContain('declined');
  });

  it('answers refunds as told (done, pending until settled, declined), never counts a declined one, and counts calls per operation', async () => {
    const { url, sim } = await simulator();
    const bearer = await token(url);
    const refund = async (orderId: string, amount: number, reference: string) => {
      const res = await fetch(`${url}/api/order/${orderId}/refund`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'partpay-merchantid': 'mer-base64' },
        body: JSON.stringify({ amount, merchantRefundReference: reference }),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const id = String((await createOrder(url, bearer, validOrder(10, 'rf'))).json['orderId']);
    await sim.approve(id);
    sim.setRefundMode('declined');
    expect(await refund(id, 2, 'r1')).toMatchObject({ status: 201, json: { status: 'declined' } });
    sim.setRefundMode('pending');
    expect(await refund(id, 3, 'r2')).toMatchObject({ status: 202, json: { status: 'pending' } });
    expect(await refund(id, 3, 'r2')).toMatchObject({ status: 200, json: { status: 'pending' } });
    expect(sim.settlePendingRefunds()).toBe(1);
    expect(await refund(id, 3, 'r2')).toMatchObject({ status: 200, json: { status: 'succeeded' } });
    sim.setRefundMode('succeeded');
    // 10.00 less the 3.00 refunded: the declined 2.00 never moved money.
    expect((await refund(id, 7.01, 'r3')).status).toBe(400);
    expect(await refund(id, 7, 'r3')).toMatchObject({ status: 201, json: { status: 'succeeded' } });
    expect(sim.getOrder(id)?.refunds.map((r) => [r.amountCents, r.status])).toEqual([
      [200, 'declined'],
      [300, 'succeeded'],
      [700, 'succeeded'],
    ]);
    expect(sim.stats().calls).toEqual({ createOrder: 1, refundOrder: 6 });
  });

  it('stops its timers on close: no callback is sent afterwards', async () => {
    const receiver = await callbackReceiver();
    const env = await startSimulator({ callbackUrl: receiver.url, autoDecideAfterMs: 100 });
    await createOrder(env.url, await token(env.url), validOrder());
    await env.sim.close();
    // Nothing to wait on: the test is that nothing happens. Twice the 100 ms decide delay on the real clock.
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.calls()).toBe(0);
    expect(env.sim.listOrders()[0]?.status).toBe('pending');
  });
});

describe('PartPay simulator customer phone', () => {
  it('serves an accessible, self-contained page listing pending orders', async () => {
    const { url } = await simulator();
    const res = await fetch(`${url}/phone`);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('aria-live');
    expect(html).toContain('/phone/api');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    // The inline script must at least parse: a syntax error would leave the page dead.
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    expect(script).toContain('setInterval(refresh, 2000)');
    expect(() => new Function(script)).not.toThrow();
  });

  it('shows the page a customer reaches by scanning, and 404 for an unknown order', async () => {
    const { url } = await simulator();
    const id = String((await createOrder(url, await token(url), validOrder())).json['orderId']);
    const page = await fetch(`${url}/phone/orders/${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(JSON.stringify(id));
    expect((await fetch(`${url}/phone/orders/nope`)).status).toBe(404);
  });

  it('approves and declines through its JSON API, 409 when already decided and 404 when unknown', async () => {
    const { url, sim } = await simulator();
    const bearer = await token(url);
    const a = String((await createOrder(url, bearer, validOrder(5, 'p1'))).json['orderId']);
    const b = String((await createOrder(url, bearer, validOrder(6, 'p2'))).json['orderId']);
    const list = (await (await fetch(`${url}/phone/api/orders?status=pending`)).json()) as { orders: Array<{ orderId: string; amount: number }> };
    expect(list.orders.map((o) => o.orderId).sort()).toEqual([a, b].sort());
    const approve = await fetch(`${url}/phone/api/orders/${a}/approve`, { method: 'POST' });
    expect(approve.status).toBe(200);
    expect(sim.getOrder(a)?.status).toBe('approved');
    expect((await fetch(`${url}/phone/api/orders/${b}/decline`, { method: 'POST' })).status).toBe(200);
    expect(sim.getOrder(b)?.status).toBe('declined');
    expect((await fetch(`${url}/phone/api/orders/${a}/decline`, { method: 'POST' })).status).toBe(409);
    expect((await fetch(`${url}/phone/api/orders/unknown/approve`, { method: 'POST' })).status).toBe(404);
    await expect(sim.approve(a)).rejects.toThrow(/already approved/);
    expect(sim.stats().requests).toBeGreaterThanOrEqual(8);
  });
});
