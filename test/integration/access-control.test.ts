import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthHeader } from '../../src/electrum/basic-auth.js';
import { ELECTRUM, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { listRoutes } from '../support/routes.js';

// Routes anyone may call, and why. Every other route must refuse callers without the right credentials.
const PUBLIC: Record<string, string> = {
  'GET /healthz': 'liveness for systemd and load balancers',
  'GET /readyz': 'readiness for load balancers',
  'POST /partpay/callback': 'authenticated by its HMAC signature instead',
  'GET /metrics': 'loopback-only (or bearer token) by ops.metricsAccess; tested in ops.test.ts',
  'GET /console/login': 'the sign-in form',
  'POST /console/login': 'signing in: wrong credentials are refused 401 (test/web/console-session.test.ts)',
};
// Static pages that carry no data (the console's data comes from its authenticated API).
const isStaticPage = (path: string) => path === '/' || /^\/terminal(\/|$)|^\/(assets|static)\/|^\/favicon\.(ico|svg)$|^\/console\/assets\/login\.js$/.test(path);
/** Console pages answer a caller without a session by sending the browser to the sign-in form. */
const isSignInRedirect = (status: number, headers: Headers) => status === 303 && (headers.get('location') ?? '').startsWith('/console/login');

let h: Harness;
let paymentId: string;
let tranId: string;
beforeAll(async () => {
  h = await startHarness({ electrum: {}, config: { server: { authFailures: { perSourcePerMinute: 100_000, perCredentialPerMinute: 100_000 } }, ops: { operators: [{ name: 'ops-user', password: 'ops-user-secret-never-logged' }] } }, extraSecrets: ['ops-user-secret-never-logged'] });
  paymentId = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 100, currency: 'NZD', merchantReference: 'AC-1' } })).body.id;
  const qr = await call<{ tranId: string }>(`${h.url}/qr/v1/qrCodes`, {
    headers: { Authorization: basicAuthHeader(ELECTRUM.pos.id, ELECTRUM.pos.password) },
    json: { id: crypto.randomUUID(), time: new Date().toISOString(), client: { id: ELECTRUM.pos.id, name: 'x' }, originator: { institution: { id: '1', name: 'x' }, terminalId: 'TERM0001', merchant: { merchantType: '5411', merchantId: '000000012345678', merchantName: { name: 'x', city: 'x', region: 'AK', country: 'NZ' } } }, qrProperties: {} },
  });
  tranId = qr.body.tranId;
});
afterAll(async () => {
  await h.stop();
});

const concrete = (path: string) => path.replace(':id', () => paymentId).replace(':tranId', () => tranId).replace(/:[A-Za-z]+/g, 'x');

const credentials: Record<string, Record<string, string>> = {
  'no credentials': {},
  'a wrong bearer key': { Authorization: 'Bearer wrong-key' },
  'a wrong basic password': { Authorization: basicAuthHeader(ELECTRUM.pos.id, 'wrong') },
  "another terminal's key": { Authorization: 'Bearer test-terminal-key-2' },
  "a POS client's basic auth": { Authorization: basicAuthHeader(ELECTRUM.pos.id, ELECTRUM.pos.password) },
  "a partner's basic auth": { Authorization: basicAuthHeader(ELECTRUM.partnerA.id, ELECTRUM.partnerA.password) },
  "an operator's basic auth": { Authorization: basicAuthHeader('ops-user', 'ops-user-secret-never-logged') },
};

/** Which credential kinds a route family accepts at all. */
function accepts(path: string): string[] {
  if (path.startsWith('/v1/')) return ['terminal'];
  if (path === '/qr/v1/scans') return ['partner'];
  if (path.startsWith('/qr/v1/')) return ['pos'];
  if (path.startsWith('/console') || path.startsWith('/docs')) return ['operator'];
  return [];
}
const kindOf: Record<string, string | null> = {
  'no credentials': null,
  'a wrong bearer key': null,
  'a wrong basic password': null,
  "another terminal's key": 'other-terminal',
  "a POS client's basic auth": 'pos',
  "a partner's basic auth": 'partner',
  "an operator's basic auth": 'operator',
};

describe('access-control matrix over every route the app serves', () => {
  it('finds the routes (so a new one cannot be forgotten)', () => {
    const routes = listRoutes(h.daemon.app).map((r) => `${r.method} ${r.path}`);
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/payments', 'GET /v1/payments/:id', 'GET /v1/payments/:id/qr/text', 'POST /qr/v1/qrCodes', 'POST /qr/v1/scans', 'POST /partpay/callback', 'GET /healthz']));
  });

  it('leaves /v1 and /qr/v1 to their own routers, mounted before every root one but the health routes', () => {
    type Layer = { rawPath?: string; handle?: { stack?: Array<{ route?: { path: string } }> } };
    const top = (h.daemon.app as unknown as { router: { stack: Layer[] } }).router.stack.filter((l) => l.handle?.stack);
    const routesOf = (layers: Layer[]) => layers.flatMap((l) => (l.handle?.stack ?? []).flatMap((r) => (r.route ? [r.route.path] : [])));
    const atRoot = routesOf(top.filter((l) => l.rawPath === '/'));
    expect(atRoot).toContain('/healthz');
    expect(atRoot.filter((path) => /^\/(v1|qr\/v1)(\/|$)/.test(path))).toEqual([]);
    const first = top.findIndex((l) => l.rawPath === '/v1');
    expect(top.slice(first, first + 2).map((l) => l.rawPath)).toEqual(['/v1', '/qr/v1']);
    // Ahead of them only the health routes, mounted before the hold for durability (they report no write).
    expect(routesOf(top.slice(0, first))).toEqual(['/healthz', '/readyz']);
  });

  it('refuses every non-public route to callers without the right credentials', async () => {
    const routes = listRoutes(h.daemon.app).filter((r) => !(`${r.method} ${r.path}` in PUBLIC) && !isStaticPage(r.path));
    const failures: string[] = [];
    let calls = 0;
    for (const route of routes) {
      for (const [what, headers] of Object.entries(credentials)) {
        const kind = kindOf[what];
        if (kind && accepts(route.path).includes(kind)) continue; // the right kind of caller: not a refusal case
        const ownsResource = route.path.includes(':id') || route.path.includes(':tranId');
        // Another terminal is a valid terminal: it may use the API for itself, but not the first terminal's payment or code.
        if (kind === 'other-terminal' && route.path.startsWith('/v1/') && !ownsResource) continue;
        const url = `${h.url}${concrete(route.path)}`;
        // Not followed: a redirect to the sign-in form is the refusal.
        const res = route.method === 'GET' ? await fetch(url, { headers, redirect: 'manual' }) : await fetch(url, { method: route.method, headers: { ...headers, 'Content-Type': 'application/json' }, body: '{}' });
        await res.arrayBuffer();
        calls += 1;
        // Another terminal's key is a valid terminal: it is refused the first terminal's payment as 404.
        const refused = kind === 'other-terminal' && route.path.startsWith('/v1/') ? res.status === 404 : [401, 403].includes(res.status) || isSignInRedirect(res.status, res.headers);
        if (!refused) failures.push(`${route.method} ${route.path} with ${what}: ${res.status}`);
      }
    }
    expect(calls).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  });
});
