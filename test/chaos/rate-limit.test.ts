import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';

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

const POLLS = 25;

it(`a terminal holding ${POLLS} open long-polls is not locked out as a brute-forcer`, async () => {
  const created = await fetch(`${h.url}/v1/payments`, { method: 'POST', headers: { ...h.auth(), 'content-type': 'application/json' }, body: JSON.stringify({ amountMinor: 1000, currency: 'NZD', merchantReference: 'limits-1' }) });
  const p = (await created.json()) as { id: string; version: number };
  const waiting = h.daemon.events.listenerCount();
  // Long enough to outlast a loaded box; they are ended below by cancelling the payment.
  const early: number[] = [];
  const polls = Array.from({ length: POLLS }, () =>
    fetch(`${h.url}/v1/payments/${p.id}?wait=30&version=${p.version}`, { headers: h.auth() }).then((r) => {
      early.push(r.status);
      return r.status;
    }),
  );
  // The precondition the test is named for: all of them are open in the daemon before the next
  // request (a poll answered before the cancel below was refused, not held open).
  await eventually(() => h.daemon.events.listenerCount() - waiting === POLLS || early.length > 0, 10_000);
  expect(early, 'long-polls answered at once instead of held open').toEqual([]);
  expect(h.daemon.events.listenerCount() - waiting).toBe(POLLS);
  const next = await fetch(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() });
  expect(next.status).toBe(200);
  expect(h.daemon.events.listenerCount() - waiting).toBe(POLLS);
  const cancel = await fetch(`${h.url}/v1/payments/${p.id}/cancel`, { method: 'POST', headers: h.auth() });
  expect(cancel.status).toBe(200);
  expect(await Promise.all(polls)).toEqual(Array.from({ length: POLLS }, () => 200));
});
