import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DISPLAY_PROFILES, eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';

async function withHarness(options: Parameters<typeof startHarness>[0], body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness(options);
  try {
    await body(h);
  } finally {
    await h.stop();
  }
}

const create = (h: Harness, amountMinor = 1000, which: 1 | 2 = 1) =>
  call<PaymentJson & ErrorJson>(`${h.url}/v1/payments`, { headers: h.auth(which), json: { amountMinor, currency: 'NZD', merchantReference: `V-${amountMinor}` } });

describe('PartPay QR variants', () => {
  it.each(['base64', 'data-uri', 'url'] as const)('serves a terminal image and the QR text when PartPay answers with %s', async (qrDelivery) => {
    await withHarness(
      {
        simulator: {
          merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'test-client-secret-never-logged', callbackKey: 'iDt3PoeoSHu3r/mTbzkaHg', qrDelivery }],
        },
      },
      async (h2) => {
        const res = await create(h2);
        expect(res.status, res.text).toBe(201);
        const [row] = await h2.sql<{ qr_kind: string; qr_data: string }>('SELECT qr_kind, qr_data FROM payments WHERE id = ?', res.body.id);
        expect(row?.qr_kind).toBe(qrDelivery === 'url' ? 'url' : 'base64');
        if (qrDelivery === 'data-uri') expect(row?.qr_data).toMatch(/^data:image\/jpeg;base64,/);
        for (const which of [1, 2] as const) {
          const img = await fetch(`${h2.url}/v1/payments/${res.body.id}/qr`, { headers: h2.auth(which) }).catch(() => null);
          if (which === 2) {
            expect(img?.status).toBe(404); // TERM0002 does not own it
            continue;
          }
          expect(img?.status).toBe(200);
          const meta = await sharp(Buffer.from(await (img as Response).arrayBuffer())).metadata();
          expect(meta).toMatchObject({ format: 'png', width: 320, height: 320 });
        }
        const expected = `${h2.sim.url()}/phone/orders/${res.body.partpay?.orderId}`;
        const payment = async () => (await call<PaymentJson>(`${h2.url}/v1/payments/${res.body.id}`, { headers: h2.auth() })).body;
        // The image was served without reading its text.
        expect((await payment()).qr?.text).toBeNull();
        expect((await call(`${h2.url}/v1/payments/${res.body.id}/qr/text`, { headers: h2.auth(2) })).status).toBe(404);
        for (let i = 0; i < 2; i++) {
          const read = await call<{ text: string }>(`${h2.url}/v1/payments/${res.body.id}/qr/text`, { headers: h2.auth() });
          expect(read.status, read.text).toBe(200);
          expect(read.body).toEqual({ text: expected });
        }
        expect((await payment()).qr?.text).toBe(expected);
      },
    );
  });

  it('answers 502 when the text of an image without a QR code is asked, and keeps qr.text null', async () => {
    await withHarness({}, async (h) => {
      const res = await create(h);
      // A copy of that payment whose PartPay image is plain grey, never loaded before.
      const blank = await sharp({ create: { width: 120, height: 120, channels: 3, background: '#808080' } }).jpeg().toBuffer();
      const id = randomUUID();
      const [row] = await h.sql('SELECT * FROM payments WHERE id = ?', res.body.id);
      const copy = { ...row, id, upstream_order_id: null, qr_kind: 'base64', qr_data: blank.toString('base64') };
      const columns = Object.keys(copy);
      await h.sql(`INSERT INTO payments (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, ...Object.values(copy));
      expect((await fetch(`${h.url}/v1/payments/${id}/qr`, { headers: h.auth() })).status).toBe(200);
      const read = await call<ErrorJson>(`${h.url}/v1/payments/${id}/qr/text`, { headers: h.auth() });
      expect(read.status, read.text).toBe(502);
      expect(read.body.error).toMatchObject({ code: 'upstream_invalid_response', message: expect.stringMatching(/no readable QR code/) });
      expect((await call<PaymentJson>(`${h.url}/v1/payments/${id}`, { headers: h.auth() })).body.qr?.text).toBeNull();
    });
  });

  it("renders in the second terminal's own profile (JPEG, mono, 200 px)", async () => {
    await withHarness({}, async (h) => {
      const res = await create(h, 1000, 2);
      const profile = DISPLAY_PROFILES.jpegMono;
      const img = await fetch(`${h.url}/v1/payments/${res.body.id}/qr`, { headers: h.auth(2) });
      expect(img.headers.get('content-type')).toBe(`image/${profile.format}`);
      const bytes = Buffer.from(await img.arrayBuffer());
      expect(await sharp(bytes).metadata()).toMatchObject({ format: profile.format, width: profile.size, height: profile.size });
    });
  });
});

describe('PartPay tokens', () => {
  it('refreshes the token before it expires and keeps working', async () => {
    await withHarness({ simulator: { tokenTtlSeconds: 2 }, config: { partpay: { tokenRefreshMarginSeconds: 1 } } }, async (h) => {
      expect((await create(h, 1001)).status).toBe(201);
      expect((await create(h, 1002)).status).toBe(201);
      expect(h.sim.stats().tokensIssued).toBe(1);
      // Wait until the token the daemon holds is inside its refresh margin (1 s before it expires), by the daemon's own record of it.
      const { expiresAt } = h.daemon.tokens.status()[0] as { expiresAt: number };
      await eventually(() => Date.now() >= expiresAt - 1_000, 5_000);
      expect((await create(h, 1003)).status).toBe(201);
      expect(h.sim.stats().tokensIssued).toBe(2);
      expect(h.daemon.tokens.status()[0]).toMatchObject({ refreshes: 2, failures: 0 });
    });
  });

  it('fails the payment with a clear upstream error when PartPay refuses our credentials', async () => {
    await withHarness({ simulator: { merchants: [{ merchantId: 'PP-MERCHANT-1', clientId: 'test-client', clientSecret: 'a-different-secret', callbackKey: 'k', qrDelivery: 'base64' }] } }, async (h) => {
      const res = await create(h);
      expect(res.status).toBe(502);
      expect(res.body.error.code).toBe('upstream_rejected');
      expect(res.body.error.details).toMatchObject({ state: 'failed' });
      // No order, so no QR: neither its image nor its text.
      for (const path of ['qr', 'qr/text']) expect((await call(`${h.url}/v1/payments/${String(res.body.error.details?.['paymentId'])}/${path}`, { headers: h.auth() })).status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('test-client-secret');
    });
  });
});

describe('callback key rotation', () => {
  it('accepts callbacks signed with either key while two are configured', async () => {
    for (const signer of ['old-key-AAAA', 'new-key-BBBB']) {
      await withHarness({ callbackKeys: ['old-key-AAAA', 'new-key-BBBB'], simulatorCallbackKey: signer }, async (h) => {
        const res = await create(h);
        await h.sim.approve(res.body.partpay?.orderId as string);
        await eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${res.body.id}`, { headers: h.auth() })).body.state === 'approved');
      });
    }
  });

  it('refuses callbacks signed with a retired key', async () => {
    await withHarness({ callbackKeys: ['new-key-BBBB'], simulatorCallbackKey: 'old-key-AAAA' }, async (h) => {
      const res = await create(h);
      await h.sim.approve(res.body.partpay?.orderId as string);
      await eventually(() => h.sim.stats().callbacksFailed === 1);
      expect((await call<PaymentJson>(`${h.url}/v1/payments/${res.body.id}`, { headers: h.auth() })).body.state).toBe('awaiting_customer');
      expect(h.logs.some((l) => l.includes('bad signature'))).toBe(true);
    });
  });
});

