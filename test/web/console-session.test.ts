import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { OPERATOR, operatorAuth, signIn, startWebHarness } from './support.js';

// The console's sign-in sessions over HTTP: cookie flags, CSRF, sign-out, idle and absolute
// expiry (the daemon's clock moved forward), the failed-sign-in limiter, and the live feed.

const IDLE_S = 60;
const MAX_S = 300;
let h: Harness;
beforeAll(async () => {
  h = await startWebHarness({
    simulator: { autoDecideAfterMs: null },
    config: {
      ops: { console: { idleTimeoutSeconds: IDLE_S, maxSessionSeconds: MAX_S } },
      // X-Forwarded-Proto from loopback is believed: a TLS-terminating proxy in front.
      server: { trustProxy: ['127.0.0.1'], authFailures: { perSourcePerMinute: 1000, perCredentialPerMinute: 3 } },
    },
  });
});
afterAll(async () => {
  await h.stop();
});

const withCookie = (cookie: string, extra: Record<string, string> = {}) => ({ Cookie: cookie, ...extra });

describe('signing in', () => {
  it('sends a console visit without a session to the sign-in form, which is public and links the favicon', async () => {
    const visit = await fetch(`${h.url}/console`, { redirect: 'manual' });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).toBe('/console/login');
    const form = await fetch(`${h.url}/console/login`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await form.text();
    expect(html).toContain('id="login-form"');
    expect(html).toContain('<link rel="icon" href="/favicon.svg"');
    for (const path of ['/favicon.ico', '/favicon.svg']) {
      const icon = await fetch(`${h.url}${path}`);
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      expect(await icon.text()).toContain('<svg');
    }
  });

  it('sets an HttpOnly, SameSite=Strict, whole-site cookie with a fresh random id per sign-in, not Secure over plain http', async () => {
    const a = await signIn(h.url);
    const b = await signIn(h.url);
    expect(a.setCookie).toMatch(/^tb_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=300$/);
    expect(a.cookie).not.toBe(b.cookie);
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(a.setCookie).not.toContain(OPERATOR.password);
    const page = await fetch(`${h.url}/console`, { headers: withCookie(a.cookie) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Signed in as <strong>olive</strong>');
    expect(html).toContain(a.csrfToken);
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(a.cookie) })).body).toEqual({ operator: OPERATOR.name });
  });

  it('marks the cookie Secure when the console is reached over TLS (here through a trusted proxy)', async () => {
    const res = await fetch(`${h.url}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-Proto': 'https' }, body: JSON.stringify({ name: OPERATOR.name, password: OPERATOR.password }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('takes the plain form post too, answering with a redirect to the console', async () => {
    const res = await fetch(`${h.url}/console/login`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name: OPERATOR.name, password: OPERATOR.password }).toString() });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    expect(res.headers.get('set-cookie')).toMatch(/^tb_console=/);
  });

  it('refuses wrong credentials and bad bodies precisely', async () => {
    const wrong = await call(`${h.url}/console/login`, { json: { name: OPERATOR.name, password: 'nope-1' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { code: 'unauthenticated', message: 'unknown operator or wrong password' } });
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const missing = await call(`${h.url}/console/login`, { json: { name: OPERATOR.name } });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('password');
    const text = await call(`${h.url}/console/login`, { body: 'name=x', headers: { 'Content-Type': 'text/plain' } });
    expect(text.status).toBe(415);
    const crossSite = await call(`${h.url}/console/login`, { json: { name: OPERATOR.name, password: OPERATOR.password }, headers: { Origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
  });

  it('counts failed sign-ins in the same limiter as basic auth: the credential is held back, the right password is not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await call(`${h.url}/console/login`, { json: { name: OPERATOR.name, password: 'guess-the-same' } })).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    const limited = await call(`${h.url}/console/login`, { json: { name: OPERATOR.name, password: 'guess-the-same' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // The same guess by basic auth on the API shares the key.
    expect((await call(`${h.url}/console/api/whoami`, { headers: { Authorization: operatorAuth(OPERATOR.name, 'guess-the-same') } })).status).toBe(429);
    await signIn(h.url);
  });
});

describe('writes on a session: CSRF', () => {
  it('refuses a POST without the CSRF token, with a wrong one, or from another origin; takes it with the token', async () => {
    const { cookie, csrfToken } = await signIn(h.url);
    const retry = (headers: Record<string, string>) => call(`${h.url}/console/api/outbox/999999/retry`, { headers: withCookie(cookie, headers), json: {} });
    const none = await retry({});
    expect(none.status).toBe(403);
    expect(none.body).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('x-csrf-token') } });
    expect((await retry({ 'X-CSRF-Token': 'not-the-token' })).status).toBe(403);
    expect((await retry({ 'X-CSRF-Token': csrfToken, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await retry({ 'X-CSRF-Token': csrfToken, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    // Past the checks: the outbox item does not exist.
    expect((await retry({ 'X-CSRF-Token': csrfToken })).status).toBe(404);
    // Another session's token is not this session's.
    const other = await signIn(h.url);
    expect((await retry({ 'X-CSRF-Token': other.csrfToken })).status).toBe(403);
  });

  it('still takes basic auth on the API for scripts, without a token, from no origin', async () => {
    const res = await call(`${h.url}/console/api/outbox/999999/retry`, { headers: { Authorization: operatorAuth() }, json: {} });
    expect(res.status).toBe(404);
  });
});

describe('signing out and expiry', () => {
  it('signs out: the session is gone on the server, the cookie cleared, the console refuses it', async () => {
    const { cookie, csrfToken } = await signIn(h.url);
    expect((await call(`${h.url}/console/logout`, { headers: withCookie(cookie), json: {} })).status).toBe(403);
    const out = await call(`${h.url}/console/logout`, { headers: withCookie(cookie, { 'X-CSRF-Token': csrfToken }), json: {} });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^tb_console=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    // The old cookie, replayed, is worth nothing.
    const api = await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie, { 'Sec-Fetch-Site': 'same-origin' }) });
    expect(api.status).toBe(401);
    expect(api.body).toMatchObject({ error: { message: expect.stringContaining('session has ended') } });
    // A browser's request gets no basic challenge (no dialog pops up); a script's does.
    expect(api.headers.get('www-authenticate')).toBeNull();
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie) })).headers.get('www-authenticate')).toMatch(/^Basic /);
    const page = await fetch(`${h.url}/console`, { headers: withCookie(cookie), redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/login?expired=1');
    expect((await call(`${h.url}/console/logout`, { headers: withCookie(cookie, { 'X-CSRF-Token': csrfToken }), json: {} })).status).toBe(401);
  });

  it('ends a session after the idle timeout; activity keeps it, background refreshes do not', async () => {
    const { cookie } = await signIn(h.url);
    h.advanceClock((IDLE_S - 10) * 1000);
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie) })).status).toBe(200);
    h.advanceClock((IDLE_S - 10) * 1000);
    // Kept alive by the request above; this one is the console refreshing by itself.
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie, { 'X-Console-Background': '1' }) })).status).toBe(200);
    h.advanceClock(20 * 1000);
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie) })).status).toBe(401);
  });

  it('ends a session at the absolute cap however active it is', async () => {
    const { cookie } = await signIn(h.url);
    for (let elapsed = 0; elapsed + IDLE_S / 2 < MAX_S; elapsed += IDLE_S / 2) {
      h.advanceClock((IDLE_S / 2) * 1000);
      expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie) })).status).toBe(200);
    }
    h.advanceClock((IDLE_S / 2) * 1000);
    expect((await call(`${h.url}/console/api/whoami`, { headers: withCookie(cookie) })).status).toBe(401);
  });
});

/** Reads a text/event-stream response into `seen` as it arrives. */
function collect(res: Response): { seen: () => string; ended: Promise<void> } {
  let text = '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { seen: () => text, ended };
}

describe('the live feed', () => {
  it('streams every payment change to a signed-in operator, and ends once the session is signed out', async () => {
    const { cookie, csrfToken } = await signIn(h.url);
    expect((await fetch(`${h.url}/console/api/events`)).status).toBe(401);
    const controller = new AbortController();
    const res = await fetch(`${h.url}/console/api/events`, { headers: withCookie(cookie), signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = collect(res);
    await eventually(() => stream.seen().includes('event: hello'));
    const created = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': 'live-1' }, json: { amountMinor: 1234, currency: 'NZD', merchantReference: 'LIVE-1' } });
    expect(created.status).toBe(201);
    await eventually(() => stream.seen().includes(`"id":"${created.body.id}"`));
    expect(stream.seen()).toMatch(/event: payment\ndata: \{"id":"[^"]+","state":"awaiting_customer"/);
    await call(`${h.url}/console/logout`, { headers: withCookie(cookie, { 'X-CSRF-Token': csrfToken }), json: {} });
    // The next change finds the session gone: the stream says so and ends.
    await call(`${h.url}/v1/payments`, { headers: { ...h.auth(), 'Idempotency-Key': 'live-2' }, json: { amountMinor: 1235, currency: 'NZD', merchantReference: 'LIVE-2' } });
    await stream.ended;
    expect(stream.seen()).toContain('event: signed-out');
    expect(stream.seen()).not.toContain('LIVE-2');
    controller.abort();
  });
});
