import { afterEach, describe, expect, it } from 'vitest';
import { createElectrumPartnerSimulator } from '../../src/simulator/electrum-partner/index.js';
import { createPartPaySimulator, mulberry32 } from '../../src/simulator/partpay/index.js';
import { call } from '../support/http.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function partpay(faults: Record<string, unknown> = {}) {
  const sim = createPartPaySimulator({ protocol: {}, audience: 'aud', merchants: [{ merchantId: 'M', clientId: 'c', clientSecret: 's', callbackKey: 'k', qrDelivery: 'base64' }], faults });
  const url = await sim.listen(0);
  closers.push(() => sim.close());
  return { sim, url };
}

describe('fault injection in the simulators', () => {
  it('mulberry32 repeats its sequence for a seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });

  it('has every fault off by default and switches them with POST /admin/faults', async () => {
    const { url } = await partpay();
    const before = await call<{ faults: { callbacks: { drop: number } }; injected: Record<string, number> }>(`${url}/admin/faults`);
    expect(before.body.faults.callbacks.drop).toBe(0);
    expect(before.body.injected).toEqual({});
    const set = await call<{ faults: { seed: number; api: { error5xx: number } } }>(`${url}/admin/faults`, { json: { seed: 9, api: { error5xx: 1 } } });
    expect(set.status).toBe(200);
    expect(set.body.faults).toMatchObject({ seed: 9, api: { error5xx: 1 } });
    const token = await call(`${url}/oauth/token`, { json: { grant_type: 'client_credentials', client_id: 'c', client_secret: 's', audience: 'aud' } });
    expect(token.status).toBe(200);
    const api = await call(`${url}/api/terminal/orders/x`, { headers: { authorization: `Bearer ${(token.body as { access_token: string }).access_token}`, 'merchant-id': 'M' } });
    expect([500, 502, 503]).toContain(api.status);
    expect((await call<{ injected: Record<string, number> }>(`${url}/admin/faults`)).body.injected).toEqual({ 'api.error5xx': 1 });
  });

  it('refuses a fault set it does not understand, with a 400 naming the key', async () => {
    const { url } = await partpay();
    const res = await call(`${url}/admin/faults`, { json: { api: { error5xx: 2 } } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('api.error5xx');
    expect((await call(`${url}/admin/faults`, { json: { nonsense: 1 } })).status).toBe(400);
  });

  it('draws the same faults again from the same seed', async () => {
    const run = async () => {
      const { url } = await partpay({ seed: 5, token: { error: 0.5 } });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) statuses.push((await call(`${url}/oauth/token`, { json: { grant_type: 'client_credentials', client_id: 'c', client_secret: 's', audience: 'aud' } })).status);
      return statuses;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  it('switches the Electrum partner simulator faults the same way', async () => {
    const partner = createElectrumPartnerSimulator({ expects: { username: 'u', password: 'p' } });
    const url = await partner.listen(0);
    closers.push(() => partner.close());
    expect((await call<{ faults: { late: number } }>(`${url}/admin/faults`)).body.faults.late).toBe(0);
    const set = await call<{ faults: { error500: number } }>(`${url}/admin/faults`, { json: { seed: 3, error500: 1 } });
    expect(set.body.faults.error500).toBe(1);
    const advice = await call(`${url}/qr/v1/payments/reversals`, { headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }, json: {} });
    expect(advice.status).toBe(500);
    expect((await call(`${url}/admin/faults`, { json: { late: -1 } })).status).toBe(400);
  });
});
