import { describe, expect, it } from 'vitest';
import { createQrPool } from '../../src/qr/qr-pool.js';
import { startHarness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

describe("the daemon's QR worker threads", () => {
  it('decode and render the PartPay image on a worker thread, which ends when the daemon stops', async () => {
    const pool = createQrPool();
    const h = await startHarness({ qrPool: pool });
    try {
      // Started with the daemon, so the first payment does not wait for it.
      expect(pool.workers).toBe(1);
      const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 1000, currency: 'NZD', merchantReference: 'R-workers' } });
      expect(created.status, created.text).toBe(201);
      const qr = await fetch(`${h.url}${created.body.qr?.imageUrl}`, { headers: h.auth() });
      expect(qr.status).toBe(200);
      expect(qr.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await qr.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
      expect(pool.workers).toBe(1);
    } finally {
      await h.stop();
    }
    expect(pool.workers).toBe(0);
    await expect(pool.run({ op: 'render', image: { data: new Uint8Array(1), width: 1, height: 1 }, profile: { format: 'png', size: 64, margin: 0, colour: 'mono', quality: 85 } })).rejects.toThrow('QR worker pool is closed');
  });
});
