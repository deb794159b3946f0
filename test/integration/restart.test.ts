import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electrumPos, untilPayWaits } from '../support/electrum-pos.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ electrum: { scanWaitSeconds: 2, partnerTimeoutSeconds: 1 } });
});
afterAll(async () => {
  await h.stop();
});

describe('restarts', () => {
  it('delivers advices still owed when the daemon comes back', async () => {
    const pos = electrumPos(h);
    const partner = h.partners?.a as NonNullable<Harness['partners']>['a'];
    const code = (await pos.createQrCode(pos.qrRequest(1000))).body;
    const request = pos.payRequest(code.tranId);
    const paying = pos.pay(request);
    await untilPayWaits(h, request.id);
    await partner.scan(code.qrCode);
    expect((await paying).status).toBe(201);
    // The partner goes away; the confirmation is accepted (202) and owed.
    const partnerPort = Number(new URL(partner.url()).port);
    await partner.close();
    expect((await pos.confirm(pos.confirmation(request.id))).status).toBe(202);
    await h.daemon.deliverer.run();
    expect((await h.daemon.store.repos.outbox.list('pending')).some((o) => o.kind === 'electrum.confirmation')).toBe(true);
    // tenderbridge restarts on the same database; the partner is back.
    await h.restart();
    await partner.listen(partnerPort, '127.0.0.1');
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return partner.received().confirmations.some((m) => (m.body as { requestId: string }).requestId === request.id);
    }, 10_000, 100);
    expect((await h.daemon.store.repos.outbox.list('pending')).filter((o) => o.kind === 'electrum.confirmation')).toEqual([]);
  });

  it('ends long-polls with the current state and event streams with a final shutdown event on a graceful stop', async () => {
    const p = (await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(), json: { amountMinor: 500, currency: 'NZD', merchantReference: 'SHUT-1' } })).body;
    const waiting = h.daemon.events.listenerCount();
    const longPoll = call<PaymentJson>(`${h.url}/v1/payments/${p.id}?wait=60&version=${p.version}`, { headers: h.auth() });
    const stream = new Promise<string>((resolve, reject) => {
      http
        .get(`${h.url}/v1/payments/${p.id}/events`, { headers: h.auth() }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    // both the long-poll and the stream are held open by the daemon before it stops
    await eventually(() => h.daemon.events.listenerCount() - waiting === 2);
    await h.restart();
    const polled = await longPoll;
    expect(polled.status).toBe(200);
    expect(polled.body).toMatchObject({ id: p.id, state: 'awaiting_customer' });
    const text = await stream;
    expect(text).toContain('event: state');
    expect(text).toMatch(/event: shutdown\ndata: \{"reason":"tenderbridge is restarting/);
    // and the payment is still there after the restart
    expect((await call<PaymentJson>(`${h.url}/v1/payments/${p.id}`, { headers: h.auth() })).body.state).toBe('awaiting_customer');
  });
});
