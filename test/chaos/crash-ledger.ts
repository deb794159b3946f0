import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { settledMinor, type Attention, type PaymentState } from '../../src/payments/state-machine.js';
import type { Sims } from './sims-client.js';
import { OPEN, sleep, until } from './support.js';

/** One payment at the end of a run: tenderbridge's view and the upstream's books. */
export interface PaymentEnd {
  id: string;
  tenderbridge: { state: string; approvedMinor: number | null; refundedMinor: number; settledMinor: number; attention: string | null };
  /** PartPay: the orders for it (status, refunds); Electrum: the partner's payment (state, what it keeps). */
  upstream: Record<string, unknown>;
}

/** Where a run ended: every payment (oldest first), whatever is still owed, and amounts the upstream holds that are not the payment's. */
export interface RunEnd {
  payments: PaymentEnd[];
  owed: string[];
  wrongAmounts: string[];
}

type Row = { id: string; provider: string; state: PaymentState; amount_minor: number; approved_minor: number | null; refunded_minor: number; attention: Attention | null; request_id: string | null };

const openDb = (dbPath: string) => new Database(dbPath, { readonly: true, fileMustExist: true });

/** Waits until nothing is open, owed or pending in the run's database; false when that never came. */
export async function quiet(dbPath: string, timeoutMs: number): Promise<boolean> {
  const count = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return until(
    () => {
      const db = openDb(dbPath);
      try {
        return (
          count(db, "SELECT count(*) AS n FROM payments WHERE state IN ('created','awaiting_customer')") === 0 &&
          count(db, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'") === 0 &&
          count(db, "SELECT count(*) AS n FROM refunds WHERE state = 'pending'") === 0
        );
      } finally {
        db.close();
      }
    },
    () => sleep(50),
    timeoutMs,
    0,
  );
}

/** Reads a run's end from its database (tenderbridge) and from the simulators (the upstream); payments in `before` belong to earlier runs. */
export async function runEnd(dbPath: string, sims: Sims, before: ReadonlySet<string> = new Set()): Promise<RunEnd> {
  const db = openDb(dbPath);
  let rows: Row[];
  let owed: string[];
  try {
    rows = db
      .prepare('SELECT p.id, p.provider, p.state, p.amount_minor, p.approved_minor, p.refunded_minor, p.attention, e.request_id FROM payments p LEFT JOIN electrum_payments e ON e.payment_id = p.id ORDER BY p.created_at, p.rowid')
      .all() as Row[];
    owed = [
      ...(db.prepare("SELECT kind, state, last_error FROM outbox WHERE state != 'done'").all() as Array<{ kind: string; state: string; last_error: string | null }>).map((r) => `outbox ${r.kind} left ${r.state} (${r.last_error ?? ''})`),
      ...(db.prepare("SELECT id, payment_id FROM refunds WHERE state = 'pending'").all() as Array<{ id: string; payment_id: string }>).map((r) => `refund ${r.id} of ${r.payment_id} left pending`),
    ];
  } finally {
    db.close();
  }
  const payments: PaymentEnd[] = [];
  const wrongAmounts: string[] = [];
  for (const r of rows.filter((x) => !before.has(x.id))) {
    const facts = { state: r.state, amountMinor: r.amount_minor, approvedMinor: r.approved_minor, refundedMinor: r.refunded_minor, attention: r.attention, upstreamOrderId: null, errorCode: null };
    let upstream: Record<string, unknown>;
    if (r.provider === 'electrum') {
      const { reversals: _count, ...held } = await sims.partnerPayment(r.request_id ?? '');
      upstream = held;
      if (held.amountMinor !== null && held.amountMinor !== r.amount_minor) wrongAmounts.push(`payment ${r.id} of ${r.amount_minor}: the partner received a payment of ${held.amountMinor}`);
    } else {
      const orders = await sims.orders(r.id);
      upstream = { orders: orders.length, status: orders[0]?.status ?? 'none', amountsCents: orders.map((o) => o.amountCents), refunds: orders.flatMap((o) => o.refunds.map((x) => x.amountCents)) };
      for (const o of orders) if (o.amountCents !== r.amount_minor) wrongAmounts.push(`payment ${r.id} of ${r.amount_minor}: PartPay's order ${o.orderId} is for ${o.amountCents}`);
    }
    payments.push({ id: r.id, tenderbridge: { state: r.state, approvedMinor: r.approved_minor, refundedMinor: r.refunded_minor, settledMinor: settledMinor(facts), attention: r.attention }, upstream });
  }
  return { payments, owed, wrongAmounts };
}

const show = (value: unknown) => JSON.stringify(value);

/**
 * What differs between a crashed run and the uninterrupted one: the sale's payment must end the
 * same in tenderbridge and upstream, nothing may be left owed, and a payment the POS abandoned
 * (its pay got no answer, so it was reversed and the sale tried again) must have taken nothing.
 */
export function differences(reference: RunEnd, run: RunEnd): string[] {
  const problems = [...run.owed, ...run.wrongAmounts];
  const last = run.payments[run.payments.length - 1];
  const expected = reference.payments[reference.payments.length - 1];
  if (!last || !expected) return [...problems, `${run.payments.length} payments, the uninterrupted run ${reference.payments.length}`];
  if (!isDeepStrictEqual(last.tenderbridge, expected.tenderbridge)) problems.push(`tenderbridge ${show(last.tenderbridge)}, uninterrupted ${show(expected.tenderbridge)}`);
  if (!isDeepStrictEqual(last.upstream, expected.upstream)) problems.push(`upstream ${show(last.upstream)}, uninterrupted ${show(expected.upstream)}`);
  for (const p of run.payments.slice(0, -1)) {
    const keeps = typeof p.upstream['settledMinor'] === 'number' ? p.upstream['settledMinor'] : 0;
    if (OPEN.has(p.tenderbridge.state) || p.tenderbridge.settledMinor !== 0 || keeps !== 0 || p.upstream['orders'] !== undefined) {
      problems.push(`abandoned payment ${p.id}: tenderbridge ${show(p.tenderbridge)}, upstream ${show(p.upstream)}`);
    }
  }
  return problems;
}