describe('lost callbacks and unreachable PartPay', () => {
  it('resolves a payment whose callback never arrives by asking PartPay', async () => {
    await withHarness({ simulator: { callbackUrl: 'http://127.0.0.1:9/nowhere' }, config: { partpay: { callbackUrl: null }, payments: { callbackOverdueSeconds: 1 } } }, async (h) => {
      const res = await create(h);
      await h.sim.approve(res.body.partpay?.orderId as string);
      expect(await h.daemon.core.reconciler.reconcileOverdue(0)).toBe(1);
      const now = await call<PaymentJson>(`${h.url}/v1/payments/${res.body.id}`, { headers: h.auth() });
      expect(now.body.state).toBe('approved');
      expect((await h.daemon.store.repos.payments.get(res.body.id))?.resolvedBy).toBe('reconcile');
    });
  });

  it('cancels locally when PartPay is unreachable and delivers the owed cancel later', async () => {
    await withHarness({}, async (h) => {
      const res = await create(h);
      const orderId = res.body.partpay?.orderId as string;
      const simPort = new URL(h.sim.url()).port;
      await h.sim.close();
      const cancelled = await call<PaymentJson>(`${h.url}/v1/payments/${res.body.id}/cancel`, { method: 'POST', headers: h.auth() });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.state).toBe('cancelled');
      const owed = await h.daemon.store.repos.outbox.ofPayment(res.body.id);
      expect(owed).toEqual([expect.objectContaining({ kind: 'upstream.cancel', state: 'pending' })]);
      // PartPay comes back (same port); the outbox delivers the cancel.
      await h.sim.listen(Number(simPort), '127.0.0.1');
      await eventually(async () => {
        await h.daemon.deliverer.run();
        return (await h.daemon.store.repos.outbox.ofPayment(res.body.id))[0]?.state === 'done';
      });
      expect(h.sim.getOrder(orderId)?.status).toBe('cancelled');
    });
  });

  it('answers 503 and fails the payment when PartPay cannot be reached to create the order', async () => {
    await withHarness({}, async (h) => {
      await h.sim.close();
      const res = await create(h);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('upstream_unavailable');
      expect(res.body.error.details?.['paymentId']).toBeTruthy();
      expect((await h.daemon.store.repos.payments.get(res.body.error.details?.['paymentId'] as string))?.state).toBe('failed');
    });
  });
});
