import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Port, Repos, Store } from '../../src/storage/port.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { openSse } from '../support/sse.js';
import { operatorAuth, OPERATOR } from '../web/support.js';

// The daemon's reads outside transactions go through the storage port, awaited: here every one
// of them answers a turn of the event loop later (as a networked database would) and is
// recorded, so a route that still read the SQLite repository directly, or forgot to await a
// read (a promise in its JSON), shows here.

/** Every call made through `store.repos` (outside a transaction), as `payments.get`. */
const calls: string[] = [];
/** Calls that fail (after their turn), as a database gone away would. */
const failing = new Set<string>();
/** One call (of `call` on `id`, after `skip` others) made at once but answered only once `until` resolves: a change may commit meanwhile. */
let hold: { call: string; id: string; skip: number; held: boolean; until: Promise<void> } | null = null;

function later<T extends object>(family: string, repo: Port<T>): Port<T> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(repo as Record<string, (...args: unknown[]) => Promise<unknown>>)) {
    out[name] = async (...args: unknown[]) => {
      calls.push(`${family}.${name}`);
      const held = hold;
      if (held?.call === `${family}.${name}` && held.id === args[0] && held.skip-- === 0) {
        hold = null;
        const value = await fn(...args);
        held.held = true;
        await held.until;
        return value;
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (failing.has(`${family}.${name}`)) throw Object.assign(new Error('the database went away (test)'), { code: 'ECONNRESET' });
      return fn(...args);
    };
  }
  return out as Port<T>;
}

/** The store with its outside calls answered later; transactions as they were (SQLite answers them at once). */
function answeringLater(store: Store): Store {
  const repos: Repos = { payments: later('payments', store.repos.payments), outbox: later('outbox', store.repos.outbox), electrum: later('electrum', store.repos.electrum), afterCommit: (fn) => store.repos.afterCommit(fn) };
  return { repos, tx: (fn) => store.tx(fn), settled: () => store.settled(), afterCommit: (fn) => store.afterCommit(fn) };
}

