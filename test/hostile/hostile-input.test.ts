import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { buildSignedCallbackBody } from '../../src/partpay/signature.js';
import { CALLBACK_KEY, ELECTRUM, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { listRoutes } from '../support/routes.js';

// Property-based hostile input over every route: random and mutated bodies, wrong content
// types, deep and huge JSON, invalid UTF-8, header injection, path traversal, bad numbers.
// Properties: never a 5xx, never a crash, every rejection a JSON 4xx, and no state change
// from a rejected request. HOSTILE_RUNS scales it (npm run test:chaos runs more).
const RUNS = Number(process.env['HOSTILE_RUNS'] ?? 120);

let h: Harness;
let paymentId: string;
const tried = { requests: 0, serverErrors: 0 };
const OPERATOR = { name: 'ops-user', password: 'ops-user-secret-never-logged' };

beforeAll(async () => {
  h = await startHarness({
    electrum: {},
    config: { server: { authFailures: { perSourcePerMinute: 1_000_000, perCredentialPerMinute: 1_000_000 } }, ops: { operators: [OPERATOR] } },
    extraSecrets: [OPERATOR.password],
  });
  paymentId = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'HOSTILE-1' } })).body.id;
});
afterAll(async () => {
  console.log(`hostile input: ${tried.requests} requests, ${tried.serverErrors} answered 5xx`);
  await h.stop();
});

function authFor(path: string): Record<string, string> {
  if (path.startsWith('/v1/')) return h.auth();
  if (path === '/qr/v1/scans') return { Authorization: basicAuthHeader(ELECTRUM.partnerA.id, ELECTRUM.partnerA.password) };
  if (path.startsWith('/qr/v1/')) return { Authorization: basicAuthHeader(ELECTRUM.pos.id, ELECTRUM.pos.password) };
  if (path.startsWith('/console')) return { Authorization: basicAuthHeader(OPERATOR.name, OPERATOR.password) };
  return {};
}

const stateCounts = () =>
  h.daemon.db
    .prepare(
      `SELECT (SELECT count(*) FROM payments) AS payments, (SELECT coalesce(sum(version), 0) FROM payments) AS versions, (SELECT count(*) FROM refunds) AS refunds,
              (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM electrum_qr_codes) AS qr, (SELECT count(*) FROM electrum_messages) AS messages, (SELECT count(*) FROM idempotency_keys) AS keys`,
    )
    .get();

