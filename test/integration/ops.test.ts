import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/shared/http/client-address.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// The daemon is told what it was built as; /healthz and the metrics must say exactly that.
const BUILD = {
  version: (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version,
  commit: '0123456789abcdef0123456789abcdef01234567',
  node: process.version,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ build: BUILD });
});
afterAll(async () => {
  await h.stop();
});

const metricValue = (text: string, name: string, labels = ''): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (labels && l.startsWith(`${name}{`) && l.includes(labels)));
  return line ? Number(line.split(' ').pop()) : null;
};

describe('health, readiness and metrics', () => {
  it('reports alive and ready with each check named', async () => {
    expect((await call(`${h.url}/healthz`)).body).toEqual({ status: 'ok', version: BUILD.version, commit: BUILD.commit });
    const ready = await call<{ status: string; checks: Record<string, { ok: boolean }>; alerts: Record<string, string> }>(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ database: { ok: true }, lifecycle: { ok: true } });
    expect(ready.body.alerts).toEqual({});
  });

  it('exposes Prometheus metrics for payments, HTTP, PartPay calls, callbacks and the outbox', async () => {
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 990, currency: 'NZD', merchantReference: 'M-1' } })).body;
    await h.sim.approve(p.partpay?.orderId as string);
    await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body.state === 'approved');
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(metricValue(text, 'tenderbridge_payments', 'provider="partpay",state="approved"')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'tenderbridge_payments_resolved_total', 'by="callback",state="approved"')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'tenderbridge_partpay_callbacks_total', 'outcome="applied"')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/tenderbridge_http_request_duration_seconds_count\{method="POST",route="\/v1\/payments",status="201"\} [1-9]/);
    expect(text).toMatch(/tenderbridge_partpay_call_duration_seconds_count\{operation="createOrder",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/tenderbridge_callback_lag_seconds_count [1-9]/);
    // Each answer that reported a write waited for a flush of SQLite's WAL, timed here; PostgreSQL's COMMIT flushes by itself.
    const flushes = Number(/^tenderbridge_db_flush_duration_seconds_count (\d+)$/m.exec(text)?.[1]);
    if (h.backend === 'sqlite') expect([flushes >= 2, Number(/^tenderbridge_db_flush_duration_seconds_sum (\S+)$/m.exec(text)?.[1]) > 0]).toEqual([true, true]);
    else expect(flushes).toBe(0);
    expect(metricValue(text, 'tenderbridge_outbox_depth', 'state="dead"')).toBe(0);
    expect(metricValue(text, 'tenderbridge_partpay_token_refreshes', 'merchant="m1"')).toBe(1);
    expect(text).toMatch(/tenderbridge_partpay_clock_skew_seconds -?\d/);
    expect(text).toContain('tenderbridge_process_resident_memory_bytes');
    expect(text).toContain(`tenderbridge_build_info{version="${BUILD.version}",commit="${BUILD.commit}",node="${BUILD.node}"} 1`);
  });

  it('echoes a safe X-Request-Id, makes one up otherwise, and logs it', async () => {
    const given = await call(`${h.url}/v1/terminal`, { headers: { ...h.auth(), 'X-Request-Id': 'till-7.req-42' } });
    expect(given.headers.get('x-request-id')).toBe('till-7.req-42');
    const unsafe = await call(`${h.url}/v1/terminal`, { headers: { ...h.auth(), 'X-Request-Id': 'bad id\twith spaces' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const error = await call<{ error: { requestId: string } }>(`${h.url}/v1/payments/nope`, { headers: { ...h.auth(), 'X-Request-Id': 'err-1' } });
    expect(error.body.error.requestId).toBe('err-1');
    expect(h.logs.some((l) => l.includes('"requestId":"till-7.req-42"'))).toBe(true);
  });

  it('names the payment and terminal on every log line about a payment', async () => {
    const all = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const lines = all.filter((l) => /payment/i.test(String(l['message'])) || 'paymentId' in l);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line, String(line['message'])).toHaveProperty('paymentId');
      expect(line, String(line['message'])).toHaveProperty('terminalId');
    }
  });

  it('tells loopback peers from others by the socket address', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('192.168.1.20')).toBe(false);
    expect(isLoopback('::ffff:10.0.0.5')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});

describe('metrics protected by a token', () => {
  it('refuses /metrics without the bearer token and serves it with it', async () => {
    const token = 'metrics-token-never-logged-123';
    const t = await startHarness({ config: { ops: { metricsAccess: 'token', metricsToken: token } }, extraSecrets: [token] });
    try {
      const none = await call(`${t.url}/metrics`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
      expect((await call(`${t.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it('stays ready when a merchant cannot get a PartPay token, and says why in an alert (#17 item 2)', async () => {
    const t = await startHarness({ simulator: { merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'another-secret', callbackKey: 'k', qrDelivery: 'base64' }] } });
    try {
      // Readiness never asks PartPay: the token manager's last result comes from real work.
      expect((await call(`${t.url}/v1/payments`, { headers: t.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'TOK-1' } })).status).toBe(502);
      const ready = await call<{ checks: Record<string, { ok: boolean }>; alerts: Record<string, string> }>(`${t.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.body.alerts['partpay_token:m1']).toMatch(/PartPay token request for client test-client failed \(401\)/);
    } finally {
      await t.stop();
    }
  });
});
