import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

/** Resolves once `extra` more long-polls or streams are held open by the daemon than `before`. */
const untilHeld = (before: number, extra = 1) => eventually(() => h.daemon.events.listenerCount() - before >= extra);

/** Resolves once the daemon has recorded the payment as approved. */
const untilApproved = (id: string) => eventually(async () => (await call<PaymentJson>(`${h.url}/v1/payments/${id}`, { headers: h.auth() })).body.state === 'approved');

const create = async (amountMinor = 1000) => (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor, currency: 'NZD', merchantReference: 'N-1' } })).body;

interface SseEvent {
  id: string | null;
  event: string;
  data: Record<string, unknown>;
}

/** Opens an SSE stream with node:http and collects events until `until` says stop. */
function readEvents(path: string, headers: Record<string, string>, until: (events: SseEvent[]) => boolean): Promise<{ events: SseEvent[]; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${h.url}${path}`, { headers: { ...h.auth(), ...headers } }, (res: http.IncomingMessage) => {
      const events: SseEvent[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let idx: number;
        while ((idx = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          const lines = block.split('\n');
          const data = lines.find((l) => l.startsWith('data: '));
          if (!data) continue;
          events.push({
            id: lines.find((l) => l.startsWith('id: '))?.slice(4) ?? null,
            event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message',
            data: JSON.parse(data.slice(6)) as Record<string, unknown>,
          });
          if (until(events)) {
            req.destroy();
            resolve({ events, contentType: res.headers['content-type'] });
          }
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (e: Error) => (e.message.includes('aborted') || e.message.includes('socket hang up') ? undefined : reject(e)));
    setTimeout(() => reject(new Error('no events in time')), 20_000).unref();
  });
}

describe('terminal notifications', () => {
  it('long-poll returns as soon as the outcome is known', async () => {
    const p = await create();
    // Asks for the longest wait (60 s, above the test's timeout): only an early answer passes.
    const before = h.daemon.events.listenerCount();
    const waiting = call<PaymentJson>(`${h.url}/v1/payments/${p.id}?wait=60&version=${p.version}`, { headers: h.auth() });
    await untilHeld(before);
    await h.sim.approve(p.partpay?.orderId as string);
    const res = await waiting;
    expect(res.body.state).toBe('approved');
  });

  it('a terminal that hangs up during a long-poll stops being waited for at once', async () => {
    const p = await create();
    const before = h.daemon.events.listenerCount();
    const { hostname, port } = new URL(h.url);
    const req = http.get({ hostname, port, path: `/v1/payments/${p.id}?wait=60&version=${p.version}`, headers: h.auth() });
    req.on('error', () => undefined);
    await untilHeld(before);
    req.destroy();
    await eventually(() => h.daemon.events.listenerCount() === before);
  });

  it('long-poll returns the current state when the wait runs out', async () => {
    const p = await create();
    const res = await call<PaymentJson>(`${h.url}/v1/payments/${p.id}?wait=1`, { headers: h.auth() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'awaiting_customer', version: p.version });
  });

  it('long-poll with an older version returns at once', async () => {
    const p = await create();
    const res = await call<PaymentJson>(`${h.url}/v1/payments/${p.id}?wait=30&version=1`, { headers: h.auth() });
    expect(res.body.version).toBe(2);
  });

  it('streams state changes over SSE', async () => {
    const p = await create();
    const before = h.daemon.events.listenerCount();
    const stream = readEvents(`/v1/payments/${p.id}/events`, {}, (events) => events.some((e) => e.event === 'state' && e.data['state'] === 'approved'));
    await untilHeld(before);
    await h.sim.approve(p.partpay?.orderId as string);
    const { events, contentType } = await stream;
    expect(contentType).toMatch(/^text\/event-stream/);
    const states = events.map((e) => (e.event === 'transition' ? e.data['to'] : e.data['state']));
    expect(states).toEqual(['created', 'awaiting_customer', 'approved']);
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3']);
  });

  it('resumes an SSE stream after Last-Event-ID without repeating what was seen', async () => {
    const p = await create();
    await h.sim.approve(p.partpay?.orderId as string);
    await untilApproved(p.id);
    const { events } = await readEvents(`/v1/payments/${p.id}/events`, { 'Last-Event-ID': '2' }, (ev) => ev.length >= 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: '3', event: 'state', data: { state: 'approved', final: true } });
  });
});

describe('long-poll on a settled payment', () => {
  it('answers at once without a version when the payment is already final', async () => {
    const p = await create();
    await h.sim.approve(p.partpay?.orderId as string);
    await untilApproved(p.id);
    // wait=60 is above the test timeout: only an immediate answer passes
    const res = await call<PaymentJson>(`${h.url}/v1/payments/${p.id}?wait=60`, { headers: h.auth() });
    expect(res.body.state).toBe('approved');
  });
});
