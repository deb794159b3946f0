import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type ErrorJson, type PaymentJson } from '../support/http.js';
import { openSse } from '../support/sse.js';
import { errorResponse, paymentListResponse, refundListResponse, refundResource, terminalEventData } from '../../src/terminals/till-schemas.js';

type Payment = PaymentJson & { createdAt: string; refunds: Refund[] };
type Refund = { id: string; paymentId: string; state: string; amountMinor: number; reason: string | null; upstreamReference: string | null; error: string | null };
type Page = { data: Payment[]; has_more: boolean; payments: Payment[] };
type TerminalEvent = { seq: number; type: string; paymentId: string; from?: string | null; to?: string; refund?: Refund | null; payment: Payment | null };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

const v1 = <T = Record<string, unknown>>(path: string, options: { which?: 1 | 2; json?: unknown; headers?: Record<string, string> } = {}) =>
  call<T>(`${h.url}/v1${path}`, { headers: { ...h.auth(options.which ?? 1), ...options.headers }, ...(options.json === undefined ? {} : { json: options.json }) });

const create = async (merchantReference: string, amountMinor = 1000, which: 1 | 2 = 1): Promise<Payment> => {
  const res = await v1<Payment>('/payments', { which, json: { amountMinor, currency: 'NZD', merchantReference } });
  expect(res.status).toBe(201);
  return res.body;
};

const approved = async (p: Payment, which: 1 | 2 = 1): Promise<Payment> => {
  await h.sim.approve(p.partpay?.orderId as string);
  const now = await eventually(async () => {
    const current = (await v1<Payment>(`/payments/${p.id}`, { which })).body;
    return current.state === 'approved' ? current : null;
  });
  return now as Payment;
};

/** Newest first, as the list orders: by createdAt, then id. */
const newestFirst = (a: Payment, b: Payment) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);

const list = async (query: string, which: 1 | 2 = 1) => {
  const res = await v1<Page>(`/payments?${query}`, { which });
  expect(res.status, res.text).toBe(200);
  paymentListResponse.parse(res.body);
  return res.body;
};

describe('GET /v1/payments: cursor pages', () => {
  it('walks every payment once, in a stable order, while new payments are created between pages', async () => {
    const ref = `PAGE-${randomUUID().slice(0, 8)}`;
    const made: Payment[] = [];
    for (let i = 0; i < 7; i++) made.push(await create(ref, 100 + i));
    const expected = [...made].sort(newestFirst).map((p) => p.id);

    const first = await list(`merchantReference=${ref}&limit=3`);
    expect(first.has_more).toBe(true);
    // Compatible with tills written before the cursor: `payments` is the same page.
    expect(first.payments.map((p) => p.id)).toEqual(first.data.map((p) => p.id));
    const cursor1 = first.data.at(-1)?.id as string;
    // New sales while the till pages, concurrently with the next page.
    const [second, ...fresh] = await Promise.all([list(`merchantReference=${ref}&limit=3&starting_after=${cursor1}`), create(ref, 900), create(ref, 901), create(ref, 902)]);
    const third = await list(`merchantReference=${ref}&limit=3&starting_after=${second.data.at(-1)?.id as string}`);
    expect(second.has_more).toBe(true);
    expect(third.has_more).toBe(false);
    expect([...first.data, ...second.data, ...third.data].map((p) => p.id)).toEqual(expected);

    // A new first page starts with the newer payments.
    const again = await list(`merchantReference=${ref}&limit=3`);
    expect(again.data.map((p) => p.id)).toEqual([...(fresh as Payment[])].sort(newestFirst).map((p) => p.id));
  });

  it('ends with has_more false on an exact last page, and answers an empty page after the oldest', async () => {
    const ref = `EXACT-${randomUUID().slice(0, 8)}`;
    const a = await create(ref);
    const b = await create(ref);
    const page = await list(`merchantReference=${ref}&limit=2`);
    expect(page).toMatchObject({ has_more: false });
    expect(page.data.map((p) => p.id).sort()).toEqual([a.id, b.id].sort());
    const after = await list(`merchantReference=${ref}&limit=2&starting_after=${page.data.at(-1)?.id as string}`);
    expect(after).toMatchObject({ data: [], has_more: false });
  });

  it('shows each payment with its refunds, as GET /v1/payments/:id does', async () => {
    const ref = `SHOW-${randomUUID().slice(0, 8)}`;
    const p = await approved(await create(ref, 3000));
    await v1(`/payments/${p.id}/refunds`, { json: { amountMinor: 500 } });
    const page = await list(`merchantReference=${ref}`);
    const one = (await v1<Payment>(`/payments/${p.id}`)).body;
    expect(page.data).toEqual([one]);
    expect(one.refunds).toEqual([expect.objectContaining({ amountMinor: 500, state: 'succeeded' })]);
  });
});