const SECRET = 'whsec-port-reads-never-logged-0123';
let h: Harness;
let receiver: Server;
const delivered: Array<{ type: string; paymentId: string; payment: PaymentJson | null }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      delivered.push(JSON.parse(body) as (typeof delivered)[number]);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  h = await startHarness({
    wrapStore: answeringLater,
    simulator: { autoDecideAfterMs: null },
    config: {
      webhooks: { network: { allowLoopbackHttp: true }, endpoints: [{ id: 'till', url, secret: SECRET, terminals: ['TERM0001'] }] },
      ops: { operators: [{ name: OPERATOR.name, password: OPERATOR.password }] },
    },
    extraSecrets: [SECRET, OPERATOR.password],
  });
});
afterAll(async () => {
  await h.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

type Payment = PaymentJson & { version: number; partpay: { orderId: string } | null; refunds: Array<{ id: string; state: string; amountMinor: number }> };
const v1 = <T = Payment>(path: string, json?: unknown, headers: Record<string, string> = {}) => call<T>(`${h.url}/v1${path}`, { headers: { ...h.auth(), ...headers }, ...(json === undefined ? {} : { json }) });
const consoleApi = <T = Record<string, unknown>>(path: string) => call<T>(`${h.url}/console/api${path}`, { headers: { Authorization: operatorAuth() } });
/** The port calls `fn` made (other work may add its own: checked with toContain). */
async function readsOf<T>(fn: () => Promise<T>): Promise<{ value: T; reads: string[] }> {
  const from = calls.length;
  const value = await fn();
  return { value, reads: calls.slice(from) };
}

describe('the daemon over a storage port that answers later', () => {
  it('serves a payment through the terminal API, its streams, the console and the webhooks from the port', async () => {
    const ref = `PORT-${Date.now()}`;
    const created = await v1('/payments', { amountMinor: 1800, currency: 'NZD', merchantReference: ref });
    expect(created.status, created.text).toBe(201);
    const p = created.body;
    // The provider's facts (describe) and the refunds were awaited, not left as promises.
    expect(p.partpay?.orderId).toEqual(expect.any(String));
    expect(p.refunds).toEqual([]);

    const got = await readsOf(() => v1(`/payments/${p.id}`));
    expect(got.value.body).toMatchObject({ id: p.id, state: 'awaiting_customer', partpay: { orderId: p.partpay?.orderId }, refunds: [] });
    expect(got.reads).toEqual(expect.arrayContaining(['payments.get', 'payments.refundsOf']));

    const stream = await openSse<{ type: string; payment: Payment | null; refund?: { amountMinor: number } | null }>(`${h.url}/v1/events`, h.auth());
    const paymentStream = await openSse<Payment>(`${h.url}/v1/payments/${p.id}/events`, h.auth());
    expect([stream.status, paymentStream.status]).toEqual([200, 200]);
    await paymentStream.until((events) => events.some((e) => e.event === 'state' && e.data.state === 'awaiting_customer'));

    // A long-poll wakes with the approval, shown with its facts.
    const poll = v1(`/payments/${p.id}?wait=10&version=${p.version}`);
    await h.sim.approve(p.partpay?.orderId as string);
    const approved = await poll;
    expect(approved.body).toMatchObject({ state: 'approved', partpay: { orderId: p.partpay?.orderId } });
    await paymentStream.until((events) => events.some((e) => e.event === 'state' && e.data.state === 'approved' && e.data.partpay?.orderId === p.partpay?.orderId));

    const refunded = await v1<{ refund: { id: string; state: string }; payment: Payment }>(`/payments/${p.id}/refunds`, { amountMinor: 300 }, { 'Idempotency-Key': `${ref}-refund` });
    expect(refunded.status, refunded.text).toBe(201);
    expect(refunded.body.payment.refunds).toEqual([expect.objectContaining({ id: refunded.body.refund.id, amountMinor: 300 })]);
    const refunds = await v1<{ data: Array<{ id: string }> }>(`/payments/${p.id}/refunds`);
    expect(refunds.body.data.map((r) => r.id)).toEqual([refunded.body.refund.id]);
    const one = await readsOf(() => v1<{ id: string; state: string }>(`/refunds/${refunded.body.refund.id}`));
    expect(one.value.body).toMatchObject({ id: refunded.body.refund.id, state: 'succeeded' });
    expect(one.reads).toEqual(expect.arrayContaining(['payments.getRefund', 'payments.get']));

    const page = await readsOf(() => v1<{ data: Payment[] }>(`/payments?merchantReference=${ref}`));
    expect(page.value.body.data).toEqual([expect.objectContaining({ id: p.id, refundedMinor: 300, refunds: [expect.objectContaining({ amountMinor: 300 })] })]);
    expect(page.reads).toContain('payments.page');

    // The terminal's stream, read from the journal through the port: the approval and the refund, with the payment as it is now.
    const seen = await stream.until((events) => events.some((e) => e.data.type === 'refund.succeeded'));
    expect(seen.map((e) => e.data.type)).toEqual(expect.arrayContaining(['payment.state_changed', 'refund.requested', 'refund.succeeded']));
    expect(seen.find((e) => e.data.type === 'refund.succeeded')?.data).toMatchObject({ refund: { amountMinor: 300 }, payment: { id: p.id, partpay: { orderId: p.partpay?.orderId } } });
    expect(calls).toEqual(expect.arrayContaining(['payments.lastSeq', 'payments.terminalChanges', 'payments.stateChangesAfter']));
    stream.close();
    paymentStream.close();
    // A resume point past the newest event is refused (read through the port too).
    const ahead = await v1(`/events?last_event_id=999999999`);
    expect(ahead.status).toBe(400);

    // The console: list, detail (journal, refunds, owed webhooks), outbox and overview.
    const list = await readsOf(() => consoleApi<{ payments: Array<{ id: string; partpay: { orderId: string } | null }> }>('/payments?terminal=TERM0001'));
    expect(list.value.body.payments.find((x) => x.id === p.id)).toMatchObject({ partpay: { orderId: p.partpay?.orderId } });
    expect(list.reads).toContain('payments.list');
    const detail = await readsOf(() => consoleApi<{ payment: { state: string }; events: unknown[]; refunds: unknown[]; outbox: Array<{ kind: string }> }>(`/payments/${p.id}`));
    expect(detail.value.body.payment.state).toBe('partially_refunded');
    expect(detail.value.body.refunds).toHaveLength(1);
    expect(detail.value.body.events.length).toBeGreaterThan(3);
    expect(detail.value.body.outbox.some((o) => o.kind === 'webhook')).toBe(true);
    expect(detail.reads).toEqual(expect.arrayContaining(['payments.get', 'payments.events', 'payments.refundsOf', 'outbox.ofPayment']));
    const outbox = await readsOf(() => consoleApi<{ stats: { dead: number } }>('/outbox'));
    expect(outbox.value.status).toBe(200);
    expect(outbox.reads).toEqual(expect.arrayContaining(['outbox.list', 'outbox.stats']));
    const overview = await readsOf(() => consoleApi<{ payments: { open: number } }>('/overview'));
    expect(overview.value.status).toBe(200);
    expect(overview.reads).toEqual(expect.arrayContaining(['outbox.stats', 'payments.counts']));

    // The webhooks: the payment as the terminal API shows it now (its facts and refunds read through the port).
    await h.daemon.deliverer.run();
    const last = await eventually(() => delivered.find((d) => d.paymentId === p.id && d.payment?.state === 'partially_refunded'));
    expect(last?.payment).toMatchObject({ id: p.id, partpay: { orderId: p.partpay?.orderId }, refunds: [expect.objectContaining({ amountMinor: 300 })] });
  });

  it('ends a stream whose read fails, logged, and the daemon carries on', async () => {
    const p = (await v1('/payments', { amountMinor: 1700, currency: 'NZD', merchantReference: `FAIL-${Date.now()}` })).body;
    const logged = (what: string) => h.logs.some((line) => line.includes(what));
    try {
      failing.add('payments.stateChangesAfter');
      const paymentStream = await openSse(`${h.url}/v1/payments/${p.id}/events`, h.auth());
      expect(paymentStream.status).toBe(200);
      await paymentStream.ended;
      expect(paymentStream.events).toEqual([]);
      expect(logged('payment event stream could not read the payment')).toBe(true);

      failing.add('payments.terminalChanges');
      const stream = await openSse(`${h.url}/v1/events`, h.auth());
      expect(stream.status).toBe(200);
      await stream.ended;
      expect(logged('terminal event stream could not read the journal')).toBe(true);
    } finally {
      failing.clear();
    }
    // The next stream reads again.
    const again = await openSse<Payment>(`${h.url}/v1/payments/${p.id}/events`, h.auth());
    await again.until((events) => events.some((e) => e.event === 'state' && e.data.id === p.id));
    again.close();
  });

  it('wakes a long-poll with a change committed while its read was on its way', async () => {
    const p = (await v1('/payments', { amountMinor: 1600, currency: 'NZD', merchantReference: `RACE-${Date.now()}` }, { ...h.auth(2) })).body;
    expect(p.state).toBe('awaiting_customer');
    let release = (): void => undefined;
    // The route reads the payment, then the wait reads it again: that second answer is held.
    const armed = { call: 'payments.get', id: p.id, skip: 1, held: false, until: new Promise<void>((resolve) => (release = resolve)) };
    hold = armed;
    const poll = v1(`/payments/${p.id}?wait=5&version=${p.version}`, undefined, h.auth(2));
    await eventually(() => armed.held);
    // Approved, committed and told while the wait's answer, read before, is on its way.
    const told = new Promise<void>((resolve) => {
      const unsubscribe = h.daemon.events.subscribe(p.id, (now) => {
        if (now.state !== 'approved') return;
        unsubscribe();
        resolve();
      });
    });
    await h.sim.approve(p.partpay?.orderId as string);
    await told;
    // From now on the payment cannot be read: only the event the wait heard can answer it.
    failing.add('payments.get');
    try {
      release();
      const res = await poll;
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: p.id, state: 'approved' });
    } finally {
      failing.clear();
    }
  });
});
