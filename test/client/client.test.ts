import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isTenderbridgeError, type Payment, type TenderbridgeClient, type TerminalStreamEvent } from '../../clients/typescript/src/index.js';
import { eventually, startHarness, TERMINAL_KEY, type Harness } from '../support/harness.js';

// The typed client (clients/typescript) as a till drives it: against a real daemon and the
// PartPay simulator on loopback, and through a real loopback server that fails on purpose.

let h: Harness;
let tb: TenderbridgeClient;
beforeAll(async () => {
  h = await startHarness({ simulator: { autoDecideAfterMs: null } });
  tb = createClient({ baseUrl: h.url, terminalKey: TERMINAL_KEY });
});
afterAll(async () => {
  await h.stop();
});

const sale = (merchantReference: string, amountMinor = 1995) => ({ amountMinor, currency: 'NZD', merchantReference });
const orderOf = (p: Payment) => p.partpay?.orderId as string;

/** Reads `events` until `done` says so; the iterator stays open for more. */
async function readUntil(events: AsyncIterator<TerminalStreamEvent>, done: (e: TerminalStreamEvent) => boolean): Promise<TerminalStreamEvent[]> {
  const seen: TerminalStreamEvent[] = [];
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error(`the stream ended after ${JSON.stringify(seen.map((e) => e.type))}`);
    seen.push(next.value);
    if (done(next.value)) return seen;
  }
}

describe('payments through the client', () => {
  it('creates with an idempotency key, answers a replay of the same key with the same payment, and a new key makes a new one', async () => {
    const ref = `CL-IDEM-${randomUUID().slice(0, 8)}`;
    const idempotencyKey = randomUUID();
    const first = await tb.createPayment(sale(ref), { idempotencyKey });
    const replay = await tb.createPayment(sale(ref), { idempotencyKey });
    expect(replay.id).toBe(first.id);
    expect(first).toMatchObject({ state: 'awaiting_customer', amountMinor: 1995, currency: 'NZD', merchantReference: ref });
    // Without a key the client makes one per call: two sales.
    const other = await tb.createPayment(sale(ref));
    expect(other.id).not.toBe(first.id);
    // The same key with another body is refused, with the server's code and no retry.
    const reused = await tb.createPayment(sale(ref, 500), { idempotencyKey }).catch((e: unknown) => e);
    expect(isTenderbridgeError(reused) && { status: reused.status, code: reused.code, retryable: reused.retryable }).toEqual({ status: 422, code: 'idempotency_key_reused', retryable: false });
  });

  it('waits for the approval with a long-poll, refunds part of it, and reads the refund back', async () => {
    const p = await tb.createPayment(sale(`CL-WAIT-${randomUUID().slice(0, 8)}`));
    const outcome = tb.waitUntilFinal(p.id, { secondsPerPoll: 10 });
    await h.sim.approve(orderOf(p));
    expect(await outcome).toMatchObject({ id: p.id, state: 'approved', final: true, paid: true });

    const { refund, payment } = await tb.refundPayment(p.id, { amountMinor: 500, reason: 'returned item' });
    expect(refund).toMatchObject({ paymentId: p.id, amountMinor: 500, state: 'succeeded', reason: 'returned item' });
    expect(payment).toMatchObject({ state: 'partially_refunded', refundedMinor: 500 });
    expect(await tb.getRefund(refund.id)).toEqual(refund);
    expect((await tb.paymentRefunds(p.id)).map((r) => r.id)).toEqual([refund.id]);
    // A refund of more than is left is refused as the server says, and not retried.
    const tooMuch = await tb.refundPayment(p.id, { amountMinor: 5000 }).catch((e: unknown) => e);
    expect(isTenderbridgeError(tooMuch) && tooMuch.code).toBe('refund_exceeds_amount');
  });

  it('cancels an open payment; an unknown one is a 404 error', async () => {
    const p = await tb.createPayment(sale(`CL-CANCEL-${randomUUID().slice(0, 8)}`));
    expect(await tb.cancelPayment(p.id)).toMatchObject({ id: p.id, state: 'cancelled', final: true });
    const missing = await tb.getPayment(randomUUID()).catch((e: unknown) => e);
    expect(isTenderbridgeError(missing) && { status: missing.status, code: missing.code }).toEqual({ status: 404, code: 'not_found' });
  });

  it('lists every payment over several pages, newest first, with the filters kept', async () => {
    const ref = `CL-PAGE-${randomUUID().slice(0, 8)}`;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await tb.createPayment(sale(ref, 100 + i))).id);
    const seen: Payment[] = [];
    for await (const p of tb.listPayments({ merchantReference: ref, limit: 2 })) seen.push(p);
    // Pages of 2 cannot hold 5 payments: the iterator followed has_more and the cursor.
    expect(seen.map((p) => p.id).sort()).toEqual([...made].sort());
    expect(new Set(seen.map((p) => p.id)).size).toBe(5);
    expect(seen.map((p) => p.createdAt)).toEqual([...seen.map((p) => p.createdAt)].sort().reverse());
    const page = await tb.listPaymentsPage({ merchantReference: ref, limit: 2 });
    expect(page.has_more).toBe(true);
    expect(page.data).toHaveLength(2);
  });
});

