import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/shared/errors.js';
import { MERCHANTS, adapterFor, credentials, startServer, stubTokens } from './support.js';

const cred = credentials(MERCHANTS.base64);
const createReq = { paymentId: 'pay-1', merchantReference: 'ref-1', amountMinor: 1000, currency: 'NZD', idempotencyKey: 'idem-1' };
const goodOrder = { orderId: '5f0c6f0e-8d1f-4a57-9d43-3f1c2d1b0a11', orderNumber: '240101-000001', orderStatus: 'PENDING', qrCodeImage: 'aGVsbG8=' };

const servers: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A fake PartPay whose create endpoint answers from `respond`; records what it received. */
async function fakePartPay(respond: (req: express.Request, res: express.Response, call: number) => void) {
  const seen: Array<{ headers: express.Request['headers']; body: unknown }> = [];
  const server = await startServer((app) => {
    app.post('/api/terminal/orders', express.json(), (req, res) => {
      seen.push({ headers: req.headers, body: req.body });
      respond(req, res, seen.length);
    });
  });
  servers.push(server);
  return { url: server.url, seen };
}

describe('PartPay client failure handling', () => {
  it('retries 5xx with the same idempotency key and body, then succeeds', async () => {
    const fake = await fakePartPay((_req, res, call) => void (call < 3 ? res.status(503).send('busy') : res.status(201).json(goodOrder)));
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    const order = await client.createOrder(cred, createReq);
    expect(order).toMatchObject({ orderId: goodOrder.orderId, status: 'pending', qr: { kind: 'base64', data: 'aGVsbG8=' } });
    expect(fake.seen).toHaveLength(3);
    expect(new Set(fake.seen.map((s) => s.headers['idempotency-key']))).toEqual(new Set(['idem-1']));
    expect(new Set(fake.seen.map((s) => JSON.stringify(s.body))).size).toBe(1);
    expect(fake.seen[0]?.headers['partpay-merchantid']).toBe('mer-base64');
    expect(fake.seen[0]?.body).toEqual({ amount: 10, gatewayReference: 'pay-1', merchantReference: 'ref-1' });
  });

  it('gives up after the configured attempts with upstream_unavailable', async () => {
    const fake = await fakePartPay((_req, res) => void res.status(500).json({ title: 'Internal', detail: 'db down' }));
    const { client } = adapterFor(fake.url, { tokens: stubTokens(), retries: { attempts: 2, initialDelayMs: 5 } });
    const err = await client.createOrder(cred, createReq).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'upstream_unavailable', retryable: true, upstreamStatus: 500 });
    expect((err as Error).message).toContain('db down');
    expect(fake.seen).toHaveLength(2);
  });

  it('honours Retry-After on 429', async () => {
    const fake = await fakePartPay((_req, res, call) => void (call === 1 ? res.status(429).set('retry-after', '1').end() : res.status(201).json(goodOrder)));
    const { client } = adapterFor(fake.url, { tokens: stubTokens(), retries: { attempts: 2, initialDelayMs: 1 } });
    const started = Date.now();
    await client.createOrder(cred, createReq);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not retry a 400 and keeps PartPay validation messages', async () => {
    const fake = await fakePartPay((_req, res) =>
      void res.status(400).json({ message: 'The request is invalid.', isValid: false, errors: [{ propertyName: 'amount', errorMessages: ["'amount' must be greater than '0'."] }], type: 'https://partpay.net/errors/property-validation' }),
    );
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    const err = await client.createOrder(cred, createReq).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_rejected', retryable: false, upstreamStatus: 400 });
    expect((err as Error).message).toContain("amount: 'amount' must be greater than '0'.");
    expect(fake.seen).toHaveLength(1);
  });

  it('invalidates the token after a 401 and retries once with a fresh one', async () => {
    const fake = await fakePartPay((req, res) =>
      void (req.headers.authorization === 'Bearer token-1' ? res.status(401).json({ title: 'Unauthorized' }) : res.status(201).json(goodOrder)),
    );
    const tokens = stubTokens();
    const { client } = adapterFor(fake.url, { tokens });
    await client.createOrder(cred, createReq);
    expect(tokens.invalidated).toEqual(['client-base64']);
    expect(fake.seen.map((s) => s.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('reports a second 401 as upstream_rejected', async () => {
    const fake = await fakePartPay((_req, res) => void res.status(401).json({ title: 'Unauthorized', detail: 'token revoked' }));
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    await expect(client.createOrder(cred, createReq)).rejects.toMatchObject({ code: 'upstream_rejected', upstreamStatus: 401 });
    expect(fake.seen).toHaveLength(2);
  });

  it('times out a slow PartPay as upstream_timeout after retrying', async () => {
    const fake = await fakePartPay(() => undefined);
    const { client } = adapterFor(fake.url, { tokens: stubTokens(), timeoutMs: 100, retries: { attempts: 2, initialDelayMs: 5 } });
    const err = await client.createOrder(cred, createReq).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_timeout', retryable: true });
    expect(fake.seen).toHaveLength(2);
  });

  it('times out a PartPay that sends headers and then stalls mid-body', async () => {
    const fake = await fakePartPay((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write('{"orderId":');
    });
    const { client } = adapterFor(fake.url, { tokens: stubTokens(), timeoutMs: 150, retries: { attempts: 2, initialDelayMs: 5 } });
    // The body never ends: without the timeout this call would hang until the test's own timeout.
    const err = await client.createOrder(cred, createReq).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_timeout', retryable: true });
    expect(fake.seen).toHaveLength(2);
  });

  it('reuses one kept-alive connection for the retries after error answers', async () => {
    const ports: Array<number | undefined> = [];
    const fake = await fakePartPay((req, res, call) => {
      ports.push(req.socket.remotePort);
      void (call < 3 ? res.status(503).json({ title: 'busy' }) : res.status(201).json(goodOrder));
    });
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    await client.createOrder(cred, createReq);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  it('reports an unreachable PartPay as upstream_unavailable', async () => {
    const dead = await startServer(() => undefined);
    await dead.close();
    const { client } = adapterFor(dead.url, { tokens: stubTokens(), retries: { attempts: 2, initialDelayMs: 1 } });
    await expect(client.getOrder(cred, 'x')).rejects.toMatchObject({ code: 'upstream_unavailable', retryable: true });
  });

  it('rejects a 2xx without any QR field as upstream_invalid_response', async () => {
    const fake = await fakePartPay((_req, res) => void res.status(201).json({ orderId: goodOrder.orderId }));
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    await expect(client.createOrder(cred, createReq)).rejects.toMatchObject({ code: 'upstream_invalid_response' });
  });

  it('rejects a 2xx that is not JSON as upstream_invalid_response', async () => {
    const fake = await fakePartPay((_req, res) => void res.status(200).type('html').send('<html>proxy</html>'));
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    await expect(client.createOrder(cred, createReq)).rejects.toMatchObject({ code: 'upstream_invalid_response', upstreamStatus: 200 });
  });

  it('resolves a relative QR URL against the API base', async () => {
    const fake = await fakePartPay((_req, res) => void res.status(201).json({ orderId: goodOrder.orderId, qrCodeUrl: 'qr/abc.jpg' }));
    const { client } = adapterFor(fake.url, { tokens: stubTokens() });
    const order = await client.createOrder(cred, createReq);
    expect(order.qr).toEqual({ kind: 'url', url: `${fake.url}/api/qr/abc.jpg` });
    expect(order.status).toBeNull();
  });
});
