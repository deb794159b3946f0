import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { electrumPos } from '../support/electrum-pos.js';
import { CALLBACK_KEY, ELECTRUM, freePort, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { countWrites } from '../support/write-count.js';

// Issue 17 item 2: /readyz asked PartPay for a token and wrote to the database on every call,
// answered its detail (PartPay's words about our credentials included) to anyone, also on the
// public callback listener, and turned dead letters into 503 for the whole fleet.

const READINESS_TOKEN = 'readiness-token-never-logged-4711';
const refusingPartPay = { merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'not-the-secret-we-send', callbackKey: CALLBACK_KEY, qrDelivery: 'base64' as const }] };
/** What PartPay (the simulator) says about a wrong client secret, and how we name the client to it. */
const CREDENTIAL_TEXT = /invalid_client|test-client|token request|Unauthorized/;

type Ready = { status: string; checks?: Record<string, { ok: boolean; detail?: string }>; alerts?: Record<string, string> };

describe('readiness while PartPay refuses our credentials', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ electrum: {}, simulator: refusingPartPay });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('asks PartPay nothing and writes nothing to the database, however often it is called', async () => {
    const requests = h.sim.stats().requests;
    const writes = await countWrites(h);
    const answers: number[] = [];
    for (let i = 0; i < 21; i += 1) answers.push((await call(`${h.url}/readyz`)).status);
    expect(answers).toEqual(Array.from({ length: 21 }, () => 200));
    expect(h.sim.stats().requests - requests).toBe(0);
    expect(await writes()).toBe(0);
    // (the count would show a probe: its write, rolled back, counts)
    await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
    expect(await writes()).toBeGreaterThan(0);
  });

  it('never tells a terminal or a POS client what PartPay said about our credentials', async () => {
    const created = await call<PaymentJson & { error: { message: string } }>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'CRED-1' } });
    expect(created.status).toBeGreaterThanOrEqual(500);
    expect(created.text).not.toMatch(CREDENTIAL_TEXT);
    expect(created.body.error.message).toMatch(/PartPay/);
    const listed = await call(`${h.url}/v1/payments`, { headers: h.auth() });
    expect(listed.text).toContain('CRED-1');
    expect(listed.text).not.toMatch(CREDENTIAL_TEXT);
    const pos = electrumPos(h, ELECTRUM.posPartPay);
    const code = await pos.createQrCode(pos.qrRequest(100));
    expect(code.status).toBe(503);
    expect(code.text).not.toMatch(CREDENTIAL_TEXT);
    // ...while the operator on this machine reads it in the readiness detail, as an alert
    const ready = await call<Ready>(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.alerts?.['partpay_token:m1']).toMatch(/invalid_client/);
  });

  it('answers only the status to a client behind a proxy it does not trust', async () => {
    const forwarded = await call<Ready>(`${h.url}/readyz`, { headers: { 'X-Forwarded-For': '203.0.113.7' } });
    expect(forwarded.status).toBe(200);
    expect(forwarded.body).toEqual({ status: 'ready' });
  });
});

describe('readiness detail behind a trusted proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { trustProxy: ['127.0.0.1'] }, ops: { readinessToken: READINESS_TOKEN } }, extraSecrets: [READINESS_TOKEN] });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('shows the checks to loopback clients and to the readiness token, and only the status to others', async () => {
    const remote = { 'X-Forwarded-For': '203.0.113.7' };
    expect((await call<Ready>(`${h.url}/readyz`, { headers: remote })).body).toEqual({ status: 'ready' });
    expect((await call<Ready>(`${h.url}/readyz`, { headers: { ...remote, Authorization: 'Bearer wrong' } })).body).toEqual({ status: 'ready' });
    const withToken = await call<Ready>(`${h.url}/readyz`, { headers: { ...remote, Authorization: `Bearer ${READINESS_TOKEN}` } });
    expect(withToken.body.checks).toMatchObject({ database: { ok: true }, lifecycle: { ok: true } });
    const local = await call<Ready>(`${h.url}/readyz`, { headers: { 'X-Forwarded-For': '127.0.0.1' } });
    expect(local.body.checks).toMatchObject({ database: { ok: true } });
    expect((await call<Ready>(`${h.url}/readyz`)).body.checks).toMatchObject({ database: { ok: true } });
  });
});

describe('readiness means "can serve", never "an operator has a backlog"', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('stays ready with dead letters and an old owed delivery, which stay visible in the detail and the metrics', async () => {
    const insert = (state: string, nextAttemptAt: number) =>
      h.sql("INSERT INTO outbox (kind, payment_id, payload, state, attempts, next_attempt_at, created_at, updated_at) VALUES ('upstream.cancel', NULL, '{}', ?, 5, ?, 0, 0)", state, nextAttemptAt);
    for (let i = 0; i < 472; i += 1) await insert('dead', 0);
    await insert('pending', Date.now() + 3_600_000);
    await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
    const ready = await call<Ready>(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.alerts?.['outbox']).toMatch(/472 dead letter/);
    expect(await (await fetch(`${h.url}/metrics`)).text()).toMatch(/tenderbridge_outbox_depth\{state="dead"\} 472/);
  });
});

describe('the public callback listener', () => {
  it('serves the callback and /healthz only: no readiness, metrics, terminal API or pages', async () => {
    const callbackPort = await freePort();
    const h = await startHarness({ config: { server: { callbackListener: { host: '127.0.0.1', port: callbackPort } } } });
    try {
      const base = h.daemon.callbackBaseUrl() as string;
      expect((await call(`${base}/healthz`)).status).toBe(200);
      for (const path of ['/readyz', '/metrics', '/v1/terminal', '/terminal', '/console']) expect((await call(`${base}${path}`, { headers: h.auth() })).status, path).toBe(404);
      const body = buildSignedCallbackBody([['orderId', '123e4567-e89b-12d3-a456-426655440000'], ['orderNumber', '1'], ['orderStatus', 'approved']], CALLBACK_KEY);
      expect((await call(`${base}/partpay/callback`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })).status).toBe(200);
      expect((await call(`${h.url}/readyz`)).status).toBe(200);
    } finally {
      await h.stop();
    }
  });
});
