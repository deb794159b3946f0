import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { CALLBACK_KEY, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';

// Issue 17 item 7: behind a reverse proxy on the same machine every request came from
// 127.0.0.1, so the loopback-only /metrics was public through the proxy and every client shared
// one rate-limit bucket. `server.trustProxy` names the proxies whose X-Forwarded-For is believed;
// "loopback only" always means the real client.

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
const callback = () => buildSignedCallbackBody([['orderId', '123e4567-e89b-12d3-a456-426655440000'], ['orderNumber', '1'], ['orderStatus', 'approved']], CALLBACK_KEY);

describe('a local proxy that is not configured as trusted', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { authFailures: { perSourcePerMinute: 3, perCredentialPerMinute: 100 } } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('does not make /metrics public: a forwarded request is not a loopback client', async () => {
    expect((await call(`${h.url}/metrics`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status).toBe(403);
    expect((await call(`${h.url}/metrics`, { headers: { Forwarded: 'for=203.0.113.9' } })).status).toBe(403);
    expect((await call(`${h.url}/metrics`)).status).toBe(200);
  });

  it('cannot be imitated: X-Forwarded-For from an untrusted peer never picks the rate-limit bucket', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call(`${h.url}/v1/terminal`, { localAddress: '127.0.0.9', headers: { Authorization: `Bearer guess-${i}`, 'X-Forwarded-For': `198.51.100.${i}` } })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe('server.trustProxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { trustProxy: ['127.0.0.1'], authFailures: { perSourcePerMinute: 3, perCredentialPerMinute: 100 } }, partpay: { callbackAllowedSources: ['203.0.113.0/24'] } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('serves /metrics through the proxy only to a client that is itself on loopback', async () => {
    expect((await call(`${h.url}/metrics`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).status).toBe(403);
    // a client claiming to be loopback, with the proxy appending its real address
    expect((await call(`${h.url}/metrics`, { headers: { 'X-Forwarded-For': '127.0.0.1, 203.0.113.9' } })).status).toBe(403);
    expect((await call(`${h.url}/metrics`, { headers: { 'X-Forwarded-For': '127.0.0.1' } })).status).toBe(200);
    expect((await call(`${h.url}/metrics`)).status).toBe(200);
    // a peer that is not the trusted proxy is never believed
    expect((await call(`${h.url}/metrics`, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '127.0.0.1' } })).status).toBe(403);
  });

  it('gives each forwarded client its own rate-limit bucket', async () => {
    const from = (client: string) => call(`${h.url}/v1/terminal`, { headers: { Authorization: `Bearer guess-${client}-${Math.random()}`, 'X-Forwarded-For': client } });
    const first: number[] = [];
    for (let i = 0; i < 4; i += 1) first.push((await from('203.0.113.1')).status);
    expect(first).toEqual([401, 401, 401, 429]);
    expect((await from('203.0.113.2')).status).toBe(401);
  });

  it('checks callback sources against the forwarded address', async () => {
    expect((await call(`${h.url}/partpay/callback`, { headers: { ...form, 'X-Forwarded-For': '203.0.113.5' }, body: callback() })).status).toBe(200);
    expect((await call(`${h.url}/partpay/callback`, { headers: { ...form, 'X-Forwarded-For': '198.51.100.5' }, body: callback() })).status).toBe(403);
  });
});