const nasty = fc.oneof(
  fc.constantFrom('../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%00', '%E0%A4%A', '%ff%fe', '\u0000', '../' .repeat(20), 'con', 'a'.repeat(300), '%2e%2e%2f', '😀', ' '),
  fc.string({ maxLength: 40 }),
);
const hostileJson = fc.oneof(
  fc.anything({ maxDepth: 4, withObjectString: true, withNullPrototype: true }),
  fc.record({
    amountMinor: fc.oneof(fc.double(), fc.integer({ min: -1e9, max: 0 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(1e300), fc.constant(12.34), fc.string()),
    currency: fc.oneof(fc.constantFrom('NZD', 'AUD', 'nzd', 'XXX', '554', ''), fc.string({ maxLength: 5 })),
    merchantReference: fc.oneof(fc.string({ maxLength: 100 }), fc.constant('\u0000\r\nX-Evil: 1')),
  }),
  fc.record({ id: nasty, time: fc.string(), tranId: nasty, amounts: fc.anything({ maxDepth: 2 }), client: fc.anything({ maxDepth: 2 }), originator: fc.anything({ maxDepth: 2 }) }),
);

async function send(method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; text: string; type: string | null }> {
  tried.requests += 1;
  const res = await fetch(`${h.url}${path}`, { method, headers: init.headers ?? {}, ...(init.body !== undefined && method !== 'GET' ? { body: typeof init.body === 'string' ? init.body : new Uint8Array(init.body) } : {}) });
  if (res.status >= 500) tried.serverErrors += 1;
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

/**
 * A precise refusal: a status in 400-499 and a JSON body naming the error, our shape
 * (`{ error: { code, message } }`) or Electrum's ErrorDetail (`errorType`). An empty or
 * unreadable body is not precise; neither is a stack trace.
 */
function expectRefusal(res: { status: number; text: string; type: string | null }, what: string): void {
  const context = `${what} → ${res.status}: ${res.text.slice(0, 200)}`;
  expect(res.status, context).toBeGreaterThanOrEqual(400);
  expect(res.status, context).toBeLessThan(500);
  expect(res.type ?? '', context).toMatch(/^application\/json/);
  expect(res.text, context).not.toContain('    at ');
  let body: unknown = null;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = null;
  }
  const named = (b: unknown): boolean => {
    if (typeof b !== 'object' || b === null) return false;
    const error = (b as { error?: { code?: unknown; message?: unknown } }).error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') return true;
    return typeof (b as { errorType?: unknown }).errorType === 'string';
  };
  expect(named(body), `${context}: no JSON error body`).toBe(true);
}

/** Hostile input is either accepted (2xx, as a valid request would be) or refused precisely; nothing else. */
function expectAcceptedOrRefused(res: { status: number; text: string; type: string | null }, what: string): void {
  if (res.status >= 200 && res.status < 300) {
    expect(res.text, what).not.toContain('    at ');
    return;
  }
  expectRefusal(res, what);
}

describe('hostile input on every route', () => {
  it('answers random and mutated JSON bodies on every POST route with a precise 4xx and no state change', { timeout: 30_000 + RUNS * 150 }, async () => {
    const routes = listRoutes(h.daemon.app).filter((r) => r.method === 'POST');
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) {
      const path = route.path.replace(':id', paymentId).replace(/:[A-Za-z]+/g, 'x');
      await fc.assert(
        fc.asyncProperty(hostileJson, async (body) => {
          let text: string;
          try {
            text = JSON.stringify(body) ?? 'null';
          } catch {
            text = '{}';
          }
          const before = stateCounts();
          const isCallback = route.path === '/partpay/callback';
          const res = await send('POST', path, { headers: { ...authFor(route.path), 'Content-Type': isCallback ? 'application/x-www-form-urlencoded' : 'application/json' }, body: text });
          expectAcceptedOrRefused(res, `${route.path} ${text.slice(0, 80)}`);
          if (res.status >= 400) expect(stateCounts(), `${route.path} changed state on a ${res.status}`).toEqual(before);
        }),
        { numRuns: RUNS, seed: 42 },
      );
    }
  });

  it('refuses wrong content types, invalid UTF-8, deep nesting and huge bodies without a 5xx', async () => {
    const routes = listRoutes(h.daemon.app).filter((r) => r.method === 'POST');
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const bodies: Array<[string, Record<string, string>, string | Buffer]> = [
      ['text/plain', { 'Content-Type': 'text/plain' }, 'hello'],
      ['xml', { 'Content-Type': 'application/xml' }, '<a/>'],
      ['no type', {}, '{"a":1}'],
      ['invalid UTF-8', { 'Content-Type': 'application/json' }, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])],
      ['deep nesting', { 'Content-Type': 'application/json' }, deep],
      ['huge body', { 'Content-Type': 'application/json' }, JSON.stringify({ merchantReference: 'x'.repeat(2_000_000) })],
      ['utf-16 charset', { 'Content-Type': 'application/json; charset=utf-16' }, '{}'],
      ['gzip that is not', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, '{}'],
    ];
    const before = stateCounts();
    for (const route of routes) {
      for (const [what, headers, body] of bodies) {
        const res = await send('POST', route.path.replace(':id', paymentId).replace(/:[A-Za-z]+/g, 'x'), { headers: { ...authFor(route.path), ...headers }, body });
        expectRefusal(res, `${route.path} ${what}`);
      }
    }
    expect(stateCounts()).toEqual(before);
  });

  it('answers path traversal and garbage in every path and query parameter with a 4xx', { timeout: 30_000 + RUNS * 40 }, async () => {
    const routes = listRoutes(h.daemon.app).filter((r) => r.method === 'GET' && /:|\/v1\/payments$/.test(r.path));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), nasty, nasty, async (route, param, query) => {
        const path = route.path.replace(/:[A-Za-z]+/g, () => encodeURIComponent(param)).replace(/%25/g, '%');
        const res = await send('GET', `${path}?wait=${encodeURIComponent(query)}&format=${encodeURIComponent(query)}&state=${encodeURIComponent(query)}`, { headers: authFor(route.path) });
        expectRefusal(res, `${path} ${query}`);
      }),
      { numRuns: RUNS * 4, seed: 7 },
    );
  });

  it('survives header injection and malformed HTTP on the raw socket', async () => {
    const { port } = new URL(h.url);
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
        let out = '';
        socket.on('data', (d) => (out += d.toString('latin1')));
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
      });
    const attempts = [
      `GET /v1/terminal HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'test-terminal-key-1'}\r\nX-Request-Id: a\r\n\tInjected: 1\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\u0000def\r\n\r\n',
      'POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /v1/payments/${paymentId}%0d%0aSet-Cookie:x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-terminal-key-1\r\n\r\n`,
      'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /healthz HTTP/9.9\r\n\r\n',
    ];
    for (const attempt of attempts) {
      tried.requests += 1;
      const answer = await raw(attempt);
      // An answer with no status line (the connection just closed) is a failure, not a pass.
      const statusLine = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
      expect(statusLine, `${JSON.stringify(attempt)}: ${JSON.stringify(answer.slice(0, 200))}`).not.toBeNull();
      const status = Number(statusLine?.[1]);
      expect(answer).not.toMatch(/\r\nSet-Cookie: ?x=1/i);
      const cut = answer.indexOf('\r\n\r\n');
      const head = answer.slice(0, cut);
      if (/\r\nX-Request-Id: /i.test(head)) {
        // Answered by the app: as precise as any other refusal.
        expectRefusal({ status, type: /\r\nContent-Type: ([^\r]*)/i.exec(head)?.[1] ?? null, text: answer.slice(cut + 4) }, JSON.stringify(attempt));
      } else {
        // Refused by Node's HTTP parser before the app saw it: a 4xx status line and the connection closed.
        expect(status, attempt).toBeGreaterThanOrEqual(400);
        expect(status, attempt).toBeLessThan(500);
      }
    }
    expect((await call(`${h.url}/healthz`)).status).toBe(200);
  });

  it('keeps callbacks with forged, mutated or replayed bodies harmless', { timeout: 30_000 + RUNS * 20 }, async () => {
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 200, currency: 'NZD', merchantReference: 'HOSTILE-CB' } })).body;
    const fields = (status: string): Array<[string, string]> => [
      ['orderId', p.partpay?.orderId ?? ''],
      ['orderNumber', p.partpay?.orderNumber ?? ''],
      ['orderStatus', status],
      ['gatewayReference', p.id],
      ['merchantReference', 'HOSTILE-CB'],
    ];
    const genuine = buildSignedCallbackBody(fields('declined'), CALLBACK_KEY);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: genuine.length - 1 }), fc.string({ minLength: 1, maxLength: 3 }), async (at, insert) => {
        const mutated = genuine.slice(0, at) + insert + genuine.slice(at + 1);
        // The same digest in upper case is the genuine callback (hex is case-insensitive): not a forgery.
        const sigAt = genuine.indexOf('&signature=');
        if (mutated === genuine || (mutated.slice(0, sigAt) === genuine.slice(0, sigAt) && mutated.slice(sigAt).toLowerCase() === genuine.slice(sigAt))) return;
        const res = await send('POST', '/partpay/callback', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: mutated });
        expectRefusal(res, mutated);
      }),
      { numRuns: RUNS * 2, seed: 3 },
    );
    // none of the mutations moved the payment
    expect((await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body.state).toBe('awaiting_customer');
    // the genuine one, replayed many times, decides once
    for (let i = 0; i < 5; i += 1) expect((await send('POST', '/partpay/callback', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: genuine })).status).toBe(200);
    const after = (await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body;
    expect(after).toMatchObject({ state: 'declined', version: 3 });
  });
});
