import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

// Found by the fault matrix (fixed in d004d31): the auth-failure limiter once counted every
// request while it was open, so open long-polls and SSE streams of a valid terminal made it
// look like a brute-forcer and it was answered 429 for a minute. Only 401/403 may count.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

it('a terminal holding 25 open long-polls is not locked out as a brute-forcer', async () => {
  const created = await fetch(`${h.url}/v1/payments`, { method: 'POST', headers: { ...h.auth(), 'content-type': 'application/json' }, body: JSON.stringify({ amountMinor: 1000, currency: 'NZD', merchantReference: 'limits-1' }) });
  const p = (await created.json()) as { id: string; version: number };
  const polls = Array.from({ length: 25 }, () => fetch(`${h.url}/v1/payments/${p.id}?wait=2&version=${p.version}`, { headers: h.auth() }).then((r) => r.status));
  await new Promise((r) => setTimeout(r, 300));
  const next = await fetch(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() });
  await Promise.all(polls);
  expect(next.status).toBe(200);
});