describe("the terminal's event stream through the client", () => {
  it('streams changes, resumes after a restart of the daemon on its own, and a later stream resumes from a kept id', async () => {
    const p = await tb.createPayment(sale(`CL-SSE-${randomUUID().slice(0, 8)}`));
    const stop = new AbortController();
    // From the start of the journal (id 0): the payment's creation is among what is replayed.
    const events = tb.events({ lastEventId: '0', signal: stop.signal })[Symbol.asyncIterator]();
    const seen = await readUntil(events, (e) => e.type === 'payment.state_changed' && e.data.paymentId === p.id && e.data.to === 'awaiting_customer');
    const keptId = seen.at(-1)?.id as string;

    // tenderbridge restarts: the client gets `shutdown`, reconnects with Last-Event-ID, and misses nothing.
    await h.restart();
    await h.sim.approve(orderOf(p));
    const after = await readUntil(events, (e) => e.type === 'payment.state_changed' && e.data.to === 'approved');
    expect(after[0]?.type).toBe('shutdown');
    expect(after.filter((e) => e.type === 'payment.state_changed' && e.data.paymentId === p.id).map((e) => (e.type === 'shutdown' ? null : e.data.to))).toEqual(['approved']);
    stop.abort();
    expect((await events.next()).done).toBe(true);

    // A till that kept the id of the last event it handled gets what happened since.
    const resumed = tb.events({ lastEventId: keptId })[Symbol.asyncIterator]();
    const missed = await readUntil(resumed, (e) => e.type === 'payment.state_changed' && e.data.to === 'approved');
    await resumed.return(undefined);
    expect(missed.filter((e) => e.type !== 'shutdown' && e.data.paymentId === p.id).map((e) => e.type)).toEqual(['payment.state_changed']);
  });
});

