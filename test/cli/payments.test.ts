import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '../../src/cli/dates.js';
import type { Payment, PaymentEventRow } from '../../src/payments/types.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { call, type PaymentJson } from '../support/http.js';
import { harnessConfig, runTb, tempDir } from './support.js';

let h: Harness;
let dir: string;
let config: string;
let n = 0;

// lateApproval "flag": late approvals wait for an operator, which is what `resolve` is for.
beforeAll(async () => {
  h = await startHarness({ config: { payments: { lateApproval: 'flag' } } });
  dir = tempDir();
  config = harnessConfig(h, dir);
});
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function createPayment(amountMinor: number, terminal: 1 | 2 = 1): Promise<PaymentJson> {
  const res = await call<PaymentJson>(`${h.url}/v1/payments`, { headers: h.auth(terminal), json: { amountMinor, currency: 'NZD', merchantReference: `CLI-${++n}` } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}
const payment = (id: string) => h.daemon.payments.get(id) as Payment;
const orderOf = (p: PaymentJson) => p.partpay?.orderId as string;

async function approved(amountMinor: number): Promise<PaymentJson> {
  const p = await createPayment(amountMinor);
  await h.sim.approve(orderOf(p));
  await eventually(() => payment(p.id).state === 'approved');
  return p;
}

/** The terminal was told "cancelled" (its cancel never reached PartPay), then the customer approved. */
async function lateApproved(amountMinor: number): Promise<PaymentJson> {
  const p = await createPayment(amountMinor);
  const db = new Database(h.dbPath);
  db.prepare("UPDATE payments SET state = 'cancelled', version = version + 1, final_at = ? WHERE id = ?").run(Date.now(), p.id);
  db.close();
  await h.sim.approve(orderOf(p));
  await eventually(() => payment(p.id).attention === 'late_approval');
  return p;
}

const resolve = (id: string, action: string, ...more: string[]) => runTb(['payments', 'resolve', id, '--action', action, '--by', 'alice', '--reason', 'customer charged after the till cancelled', '--config', config, ...more]);
const operatorEvents = (id: string): PaymentEventRow[] => h.daemon.payments.events(id).filter((e) => e.kind === 'operator_resolution');

describe('tenderbridge payments list and show', () => {
  let paid: PaymentJson;
  let declined: PaymentJson;
  let open: PaymentJson;
  let other: PaymentJson;

  beforeAll(async () => {
    paid = await approved(1000);
    declined = await createPayment(1051);
    await h.sim.decline(orderOf(declined));
    await eventually(() => payment(declined.id).state === 'declined');
    open = await createPayment(1200);
    other = await createPayment(1300, 2);
  });

  const listIds = async (...filters: string[]): Promise<string[]> => {
    const run = await runTb(['payments', 'list', '--json', '--config', config, ...filters]);
    expect(run.code, run.stderr).toBe(0);
    return run.json<{ payments: Payment[] }>().payments.map((p) => p.id);
  };

  it('filters by state, terminal, store and attention', async () => {
    const approvedIds = await listIds('--state', 'approved');
    expect(approvedIds).toContain(paid.id);
    expect(approvedIds).not.toContain(declined.id);
    expect(await listIds('--state', 'declined')).toContain(declined.id);
    const term2 = await listIds('--terminal', 'TERM0002');
    expect(term2).toContain(other.id);
    expect(term2).not.toContain(open.id);
    expect(await listIds('--store', 'S1')).toEqual(expect.arrayContaining([paid.id, declined.id, open.id, other.id]));
    expect(await listIds('--store', 'S2')).toEqual([]);
    expect(await listIds('--attention')).not.toContain(paid.id);
  });

  it('filters by local day or ISO timestamp, includes the whole --to day, and applies --limit', async () => {
    const today = localDate(Date.now());
    const tomorrow = localDate(Date.now() + 86_400_000);
    expect(await listIds('--from', today, '--to', today)).toEqual(expect.arrayContaining([paid.id, open.id]));
    expect(await listIds('--from', tomorrow)).toEqual([]);
    expect(await listIds('--to', new Date(payment(paid.id).createdAt).toISOString())).not.toContain(paid.id);
    expect(await listIds('--limit', '2')).toHaveLength(2);
    const bad = await runTb(['payments', 'list', '--from', '01/03/2026', '--config', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('YYYY-MM-DD');
  });

  it('prints a table for people', async () => {
    const run = await runTb(['payments', 'list', '--terminal', 'TERM0002', '--config', config]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(other.id);
    expect(run.stdout).toContain('NZD 13.00');
    expect(run.stdout).toContain('awaiting_customer');
  });

  it('shows a payment with its whole journal, including the raw signed callback body', async () => {
    const run = await runTb(['payments', 'show', paid.id, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    for (const text of ['NZD 10.00', 'approved', 'request', 'upstream_response', 'callback', 'state_changed', 'awaiting_customer -> approved']) expect(run.stdout).toContain(text);
    expect(run.stdout).toMatch(/raw body: orderId=.*orderStatus=approved.*signature=[0-9a-f]{64}/);
    // by PartPay order id too, and as JSON
    const json = await runTb(['payments', 'show', orderOf(paid), '--json', '--config', config]);
    const doc = json.json<{ payment: Payment; events: PaymentEventRow[]; refunds: unknown[]; outbox: unknown[] }>();
    expect(doc.payment.id).toBe(paid.id);
    expect(doc.events.find((e) => e.kind === 'callback')?.rawBody).toMatch(/orderStatus=approved/);
    expect(doc).toMatchObject({ refunds: [], outbox: [] });
    const missing = await runTb(['payments', 'show', 'no-such-payment', '--config', config]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no payment no-such-payment');
  });
});

describe('tenderbridge payments resolve', () => {
  it('refunds a late approval at PartPay, journaling who and why, and clears the flag', async () => {
    const p = await lateApproved(2500);
    expect((await runTb(['payments', 'list', '--attention', '--json', '--config', config])).json<{ payments: Payment[] }>().payments.map((x) => x.id)).toContain(p.id);
    const run = await resolve(p.id, 'refund');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('refunded NZD 25.00 at PartPay');
    expect(payment(p.id)).toMatchObject({ state: 'cancelled', attention: null, refundedMinor: 2500 });
    expect(h.sim.getOrder(orderOf(p))?.refunds).toEqual([expect.objectContaining({ amountCents: 2500 })]);
    expect(operatorEvents(p.id)).toEqual([expect.objectContaining({ actor: 'operator:alice', detail: expect.objectContaining({ action: 'refund', by: 'alice', reason: 'customer charged after the till cancelled', amountMinor: 2500 }) })]);
    expect(h.daemon.payments.refundsOf(p.id)).toEqual([expect.objectContaining({ state: 'succeeded', requestedBy: 'operator:alice', reason: 'customer charged after the till cancelled' })]);
    // nothing left to do: a second refund is refused
    const again = await resolve(p.id, 'refund');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already fully refunded');
  });

  it('can leave the refund to the daemon outbox (--defer), which delivers it', async () => {
    const p = await approved(4000);
    const run = await resolve(p.id, 'refund', '--defer', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ action: 'refund', result: 'refund_owed', refund: { state: 'pending', amountMinor: 4000 } });
    const show = await runTb(['payments', 'show', p.id, '--config', config]);
    expect(show.stdout).toContain('upstream.refund');
    await h.daemon.deliverer.run();
    expect(payment(p.id)).toMatchObject({ state: 'refunded', refundedMinor: 4000 });
  });

  it('refuses to refund a payment PartPay never approved', async () => {
    const p = await createPayment(1500);
    const run = await resolve(p.id, 'refund');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/awaiting_customer and PartPay has not approved it: there is nothing to refund \(cancel it instead\)/);
    expect(operatorEvents(p.id)).toEqual([]);
  });

  it('cancels an open payment at PartPay first', async () => {
    const p = await createPayment(1600);
    const run = await resolve(p.id, 'cancel');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('cancelled at PartPay');
    expect(h.sim.getOrder(orderOf(p))?.status).toBe('cancelled');
    expect(payment(p.id)).toMatchObject({ state: 'cancelled', resolvedBy: 'operator' });
    expect(operatorEvents(p.id)[0]).toMatchObject({ actor: 'operator:alice', detail: expect.objectContaining({ action: 'cancel', reason: 'customer charged after the till cancelled' }) });
    expect(h.daemon.payments.events(p.id).some((e) => e.kind === 'upstream_response' && e.actor === 'operator:alice')).toBe(true);
  });

  it('says to refund when PartPay will not cancel an approved order, then marks it reviewed', async () => {
    const p = await lateApproved(1700);
    const cancel = await resolve(p.id, 'cancel');
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('resolve with --action refund');
    expect(payment(p.id).attention).toBe('late_approval');
    const reviewed = await runTb(['payments', 'resolve', p.id, '--action', 'mark-reviewed', '--by', 'bob', '--reason', 'refunded by PartPay support, ticket 4411', '--config', config]);
    expect(reviewed.code, reviewed.stderr).toBe(0);
    expect(reviewed.stdout).toContain('marked reviewed');
    expect(payment(p.id).attention).toBeNull();
    expect(operatorEvents(p.id).map((e) => [e.actor, e.detail?.['action']])).toEqual([
      ['operator:alice', 'cancel'],
      ['operator:bob', 'mark-reviewed'],
    ]);
    expect(h.daemon.payments.events(p.id).some((e) => e.kind === 'resolution' && e.actor === 'operator:bob')).toBe(true);
  });

  it('refuses mark-reviewed when nothing is flagged, and cancel of a paid payment', async () => {
    const p = await approved(1800);
    const review = await resolve(p.id, 'mark-reviewed');
    expect(review.code).toBe(1);
    expect(review.stderr).toContain('not flagged for attention');
    const cancel = await resolve(p.id, 'cancel');
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('refund it instead');
    expect((await resolve('no-such-id', 'refund')).stderr).toContain('no payment no-such-id');
  });
});
