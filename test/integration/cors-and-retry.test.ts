import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { ServiceUnavailableError, UpstreamError, ValidationError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import { errorResponse } from '../../src/terminals/till-schemas.js';
import { startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson } from '../support/http.js';

const POS = 'https://pos.example.com';
const LAN_POS = 'http://10.0.0.5:3000';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { server: { cors: { origins: [POS, LAN_POS] }, authFailures: { perSourcePerMinute: 1000, perCredentialPerMinute: 2 } } } });
});
afterAll(async () => {
  await h.stop();
});

const preflight = (path: string, origin: string, method: string, headers: string) =>
  fetch(`${h.url}${path}`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } });

const list = (value: string | null) => (value ?? '').split(',').map((s) => s.trim().toLowerCase());

describe('CORS for browser-based tills (server.cors.origins)', () => {
  it('answers the preflight of a listed origin with what it may send, before authentication', async () => {
    const res = await preflight('/v1/payments', POS, 'POST', 'authorization,content-type,idempotency-key');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(POS);
    expect(list(res.headers.get('access-control-allow-methods'))).toEqual(expect.arrayContaining(['get', 'post']));
    expect(list(res.headers.get('access-control-allow-headers'))).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'last-event-id']));
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(list(res.headers.get('vary'))).toContain('origin');
    // Credentials are a bearer key sent by script, never cookies.
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers the preflight of the event stream (Last-Event-ID) and of a second listed origin', async () => {
    const res = await preflight('/v1/events', LAN_POS, 'GET', 'authorization,last-event-id');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LAN_POS);
  });

  it.each([['https://evil.example'], ['https://pos.example.com:8443'], ['http://pos.example.com'], ['null']])('refuses the preflight of %s with 403 and no CORS header', async (origin) => {
    const res = await preflight('/v1/payments', origin, 'POST', 'authorization,content-type');
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const body = errorResponse.parse(await res.json());
    expect(body.error).toMatchObject({ code: 'origin_not_allowed', message: `origin ${origin} may not call the terminal API: list it in server.cors.origins`, retryable: false });
  });

  it('lets a listed origin read answers and the headers a till needs (Retry-After among them)', async () => {
    const res = await call(`${h.url}/v1/terminal`, { headers: { ...h.auth(), Origin: POS } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(POS);
    expect(list(res.headers.get('access-control-expose-headers'))).toEqual(expect.arrayContaining(['retry-after', 'location', 'idempotent-replayed']));
    // Errors too, so a browser till can read why.
    const refused = await call(`${h.url}/v1/terminal`, { headers: { Authorization: 'Bearer wrong-key-0', Origin: POS } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(POS);
  });

  it('gives an unlisted origin no CORS header on a plain request (the browser keeps the answer from its script)', async () => {
    const res = await call(`${h.url}/v1/terminal`, { headers: { ...h.auth(), Origin: 'https://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is for the terminal API only: the console answers no preflight', async () => {
    const res = await preflight('/console/api/payments', POS, 'GET', 'authorization');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('Retry-After and retryable on the daemon', () => {
  it('a 429 of the failed-authentication limiter says retryable with its own Retry-After', async () => {
    const wrong = { Authorization: 'Bearer wrong-key-for-429' };
    let last = await call<ErrorJson>(`${h.url}/v1/terminal`, { headers: wrong });
    for (let i = 0; i < 3 && last.status !== 429; i++) last = await call<ErrorJson>(`${h.url}/v1/terminal`, { headers: wrong });
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(last.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(last.body.error).toMatchObject({ code: 'rate_limited', retryable: true });
  });

  it('a create PartPay refused for good is not retryable with the same key, and has no Retry-After', async () => {
    h.sim.setFaults({ api: { error5xx: 1 } });
    try {
      const res = await call<ErrorJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': 'retry-1' }, json: { amountMinor: 100, currency: 'NZD', merchantReference: 'RETRY-1' } });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body.error).toMatchObject({ retryable: false });
      expect(res.headers.get('retry-after')).toBeNull();
    } finally {
      h.sim.setFaults({});
    }
  });
});

describe('Retry-After and retryable from the one error handler', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const router = express.Router();
    router.get('/upstream-down', () => {
      throw new UpstreamError('upstream_unavailable', 'PartPay could not be reached', { retryable: true });
    });
    router.get('/upstream-refused', () => {
      throw new UpstreamError('upstream_rejected', 'PartPay refused the order', { retryable: false });
    });
    router.get('/shutting-down', () => {
      throw new ServiceUnavailableError('tenderbridge is shutting down');
    });
    router.get('/bug', () => {
      throw new Error('a bug');
    });
    router.get('/bad', () => {
      throw new ValidationError('amountMinor: must be an integer');
    });
    const logger = createLogger({ level: 'error', stream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
    server = createServer(createApp({ logger, mounts: [{ path: '/', router }] })).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it.each([
    ['/upstream-down', 503, true, '5'],
    ['/shutting-down', 503, true, '5'],
    ['/bug', 500, true, '5'],
    ['/upstream-refused', 502, false, null],
    ['/bad', 400, false, null],
  ] as const)('%s answers %i, retryable %s, Retry-After %s', async (path, status, retryable, retryAfter) => {
    const res = await call<ErrorJson>(`${base}${path}`);
    expect(res.status).toBe(status);
    expect(errorResponse.parse(res.body).error.retryable).toBe(retryable);
    expect(res.headers.get('retry-after')).toBe(retryAfter);
  });
});