/** A loopback server in front of the daemon: `fail` answers instead of it (after forwarding, when it says so); otherwise it forwards. */
async function startFlakyProxy(fail: (req: IncomingMessage, seen: number) => { status: number; headers?: Record<string, string>; body: unknown; forwardFirst?: boolean } | 'drop' | null) {
  const requests: Array<{ method: string; url: string; idempotencyKey: string | null; answered: number | 'dropped'; forwarded: unknown }> = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const forward = async () => {
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)).map(([k, v]) => [k, String(v)]));
          return fetch(`${h.url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}) });
        };
        const record = { method: req.method ?? '', url: req.url ?? '', idempotencyKey: (req.headers['idempotency-key'] as string | undefined) ?? null, answered: 0 as number | 'dropped', forwarded: null as unknown };
        requests.push(record);
        const failure = fail(req, requests.length);
        if (failure === 'drop') {
          record.answered = 'dropped';
          res.socket?.destroy();
          return;
        }
        if (failure) {
          if (failure.forwardFirst) record.forwarded = await (await forward()).json();
          record.answered = failure.status;
          res.writeHead(failure.status, { 'Content-Type': 'application/json', ...failure.headers }).end(JSON.stringify(failure.body));
          return;
        }
        const upstream = await forward();
        record.answered = upstream.status;
        res.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([k]) => !['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k))));
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const unavailable = { error: { code: 'service_unavailable', message: 'tenderbridge is restarting', retryable: true } };

describe('retries', () => {
  it("retries a create whose answer was lost behind a 503 with Retry-After, with the same key: one payment, the daemon's replay", async () => {
    const proxy = await startFlakyProxy((req, seen) => (req.method === 'POST' && seen === 1 ? { status: 503, headers: { 'Retry-After': '1' }, body: unavailable, forwardFirst: true } : null));
    try {
      const retries: Array<{ delayMs: number; code: string }> = [];
      const client = createClient({ baseUrl: proxy.url, terminalKey: TERMINAL_KEY, onRetry: (r) => retries.push({ delayMs: r.delayMs, code: r.error.code }) });
      const ref = `CL-RETRY-${randomUUID().slice(0, 8)}`;
      const p = await client.createPayment(sale(ref));
      expect(retries).toEqual([{ delayMs: 1000, code: 'service_unavailable' }]);
      expect(proxy.requests.map((r) => r.answered)).toEqual([503, 200]);
      // Both attempts carried the one key the client made, so the daemon created once and replayed.
      expect(proxy.requests[0]?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
      expect(proxy.requests[1]?.idempotencyKey).toBe(proxy.requests[0]?.idempotencyKey);
      expect(p.id).toBe((proxy.requests[0]?.forwarded as Payment).id);
      const page = await tb.listPaymentsPage({ merchantReference: ref });
      expect(page.data.map((x) => x.id)).toEqual([p.id]);
    } finally {
      await proxy.close();
    }
  });

  it('retries a 429 and a dropped connection of a refund with the same key, and never a non-retryable error', async () => {
    const p = await tb.createPayment(sale(`CL-RETRY-RF-${randomUUID().slice(0, 8)}`));
    await h.sim.approve(orderOf(p));
    await eventually(async () => (await tb.getPayment(p.id)).state === 'approved');
    const proxy = await startFlakyProxy((req, seen) => {
      if (seen === 1) return 'drop';
      if (seen === 2) return { status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'rate_limited', message: 'slow down', retryable: true } } };
      if (req.url?.includes('/cancel')) return { status: 409, body: { error: { code: 'already_final', message: 'the payment is approved', retryable: false } } };
      return null;
    });
    try {
      const client = createClient({ baseUrl: proxy.url, terminalKey: TERMINAL_KEY, retryBaseDelayMs: 10 });
      const { refund } = await client.refundPayment(p.id, { amountMinor: 100 });
      expect(refund.state).toBe('succeeded');
      expect(proxy.requests.map((r) => r.answered)).toEqual(['dropped', 429, 201]);
      expect(new Set(proxy.requests.map((r) => r.idempotencyKey)).size).toBe(1);
      expect(await tb.paymentRefunds(p.id)).toHaveLength(1);

      const refused = await client.cancelPayment(p.id).catch((e: unknown) => e);
      expect(isTenderbridgeError(refused) && { code: refused.code, retryable: refused.retryable }).toEqual({ code: 'already_final', retryable: false });
      expect(proxy.requests.filter((r) => r.url.includes('/cancel'))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('gives up when the server asks to wait longer than maxRetryDelayMs, or after maxRetries', async () => {
    const proxy = await startFlakyProxy(() => ({ status: 503, headers: { 'Retry-After': '120' }, body: unavailable }));
    try {
      const patient = createClient({ baseUrl: proxy.url, terminalKey: TERMINAL_KEY, maxRetryDelayMs: 5_000 });
      const err = await patient.terminal().catch((e: unknown) => e);
      expect(isTenderbridgeError(err) && { status: err.status, retryAfterSeconds: err.retryAfterSeconds }).toEqual({ status: 503, retryAfterSeconds: 120 });
      expect(proxy.requests).toHaveLength(1);
    } finally {
      await proxy.close();
    }
    const down = await startFlakyProxy(() => ({ status: 503, body: unavailable }));
    try {
      const err = await createClient({ baseUrl: down.url, terminalKey: TERMINAL_KEY, maxRetries: 2, retryBaseDelayMs: 1 }).terminal().catch((e: unknown) => e);
      expect(isTenderbridgeError(err) && err.code).toBe('service_unavailable');
      expect(down.requests).toHaveLength(3);
    } finally {
      await down.close();
    }
  });
});
