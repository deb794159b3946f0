import jsqrModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateOrderRequest } from '../../src/partpay/types.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { JPEG_MAGIC, MERCHANTS, adapterFor, credentials, startSimulator } from './support.js';

let seq = 0;
function orderRequest(overrides: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
  seq += 1;
  return { paymentId: `pay-${seq}`, merchantReference: `lane1-${seq}`, amountMinor: 1050, currency: 'NZD', idempotencyKey: `idem-${seq}-${Date.now()}`, ...overrides };
}

// jsqr is CommonJS compiled from TypeScript: under NodeNext its default import is the module object.
const jsQR = jsqrModule.default;

/** Decodes a JPEG's QR code to its text. */
async function qrText(jpeg: Buffer): Promise<string | null> {
  const { data, info } = await sharp(jpeg).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsQR(new Uint8ClampedArray(data), info.width, info.height)?.data ?? null;
}

describe('PartPay client against the simulator', () => {
  let env: Awaited<ReturnType<typeof startSimulator>>;
  let adapter: ReturnType<typeof adapterFor>;
  beforeAll(async () => {
    env = await startSimulator();
    adapter = adapterFor(env.url);
  });
  afterAll(() => env.sim.close());

  it('creates an order answered with a base64 JPEG holding a real QR of the phone URL', async () => {
    const order = await adapter.client.createOrder(credentials(MERCHANTS.base64), orderRequest());
    expect(order.orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(order.orderNumber).toMatch(/^\d{6}-\d{6}$/);
    expect(order.status).toBe('pending');
    if (order.qr.kind !== 'base64') throw new Error('expected base64');
    const jpeg = Buffer.from(order.qr.data, 'base64');
    expect(jpeg.subarray(0, 3)).toEqual(JPEG_MAGIC);
    expect(await qrText(jpeg)).toBe(`${env.url}/phone/orders/${order.orderId}`);
  });

  it('sends the amount in major units and the references the simulator echoes', async () => {
    const req = orderRequest({ amountMinor: 12345 });
    const order = await adapter.client.createOrder(credentials(MERCHANTS.base64), req);
    expect(env.sim.getOrder(order.orderId)).toMatchObject({ amount: 123.45, gatewayReference: req.paymentId, merchantReference: req.merchantReference, merchantId: 'mer-base64' });
  });

  it('passes a data-URI QR through unchanged', async () => {
    const order = await adapter.client.createOrder(credentials(MERCHANTS.dataUri), orderRequest());
    if (order.qr.kind !== 'base64') throw new Error('expected base64');
    expect(order.qr.data.startsWith('data:image/jpeg;base64,')).toBe(true);
    const jpeg = Buffer.from(order.qr.data.slice('data:image/jpeg;base64,'.length), 'base64');
    expect(jpeg.subarray(0, 3)).toEqual(JPEG_MAGIC);
  });

  it('returns an absolute image URL that serves a JPEG', async () => {
    const order = await adapter.client.createOrder(credentials(MERCHANTS.url), orderRequest());
    if (order.qr.kind !== 'url') throw new Error('expected url');
    expect(order.qr.url).toBe(`${env.url}/qr-images/${order.orderId}.jpg`);
    const res = await fetch(order.qr.url);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect((await sharp(jpeg).metadata()).format).toBe('jpeg');
    expect(await qrText(jpeg)).toBe(`${env.url}/phone/orders/${order.orderId}`);
  });

  it('returns the first order for a repeated idempotency key and never creates a second', async () => {
    const sim = await startSimulator();
    try {
      const { client } = adapterFor(sim.url);
      const req = orderRequest();
      const [a, b] = await Promise.all([client.createOrder(credentials(MERCHANTS.base64), req), client.createOrder(credentials(MERCHANTS.base64), req)]);
      const c = await client.createOrder(credentials(MERCHANTS.base64), req);
      expect(b.orderId).toBe(a.orderId);
      expect(c.orderId).toBe(a.orderId);
      expect(sim.sim.stats().ordersCreated).toBe(1);
      expect(sim.sim.stats().tokensIssued).toBe(1);
    } finally {
      await sim.sim.close();
    }
  });

  it('reuses one token across many calls', async () => {
    const sim = await startSimulator();
    try {
      const { client } = adapterFor(sim.url);
      const cred = credentials(MERCHANTS.base64);
      const orders = await Promise.all(Array.from({ length: 10 }, () => client.createOrder(cred, orderRequest())));
      await Promise.all(orders.map((o) => client.getOrder(cred, o.orderId)));
      expect(sim.sim.stats()).toMatchObject({ tokensIssued: 1, ordersCreated: 10 });
    } finally {
      await sim.sim.close();
    }
  });

  it('sends the merchant id header: a credential with the wrong PartPay merchant id is refused with 403', async () => {
    const err = await adapter.client.createOrder(credentials(MERCHANTS.base64, { partpayMerchantId: 'mer-url' }), orderRequest()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'upstream_rejected', retryable: false, upstreamStatus: 403 });
    expect((err as Error).message).toContain('partpay-merchantid');
  });

  it('reads the status of an order after the customer approves it', async () => {
    const cred = credentials(MERCHANTS.base64);
    const order = await adapter.client.createOrder(cred, orderRequest());
    expect(await adapter.client.getOrder(cred, order.orderId)).toEqual({ orderId: order.orderId, orderNumber: order.orderNumber, status: 'pending' });
    await env.sim.approve(order.orderId);
    expect((await adapter.client.getOrder(cred, order.orderId)).status).toBe('approved');
  });

  it('cancels a pending order, repeats harmlessly, and refuses to cancel an approved one with 409', async () => {
    const cred = credentials(MERCHANTS.base64);
    const pending = await adapter.client.createOrder(cred, orderRequest());
    expect((await adapter.client.cancelOrder(cred, pending.orderId, 'cancel-1')).status).toBe('cancelled');
    expect((await adapter.client.cancelOrder(cred, pending.orderId, 'cancel-1')).status).toBe('cancelled');
    const approved = await adapter.client.createOrder(cred, orderRequest());
    await env.sim.approve(approved.orderId);
    const err = await adapter.client.cancelOrder(cred, approved.orderId, 'cancel-2').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_rejected', upstreamStatus: 409, retryable: false });
    expect((err as Error).message).toContain('approved');
  });

  it('refunds part of an approved order, repeats a reference idempotently and rejects an over-refund', async () => {
    const cred = credentials(MERCHANTS.base64);
    const order = await adapter.client.createOrder(cred, orderRequest({ amountMinor: 2000 }));
    await env.sim.approve(order.orderId);
    const first = await adapter.client.refundOrder(cred, order.orderId, { amountMinor: 1500, currency: 'NZD', reference: 'rf-1' });
    expect(first).toEqual({ refundId: expect.any(String), status: 'succeeded' });
    const again = await adapter.client.refundOrder(cred, order.orderId, { amountMinor: 1500, currency: 'NZD', reference: 'rf-1' });
    expect(again.refundId).toBe(first.refundId);
    const over = await adapter.client.refundOrder(cred, order.orderId, { amountMinor: 501, currency: 'NZD', reference: 'rf-2' }).catch((e: unknown) => e);
    expect(over).toMatchObject({ code: 'upstream_rejected', upstreamStatus: 400 });
    expect((over as Error).message).toContain('exceeds the refundable amount of 5');
    await adapter.client.refundOrder(cred, order.orderId, { amountMinor: 500, currency: 'NZD', reference: 'rf-3' });
    expect(env.sim.getOrder(order.orderId)?.refunds.map((r) => r.amountCents)).toEqual([1500, 500]);
  });

  it('refuses to refund an order that is not approved', async () => {
    const cred = credentials(MERCHANTS.base64);
    const order = await adapter.client.createOrder(cred, orderRequest());
    await expect(adapter.client.refundOrder(cred, order.orderId, { amountMinor: 100, currency: 'NZD', reference: 'rf-x' })).rejects.toMatchObject({ upstreamStatus: 409 });
  });

  it('sends its callback URL with the order so the simulator posts there', async () => {
    const { client } = adapterFor(env.url, { callbackUrl: 'http://127.0.0.1:9/partpay/callback' });
    const order = await client.createOrder(credentials(MERCHANTS.base64), orderRequest());
    expect(env.sim.getOrder(order.orderId)?.callbackUrl).toBe('http://127.0.0.1:9/partpay/callback');
  });

  it('works with non-default paths, header and field names', async () => {
    const protocol = {
      merchantIdHeader: 'x-partpay-merchant',
      idempotencyHeader: 'x-request-id',
      paths: { createOrder: '/v2/instore/orders', orderStatus: '/v2/instore/orders/{orderId}/status', cancelOrder: '/v2/instore/orders/{orderId}/void', refundOrder: '/v2/refunds/{orderId}' },
      fields: { amount: 'totalAmount', currency: 'currencyCode', callbackUrl: 'notifyUrl', orderId: 'id', orderNumber: 'number', orderStatus: 'state', qrImageBase64: 'qrJpeg', qrImageUrl: 'qrLink' },
    };
    const sim = await startSimulator({ protocol });
    try {
      const { client } = adapterFor(sim.url, {}, protocol);
      const cred = credentials(MERCHANTS.url);
      const req = orderRequest({ amountMinor: 999 });
      const order = await client.createOrder(cred, req);
      expect(order.qr.kind).toBe('url');
      expect((await client.createOrder(cred, req)).orderId).toBe(order.orderId);
      expect(sim.sim.getOrder(order.orderId)).toMatchObject({ amount: 9.99, currency: 'NZD' });
      expect((await client.cancelOrder(cred, order.orderId, 'c')).status).toBe('cancelled');
      expect((await client.getOrder(cred, order.orderId)).status).toBe('cancelled');
    } finally {
      await sim.sim.close();
    }
  });
});