describe('GET /v1/payments: filters', () => {
  it('filters by state, "final", merchant reference and creation time', async () => {
    const ref = `FILTER-${randomUUID().slice(0, 8)}`;
    const paid = await approved(await create(ref));
    // The second payment is created in a later millisecond than the first, so the bounds tell them apart.
    await eventually(() => Date.now() > Date.parse(paid.createdAt) + 1);
    const open = await create(ref);
    const ids = async (query: string) => (await list(`merchantReference=${ref}&${query}`)).data.map((p) => p.id);

    expect(await ids('state=approved')).toEqual([paid.id]);
    expect(await ids('state=final')).toEqual([paid.id]);
    expect(await ids('state=awaiting_customer')).toEqual([open.id]);
    expect(await ids('state=refunded')).toEqual([]);
    expect(await ids(`created_gte=${open.createdAt}`)).toEqual([open.id]);
    expect(await ids(`created_lt=${open.createdAt}`)).toEqual([paid.id]);
    // Any time zone: the same instant written as +13:00.
    const nz = new Date(Date.parse(open.createdAt) + 13 * 3_600_000).toISOString().replace('Z', '+13:00');
    expect(await ids(`created_gte=${encodeURIComponent(nz)}`)).toEqual([open.id]);
    expect(await ids(`created_gte=${paid.createdAt}&created_lt=${open.createdAt}`)).toEqual([paid.id]);
    expect((await list(`merchantReference=${ref}-other`)).data).toEqual([]);
  });

  it.each([
    ['limit=0', 'query parameter limit: must be a whole number from 1 to 200'],
    ['limit=ten', 'query parameter limit: must be a whole number from 1 to 200'],
    ['limit=2.5', 'query parameter limit: must be a whole number from 1 to 200'],
    ['limit=201', 'query parameter limit: must be at most 200; follow has_more with starting_after for more'],
    ['starting_after=42', 'query parameter starting_after: must be a payment id (UUID): the id of the last payment of the previous page'],
    ['state=paid', 'query parameter state: must be one of created, awaiting_customer, approved, declined, cancelled, expired, failed, partially_refunded, refunded, reversed, final'],
    ['created_gte=2026-12-01', 'query parameter created_gte: must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+13:00'],
    ['created_gte=2026-12-01T09:00:00', 'query parameter created_gte: must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+13:00'],
    ['created_lt=2026-02-30T00:00:00Z', 'query parameter created_lt: must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+13:00'],
    ['created_gte=2026-12-02T00:00:00Z&created_lt=2026-12-01T00:00:00Z', 'query parameter created_lt: must be later than created_gte'],
    ['merchantReference=A&merchantReference=B', 'query parameter merchantReference: must be given once'],
    ['merchantReference=', 'query parameter merchantReference: must not be empty'],
    ['sort=asc', 'query parameter: unknown field(s) sort'],
  ])('refuses %s with a 400 that says what is wrong', async (query, message) => {
    const res = await v1<ErrorJson>(`/payments?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', message, retryable: false });
    errorResponse.parse(res.body);
  });

  it('refuses a cursor that is no payment of this terminal, without telling whether it exists', async () => {
    const mine = await create('CURSOR-1');
    const unknown = randomUUID();
    const other = await v1<ErrorJson>(`/payments?starting_after=${mine.id}`, { which: 2 });
    const none = await v1<ErrorJson>(`/payments?starting_after=${unknown}`, { which: 2 });
    expect([other.status, none.status]).toEqual([400, 400]);
    expect(other.body.error.message).toBe(`query parameter starting_after: no payment ${mine.id} for terminal TERM0002; pass the id of the last payment of the previous page`);
    expect(none.body.error.message).toBe(other.body.error.message.replace(mine.id, unknown));
  });

  it("lists only the calling terminal's payments", async () => {
    const ref = `ISOLATED-${randomUUID().slice(0, 8)}`;
    const mine = await create(ref, 1000, 1);
    const theirs = await create(ref, 1000, 2);
    expect((await list(`merchantReference=${ref}`, 1)).data.map((p) => p.id)).toEqual([mine.id]);
    expect((await list(`merchantReference=${ref}`, 2)).data.map((p) => p.id)).toEqual([theirs.id]);
  });
});

describe('refunds as resources', () => {
  it('looks up a refund done at once and a queued one (202) by id, and lists them on the payment', async () => {
    const p = await approved(await create('REFUND-1', 4000));
    const done = await v1<{ refund: Refund }>(`/payments/${p.id}/refunds`, { json: { amountMinor: 1500, reason: 'returned item' } });
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`/v1/refunds/${done.body.refund.id}`);

    h.sim.setRefundMode('pending');
    let queued;
    try {
      queued = await v1<{ refund: Refund }>(`/payments/${p.id}/refunds`, { json: { amountMinor: 500 } });
    } finally {
      h.sim.setRefundMode('succeeded');
    }
    expect(queued.status).toBe(202);
    const pending = await v1<Refund>(`/refunds/${queued.body.refund.id}`);
    expect(pending.status).toBe(200);
    expect(refundResource.parse(pending.body)).toMatchObject({ id: queued.body.refund.id, paymentId: p.id, state: 'pending', amountMinor: 500, upstreamReference: null, error: null });

    const made = (await v1<Refund>(`/refunds/${done.body.refund.id}`)).body;
    expect(made).toMatchObject({ state: 'succeeded', amountMinor: 1500, reason: 'returned item', links: { self: `/v1/refunds/${made.id}`, payment: `/v1/payments/${p.id}` } });
    expect(made.upstreamReference).toEqual(expect.any(String));

    const listed = await v1<{ data: Refund[] }>(`/payments/${p.id}/refunds`);
    expect(refundListResponse.parse(listed.body).data.map((r) => [r.id, r.state])).toEqual([
      [made.id, 'succeeded'],
      [pending.body.id, 'pending'],
    ]);
    expect((await v1<Payment>(`/payments/${p.id}`)).body.refunds).toEqual(listed.body.data);

    // PartPay finishes it; the outbox learns it; the same id now shows it made.
    h.sim.settlePendingRefunds();
    h.advanceClock(120_000);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return (await v1<Refund>(`/refunds/${pending.body.id}`)).body.state === 'succeeded';
    });
  });

  it("answers 404 for another terminal's refund and payment refunds, as for none", async () => {
    const p = await approved(await create('REFUND-2', 2000));
    const refund = (await v1<{ refund: Refund }>(`/payments/${p.id}/refunds`, { json: {} })).body.refund;
    const other = await v1<ErrorJson>(`/refunds/${refund.id}`, { which: 2 });
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ code: 'not_found', message: `no refund ${refund.id} for terminal TERM0002`, retryable: false });
    const missing = randomUUID();
    expect((await v1<ErrorJson>(`/refunds/${missing}`)).body.error.message).toBe(`no refund ${missing} for terminal TERM0001`);
    expect((await v1(`/payments/${p.id}/refunds`, { which: 2 })).status).toBe(404);
    const bad = await v1<ErrorJson>('/refunds/r-1');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('path parameter id: must be a refund id (UUID)');
  });
});

describe('GET /v1/events: every change of the terminal, resumable', () => {
  const stream = (headers: Record<string, string> = {}, which: 1 | 2 = 1, query = '') => openSse<TerminalEvent>(`${h.url}/v1/events${query}`, { ...h.auth(which), ...headers });
  const of = <E extends { data: TerminalEvent }>(events: E[], id: string) => events.filter((e) => e.data.paymentId === id);

  it('streams the changes of every payment, then resumes after a disconnect with exactly what was missed, then goes live', async () => {
    const s1 = await stream();
    const s2 = await stream({}, 2);
    expect(s1.status).toBe(200);
    expect(s1.headers['content-type']).toMatch(/^text\/event-stream/);

    const p = await create('EVENTS-1', 3000);
    await approved(p);
    const live = await s1.until((ev) => of(ev, p.id).some((e) => e.data.to === 'approved'));
    const seen = of(live, p.id);
    expect(seen.map((e) => [e.event, e.data.from, e.data.to])).toEqual([
      ['payment.state_changed', null, 'created'],
      ['payment.state_changed', 'created', 'awaiting_customer'],
      ['payment.state_changed', 'awaiting_customer', 'approved'],
    ]);
    for (const e of live) {
      terminalEventData.parse(e.data);
      expect(e.id).toBe(String(e.data.seq));
    }
    const lastSeen = live.at(-1)?.id as string;
    s1.close();
    await s1.ended;

    // While the till is away: a refund of p, and a sale of the other terminal.
    await v1(`/payments/${p.id}/refunds`, { json: { amountMinor: 1000, reason: 'gone while away' } });
    const theirs = await create('EVENTS-OTHER', 500, 2);

    const resumed = await stream({ 'Last-Event-ID': lastSeen });
    const missed = await resumed.until((ev) => ev.some((e) => e.data.to === 'partially_refunded'));
    expect(missed.map((e) => [e.event, e.data.paymentId])).toEqual([
      ['refund.requested', p.id],
      ['refund.succeeded', p.id],
      ['payment.state_changed', p.id],
    ]);
    expect(missed.map((e) => Number(e.id))).toEqual([...missed.map((e) => Number(e.id))].sort((a, b) => a - b));
    expect(Number(missed[0]?.id)).toBeGreaterThan(Number(lastSeen));
    expect(missed[1]?.data.refund).toMatchObject({ state: 'succeeded', amountMinor: 1000, reason: 'gone while away' });
    expect(missed[2]?.data.payment).toMatchObject({ id: p.id, state: 'partially_refunded', refundedMinor: 1000 });

    // Then live, on the same connection.
    const q = await create('EVENTS-2');
    await resumed.until((ev) => of(ev, q.id).some((e) => e.data.to === 'awaiting_customer'));
    resumed.close();

    // The other terminal's stream saw its own sale and nothing of this terminal's.
    const theirsSeen = await s2.until((ev) => of(ev, theirs.id).some((e) => e.data.to === 'awaiting_customer'));
    expect(new Set(theirsSeen.map((e) => e.data.paymentId))).toEqual(new Set([theirs.id]));
    s2.close();
  });

  it('resumes from ?last_event_id= (the first connection of an EventSource cannot send the header)', async () => {
    const s = await stream();
    const p = await create('EVENTS-3');
    const first = await s.until((ev) => of(ev, p.id).length >= 1);
    s.close();
    const again = await stream({}, 1, `?last_event_id=${first[0]?.id as string}`);
    const rest = await again.until((ev) => of(ev, p.id).some((e) => e.data.to === 'awaiting_customer'));
    expect(rest[0]?.data).toMatchObject({ paymentId: p.id, from: 'created', to: 'awaiting_customer' });
    again.close();
  });

  it('tells a refund PartPay declined (no version change) to the open stream', async () => {
    const p = await approved(await create('EVENTS-4', 800));
    const s = await stream();
    h.sim.setRefundMode('declined');
    try {
      expect((await v1(`/payments/${p.id}/refunds`, { json: {} })).status).toBe(409);
    } finally {
      h.sim.setRefundMode('succeeded');
    }
    const events = await s.until((ev) => of(ev, p.id).some((e) => e.event === 'refund.failed'));
    expect(of(events, p.id).map((e) => e.event)).toEqual(['refund.requested', 'refund.failed']);
    expect(of(events, p.id)[1]?.data.refund).toMatchObject({ state: 'failed', error: expect.stringMatching(/declined/) });
    s.close();
  });

  it.each([
    [{ 'Last-Event-ID': 'abc' }, '', 'header Last-Event-ID: must be the id: of the last event received (a whole number)'],
    [{}, '?last_event_id=-1', 'query parameter last_event_id: must be the id: of the last event received (a whole number)'],
    [{}, '?since=1', 'query parameter: unknown field(s) since'],
  ])('refuses a bad resume point %o %s with a precise 400', async (headers, query, message) => {
    const res = await call<ErrorJson>(`${h.url}/v1/events${query}`, { headers: { ...h.auth(), ...headers } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(message);
  });

  it('refuses a Last-Event-ID after the newest event (a restored database) instead of skipping what follows', async () => {
    const res = await call<ErrorJson>(`${h.url}/v1/events`, { headers: { ...h.auth(), 'Last-Event-ID': '999999999' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^header Last-Event-ID: 999999999 is after the newest event \(\d+\); was the database restored\? reconnect without it$/);
  });

  it('needs the terminal key', async () => {
    expect((await call(`${h.url}/v1/events`)).status).toBe(401);
  });

  it('ends cleanly with a shutdown event when the daemon stops, and resumes on the new one', async () => {
    const s = await stream();
    const p = await create('EVENTS-5');
    const before = await s.until((ev) => of(ev, p.id).some((e) => e.data.to === 'awaiting_customer'));
    await h.restart();
    await s.ended;
    expect(s.events.at(-1)?.event).toBe('shutdown');
    const resumed = await stream({ 'Last-Event-ID': before.at(-1)?.id as string });
    await approved(p);
    const after = await resumed.until((ev) => of(ev, p.id).some((e) => e.data.to === 'approved'));
    expect(of(after, p.id).map((e) => e.data.to)).toEqual(['approved']);
    resumed.close();
  });
});

describe('CORS is off by default', () => {
  it('answers a preflight without any Access-Control header', async () => {
    const res = await fetch(`${h.url}/v1/payments`, { method: 'OPTIONS', headers: { Origin: 'https://pos.example.com', 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
