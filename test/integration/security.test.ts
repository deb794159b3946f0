import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import helmet from 'helmet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/ops/listeners.js';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { SECURITY_HEADER_OPTIONS } from '../../src/shared/http/security.js';
import { CALLBACK_KEY, eventually, freePort, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { fillDatabase } from '../support/database-full.js';
import { describeWhenAvailable, tools } from '../support/system-tools.js';

const orphanCallback = () =>
  buildSignedCallbackBody(
    [
      ['orderId', '123e4567-e89b-12d3-a456-426655440000'],
      ['orderNumber', '1'],
      ['orderStatus', 'approved'],
      ['gatewayReference', 'x'],
      ['merchantReference', 'y'],
    ],
    CALLBACK_KEY,
  );
const postCallback = (base: string, body = orphanCallback()) => call(`${base}/partpay/callback`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });

describe('security headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it.each(['/healthz', '/v1/terminal', '/nope'])('sets protective headers on %s', async (path) => {
    const res = await fetch(`${h.url}${path}`, { headers: h.auth() });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('sets exactly the headers helmet sets with our options, on answers, refusals and 404s alike', async () => {
    const reference = express();
    reference.disable('x-powered-by');
    reference.use(helmet(SECURITY_HEADER_OPTIONS));
    reference.get('/', (_req, res) => void res.end());
    const { server, url } = await listen(reference, { host: '127.0.0.1', port: 0 });
    const transport = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
    let expected: Array<[string, string]>;
    try {
      expected = [...(await fetch(url)).headers].filter(([name]) => !transport.has(name));
    } finally {
      server.close();
    }
    expect(expected.map(([name]) => name)).toEqual(expect.arrayContaining(['content-security-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-opener-policy']));
    for (const [path, headers] of [['/healthz', {}], ['/v1/terminal', h.auth()], ['/v1/terminal', {}], ['/nope', {}]] as const) {
      const res = await fetch(`${h.url}${path}`, { headers });
      for (const [name, value] of expected) expect(res.headers.get(name), `${name} on ${path} (${res.status})`).toBe(value);
    }
  });

  it('reports a full disk to the caller and in /readyz, and a retry completes the same payment once space is back', async () => {
    // The database refuses writes as a full disk does (SQLite: SQLITE_FULL; PostgreSQL: disk_full).
    const freeSpace = await fillDatabase(h);
    const ordersBefore = h.sim.stats().ordersCreated;
    const request = { headers: { ...h.auth(), 'Idempotency-Key': 'disk-full-1' }, json: { amountMinor: 100, currency: 'NZD', merchantReference: 'FULL-1' } };
    try {
      const res = await call<{ error: { code: string; message: string } }>(`${h.url}/v1/payments`, request);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'storage_unavailable', message: expect.stringContaining('disk is full') });
      await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
      const ready = await call<{ checks: { database: { ok: boolean; detail: string } } }>(`${h.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database.ok).toBe(false);
      // whatever fitted is consistent: at most the request, never an order we did not record as such
      const stored = await h.sql<{ state: string }>("SELECT state FROM payments WHERE merchant_reference = 'FULL-1'");
      expect(stored.every((p) => p.state === 'created')).toBe(true);
    } finally {
      await freeSpace();
    }
    await h.daemon.jobs.find((j) => j.name === 'readiness-probe')?.run();
    expect((await call(`${h.url}/readyz`)).status).toBe(200);
    const retry = await call<PaymentJson>(`${h.url}/v1/payments`, request);
    expect([200, 201]).toContain(retry.status);
    expect(retry.body.state).toBe('awaiting_customer');
    expect(h.sim.stats().ordersCreated - ordersBefore).toBeLessThanOrEqual(1);
    expect(await h.sql("SELECT count(*) AS n FROM payments WHERE merchant_reference = 'FULL-1'")).toEqual([{ n: 1 }]);
  });
});

describe('brute-force limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { server: { authFailures: { perSourcePerMinute: 8, perCredentialPerMinute: 3 } } } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('never counts successful requests, however many are in flight (long-polls)', async () => {
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'RL-1' } })).body;
    const polls = await Promise.all(Array.from({ length: 30 }, () => call(`${h.url}/v1/payments/${p.id}?wait=1&version=${p.version}`, { headers: h.auth() })));
    expect(polls.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 200));
  });

  it('limits failed attempts per credential, then per source, with 429 and Retry-After', async () => {
    const wrong = { Authorization: 'Bearer not-a-key' };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call(`${h.url}/v1/terminal`, { headers: wrong })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await call<{ error: { code: string } }>(`${h.url}/v1/terminal`, { headers: wrong });
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // another credential is still answered until the source runs out
    const others: number[] = [];
    for (let i = 0; i < 6; i += 1) others.push((await call(`${h.url}/v1/terminal`, { headers: { Authorization: `Bearer other-${i}` } })).status);
    expect(others.slice(0, 3)).toEqual([401, 401, 401]);
    expect(others.at(-1)).toBe(429);
    // once the source is limited, its further failures wait, but a valid key is served (#17 item 3)
    expect((await call(`${h.url}/v1/terminal`, { headers: { Authorization: 'Bearer other-x' } })).status).toBe(429);
    expect((await call(`${h.url}/v1/terminal`, { headers: h.auth() })).status).toBe(200);
  });
});

describeWhenAvailable('listeners: TLS and a separate callback listener', [tools.openssl()], () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tb-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS on both listeners with a self-signed certificate, and the callback only on its own listener', async () => {
    const callbackPort = await freePort();
    const tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
    const h = await startHarness({ config: { server: { tls, callbackListener: { host: '127.0.0.1', port: callbackPort, tls } } } });
    try {
      expect(h.url.startsWith('https://')).toBe(true);
      const agent = new https.Agent({ ca: readFileSync(tls.certFile) });
      const get = (url: string, headers: Record<string, string> = {}) =>
        new Promise<number>((resolve, reject) => {
          https.get(url, { agent, headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
      expect(await get(`${h.url}/v1/terminal`, h.auth())).toBe(200);
      const cbBase = h.daemon.callbackBaseUrl() as string;
      expect(cbBase).toBe(`https://127.0.0.1:${callbackPort}`);
      expect(await get(`${cbBase}/healthz`)).toBe(200);
      expect(await get(`${cbBase}/readyz`)).toBe(404);
      expect(await get(`${cbBase}/v1/terminal`, h.auth())).toBe(404);
      const post = (url: string) =>
        new Promise<number>((resolve, reject) => {
          const req = https.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(orphanCallback());
        });
      expect(await post(`${cbBase}/partpay/callback`)).toBe(200);
      expect(await post(`${h.url}/partpay/callback`)).toBe(404);
    } finally {
      await h.stop();
    }
  });
});

describe('listeners: callback sources', () => {
  it('refuses callbacks from sources outside the configured list, and accepts those inside it', async () => {
    const closed = await startHarness({ config: { partpay: { callbackAllowedSources: ['203.0.113.0/24'] } } });
    const open = await startHarness({ config: { partpay: { callbackAllowedSources: ['127.0.0.0/8', '::1'] } } });
    try {
      expect((await postCallback(closed.url)).status).toBe(403);
      expect((await postCallback(open.url)).status).toBe(200);
      // a payment through the real simulator still completes where the simulator is allowed
      const p = (await call<PaymentJson>(`${open.url}/v1/payments`, { headers: open.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'SRC-1' } })).body;
      await open.sim.approve(p.partpay?.orderId as string);
      // Only the callback can tell: nothing reconciles in this harness, so approved means it was let through.
      await eventually(async () => (await call<PaymentJson>(`${open.url}/v1/payments/${p.id}`, { headers: open.auth() })).body.state === 'approved');
      expect(open.sim.stats().callbacksSent).toBe(1);
    } finally {
      await closed.stop();
      await open.stop();
    }
  });
});
