import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { CALLBACK_KEY, ELECTRUM, freePort, startHarness, type Harness } from '../support/harness.js';
import { call } from '../support/http.js';

// Issue 17 item 3: after 60 wrong bearer keys from one address, everything from that address
// got 429: valid terminal keys, /healthz, /readyz and correctly signed PartPay callbacks. Behind
// a NAT or a proxy that address is every till of the store. Only further failing attempts may be
// refused. The attacker and the tills share 127.0.0.3 here (all of 127/8 is loopback).

const NAT = '127.0.0.3';
const signed = (orderId: string) => buildSignedCallbackBody([['orderId', orderId], ['orderNumber', '1'], ['orderStatus', 'approved']], CALLBACK_KEY);
const forged = (orderId: string) => buildSignedCallbackBody([['orderId', orderId], ['orderNumber', '1'], ['orderStatus', 'approved']], 'not-the-callback-key');
const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Sends `n` wrong bearer keys (each a different one) from `from`; returns the statuses. */
async function wrongKeys(url: string, n: number, from: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += 1) statuses.push((await call(`${url}/v1/terminal`, { localAddress: from, headers: { Authorization: `Bearer guess-${from}-${i}` } })).status);
  return statuses;
}

describe('a store address that sent 60 wrong keys (the default limit)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ electrum: {} });
    const statuses = await wrongKeys(h.url, 61, NAT);
    expect(statuses.slice(0, 60).every((s) => s === 401)).toBe(true);
    expect(statuses[60]).toBe(429);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('still serves valid terminal keys, POS and partner passwords from that address', async () => {
    expect((await call(`${h.url}/v1/terminal`, { localAddress: NAT, headers: h.auth() })).status).toBe(200);
    expect((await call(`${h.url}/v1/terminal`, { localAddress: NAT, headers: h.auth(2) })).status).toBe(200);
    const pos = await call(`${h.url}/qr/v1/payments/confirmations`, { localAddress: NAT, headers: { Authorization: basicAuthHeader(ELECTRUM.pos.id, ELECTRUM.pos.password) }, json: {} });
    expect(pos.status).toBe(400); // authenticated: the body is what is wrong
  });

  it('still answers /healthz, /readyz and a correctly signed PartPay callback from that address', async () => {
    expect((await call(`${h.url}/healthz`, { localAddress: NAT })).status).toBe(200);
    expect((await call(`${h.url}/readyz`, { localAddress: NAT })).status).toBe(200);
    expect((await call(`${h.url}/partpay/callback`, { localAddress: NAT, headers: form, body: signed('123e4567-e89b-12d3-a456-426655440001') })).status).toBe(200);
  });

  it('refuses further failing attempts from that address with 429 and Retry-After', async () => {
    const bearer = await call<{ error: { code: string } }>(`${h.url}/v1/terminal`, { localAddress: NAT, headers: { Authorization: 'Bearer yet-another-guess' } });
    expect(bearer.status).toBe(429);
    expect(bearer.body.error.code).toBe('rate_limited');
    expect(bearer.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await call(`${h.url}/qr/v1/qrCodes`, { localAddress: NAT, headers: { Authorization: basicAuthHeader(ELECTRUM.pos.id, 'guess') }, json: {} })).status).toBe(429);
    expect((await call(`${h.url}/v1/terminal`, { localAddress: NAT })).status).toBe(429);
    // another address is not held back by this one
    expect((await call(`${h.url}/v1/terminal`, { localAddress: '127.0.0.5', headers: { Authorization: 'Bearer yet-another-guess' } })).status).toBe(401);
  });
});

describe('the callback listener', () => {
  const PER_SOURCE = 4;
  let h: Harness;
  let callbackBase: string;
  beforeAll(async () => {
    const port = await freePort();
    h = await startHarness({ config: { server: { callbackListener: { host: '127.0.0.1', port }, authFailures: { perSourcePerMinute: PER_SOURCE, perCredentialPerMinute: 100 } } } });
    callbackBase = h.daemon.callbackBaseUrl() as string;
  });
  afterAll(async () => {
    await h.stop();
  });

  it('has its own limiter: failures on the terminal listener do not count there, nor the other way round', async () => {
    const from = '127.0.0.6';
    expect((await wrongKeys(h.url, PER_SOURCE + 1, from)).at(-1)).toBe(429);
    const callbacks: number[] = [];
    for (let i = 0; i <= PER_SOURCE; i += 1) callbacks.push((await call(`${callbackBase}/partpay/callback`, { localAddress: from, headers: form, body: forged(`123e4567-e89b-12d3-a456-42665544010${i}`) })).status);
    expect(callbacks).toEqual([...Array.from({ length: PER_SOURCE }, () => 401), 429]);
    // a correctly signed callback from the same address is applied whatever came before
    expect((await call(`${callbackBase}/partpay/callback`, { localAddress: from, headers: form, body: signed('123e4567-e89b-12d3-a456-426655440200') })).status).toBe(200);
    expect((await call(`${h.url}/v1/terminal`, { localAddress: from, headers: h.auth() })).status).toBe(200);

    const other = '127.0.0.7';
    for (let i = 0; i <= PER_SOURCE; i += 1) await call(`${callbackBase}/partpay/callback`, { localAddress: other, headers: form, body: forged(`123e4567-e89b-12d3-a456-42665544030${i}`) });
    expect((await wrongKeys(h.url, 1, other))[0]).toBe(401);
  });
});
