import { assembleEndOfDay, type EndOfDayReport, type EndOfDayRow } from '../../reports/end-of-day.js';
import type { PgPool } from '../../shared/db/postgres/pool.js';

const OPEN = "('created','awaiting_customer')";
const PAID = "('approved','partially_refunded','refunded')";

/**
 * The end-of-day report on PostgreSQL: the same three queries as SQLite's (src/reports/end-of-day.ts),
 * read in one REPEATABLE READ, READ ONLY transaction (one consistent view, no lock on the daemons'
 * writes), assembled by the same code.
 * @example const report = await pgEndOfDayReport(pool, localDayBounds('2026-03-10'));
 */
export async function pgEndOfDayReport(pool: PgPool, period: { from: number; to: number }): Promise<EndOfDayReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const args = [period.from, period.to];
    const payments = await client.query<EndOfDayRow>(
      `SELECT store_id AS "storeId", terminal_id AS "terminalId", currency,
          count(*) FILTER (WHERE state IN ${PAID}) AS "approvedCount",
          coalesce(sum(coalesce(approved_minor, amount_minor)) FILTER (WHERE state IN ${PAID}), 0)::bigint AS "approvedMinor",
          count(*) FILTER (WHERE state = 'declined') AS "declinedCount", count(*) FILTER (WHERE state = 'cancelled') AS "cancelledCount",
          count(*) FILTER (WHERE state = 'expired') AS "expiredCount", count(*) FILTER (WHERE state = 'failed') AS "failedCount",
          count(*) FILTER (WHERE state = 'reversed') AS "reversedCount", count(*) FILTER (WHERE state IN ${OPEN}) AS "openCount"
        FROM payments WHERE created_at >= $1 AND created_at < $2
        GROUP BY store_id, terminal_id, currency`,
      args,
    );
    const refunds = await client.query<EndOfDayRow>(
      `SELECT p.store_id AS "storeId", p.terminal_id AS "terminalId", p.currency, count(*) AS "refundsCount", sum(r.amount_minor)::bigint AS "refundedMinor"
        FROM refunds r JOIN payments p ON p.id = r.payment_id
        WHERE r.state = 'succeeded' AND r.updated_at >= $1 AND r.updated_at < $2
        GROUP BY p.store_id, p.terminal_id, p.currency`,
      args,
    );
    const late = await client.query<EndOfDayRow>(
      `SELECT p.store_id AS "storeId", p.terminal_id AS "terminalId", p.currency, count(DISTINCT e.payment_id) AS "lateApprovals"
        FROM payment_events e JOIN payments p ON p.id = e.payment_id
        WHERE e.kind = 'state_changed' AND (e.detail::jsonb ->> 'attention') = 'late_approval' -- the WHERE of payment_events_late_approval
          AND e.at >= $1 AND e.at < $2
        GROUP BY p.store_id, p.terminal_id, p.currency`,
      args,
    );
    await client.query('COMMIT');
    return assembleEndOfDay(period, [...payments.rows, ...refunds.rows, ...late.rows]);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
