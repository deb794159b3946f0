import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillDatabase } from '../support/database-full.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';

// Refunds and owed deliveries against storage failures and slow upstream calls: money that
// PartPay moved is never forgotten, and never asked for twice.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

/** The daemon's repositories through its storage port (either database). */
const repos = () => h.daemon.store.repos;

/**
 * Makes the database refuse to change a payment's refunded amount (as a full disk or a crash
 * would, after PartPay refunded), with a trigger on either database; resolves to its removal.
 */
async function failRefundCount(): Promise<() => Promise<void>> {
  if (h.backend === 'sqlite') {
    await h.sql(`CREATE TRIGGER fail_refund_count BEFORE UPDATE OF refunded_minor ON payments
      WHEN NEW.refunded_minor <> OLD.refunded_minor BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END`);
    return async () => void (await h.sql('DROP TRIGGER fail_refund_count'));
  }
  await h.sql(`CREATE FUNCTION fail_refund_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'simulated storage failure'; END; $$`);
  await h.sql('CREATE TRIGGER fail_refund_count BEFORE UPDATE OF refunded_minor ON payments FOR EACH ROW WHEN (NEW.refunded_minor <> OLD.refunded_minor) EXECUTE FUNCTION fail_refund_count()');
  return async () => void (await h.sql('DROP FUNCTION fail_refund_count() CASCADE'));
}

const v1 = (path: string, json?: unknown) => call<PaymentJson & Record<string, unknown>>(`${h.url}/v1${path}`, { headers: h.auth(), ...(json === undefined ? {} : { json }) });

async function approvedPayment(amountMinor: number) {
  const res = await v1('/payments', { amountMinor, currency: 'NZD', merchantReference: `DUR-${amountMinor}-${Date.now()}` });
  expect(res.status, res.text).toBe(201);
  await h.sim.approve(res.body.partpay?.orderId as string);
  await eventually(async () => (await v1(`/payments/${res.body.id}`)).body.state === 'approved');
  return res.body;
}

describe('a settled refund is stored in one transaction', () => {
  it('never leaves a refund succeeded while the payment does not count it (and so refundable again)', async () => {
    const p = await approvedPayment(1500);
    // The payment's update fails (as a full disk or a crash would) after PartPay refunded.
    const dropTrigger = await failRefundCount();
    try {
      await v1(`/payments/${p.id}/refunds`, {});
    } finally {
      await dropTrigger();
    }
    const refunds = await repos().payments.refundsOf(p.id);
    const payment = await repos().payments.get(p.id);
    expect(refunds).toHaveLength(1);
    // Either both were stored or neither: never a succeeded refund the payment does not count.
    if (refunds[0]?.state === 'succeeded') expect(payment?.refundedMinor).toBe(1500);
    else expect(refunds[0]?.state).toBe('pending');
    // The money PartPay moved cannot be refunded a second time.
    const again = await v1(`/payments/${p.id}/refunds`, {});
    expect(again.status).toBe(409);
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.refunds).toHaveLength(1);
    // The storage is back: the owed row asks PartPay again with the same reference and learns the refund.
    h.advanceClock(10 * 60_000);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return (await repos().payments.get(p.id))?.refundedMinor === 1500;
    });
    expect((await repos().payments.refundsOf(p.id)).map((r) => r.state)).toEqual(['succeeded']);
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.refunds).toHaveLength(1);
  });
});

describe('an immediate refund and its safety-net outbox row never both call PartPay', () => {
  it('leaves nothing owed once PartPay made the refund at once (its safety-net row is done with it)', async () => {
    const p = await approvedPayment(1300);
    const res = await v1(`/payments/${p.id}/refunds`, { amountMinor: 300 });
    expect(res.body).toMatchObject({ refund: { state: 'succeeded' } });
    expect((await repos().outbox.ofPayment(p.id)).map((o) => [o.kind, o.state])).toEqual([['upstream.refund', 'done']]);
  });

  it('does not send the refund again from the outbox while the first call is still in flight', async () => {
    const p = await approvedPayment(1700);
    const before = h.sim.stats().calls['refundOrder'] ?? 0;
    // Every PartPay call now takes 1.2 s (the client waits 3 s): the refund is in flight...
    h.sim.setFaults({ api: { slow: 1, slowMs: 1200 } });
    try {
      const refunding = v1(`/payments/${p.id}/refunds`, {});
      await eventually(() => (h.sim.stats().calls['refundOrder'] ?? 0) > before);
      // ...while the outbox's clock passes the safety delay of the row owed for it.
      h.advanceClock(10 * 60_000);
      await h.daemon.deliverer.run();
      const res = await refunding;
      expect(res.body).toMatchObject({ refund: { state: 'succeeded' } });
    } finally {
      h.sim.setFaults({});
    }
    await h.daemon.deliverer.run();
    expect((h.sim.stats().calls['refundOrder'] ?? 0) - before).toBe(1);
    expect((await repos().outbox.ofPayment(p.id)).filter((o) => o.state !== 'done')).toEqual([]);
  });
});

describe('the outbox on a full disk', () => {
  it('keeps an owed delivery to retry when the database is full, instead of making it a dead letter', async () => {
    const p = (await v1('/payments', { amountMinor: 800, currency: 'NZD', merchantReference: `FULL-${Date.now()}` })).body;
    // PartPay is down when the terminal cancels: cancelled here, the upstream cancel owed.
    h.sim.setFaults({ api: { error5xx: 1 } });
    try {
      expect((await v1(`/payments/${p.id}/cancel`, {})).body).toMatchObject({ state: 'cancelled' });
    } finally {
      h.sim.setFaults({});
    }
    expect((await repos().outbox.ofPayment(p.id)).filter((o) => o.state === 'pending')).toHaveLength(1);
    // The disk fills up: the delivery's own journal write fails (SQLITE_FULL; PostgreSQL's disk_full).
    const free = await fillDatabase(h);
    try {
      h.advanceClock(60_000);
      await h.daemon.deliverer.run();
      expect((await repos().outbox.ofPayment(p.id)).map((o) => o.state)).not.toContain('dead');
    } finally {
      await free();
    }
    h.advanceClock(10 * 60_000);
    await eventually(async () => {
      await h.daemon.deliverer.run();
      return (await repos().outbox.ofPayment(p.id)).every((o) => o.state === 'done');
    });
    expect(h.sim.getOrder(p.partpay?.orderId as string)?.status).toBe('cancelled');
  });
});
