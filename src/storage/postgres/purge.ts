import type { PurgeResult } from '../../jobs/purge.js';
import { inTransaction, type PgPool } from '../../shared/db/postgres/pool.js';

export interface PgPurgeOptions {
  /** Payments (or other rows) one transaction deletes (default 500): short transactions, so the daemons' writes never wait long behind one. */
  batchSize?: number;
}

/**
 * Deletes what is past retention on PostgreSQL, by the rules of SQLite's `purgeExpiredData`
 * (src/jobs/purge.ts): settled payments final for longer than `paymentDays` with everything
 * that hangs off them, never one flagged for an operator or with a delivery still owed; orphan
 * journal entries, delivered outbox rows and Electrum message ids older than `otherDays`;
 * idempotency keys older than their window; unpaid QR codes expired before the payments' cut-off.
 * The work is the server's, not the event loop's: batches of a fixed size, each its own
 * transaction. Run it on one daemon of the fleet (`runAsLeader`).
 * @example const r = await pgPurgeExpiredData(pool, Date.now(), { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 48 });
 */
export async function pgPurgeExpiredData(pool: PgPool, now: number, settings: { paymentDays: number; otherDays: number; idempotencyKeyHours: number }, options: PgPurgeOptions = {}): Promise<PurgeResult> {
  const limit = options.batchSize ?? 500;
  const paymentsBefore = now - settings.paymentDays * 86_400_000;
  const otherBefore = now - settings.otherDays * 86_400_000;
  const result: PurgeResult = { payments: 0, events: 0, outbox: 0, idempotencyKeys: 0, electrumMessages: 0, batches: 0 };

  for (;;) {
    const ids = await inTransaction(pool, async (client) => {
      // Locked and skipped if a daemon is changing one right now: it is not settled for this run.
      const found = (
        await client.query<{ id: string }>(
          `SELECT id FROM payments
            WHERE final_at IS NOT NULL AND final_at < $1 AND attention IS NULL
              AND id NOT IN (SELECT payment_id FROM outbox WHERE state IN ('pending', 'dead') AND payment_id IS NOT NULL)
            ORDER BY final_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [paymentsBefore, limit],
        )
      ).rows.map((r) => r.id);
      if (found.length > 0) {
        result.events += (await client.query('DELETE FROM payment_events WHERE payment_id = ANY($1::text[])', [found])).rowCount ?? 0;
        for (const table of ['refunds', 'outbox', 'electrum_payments', 'electrum_qr_codes', 'idempotency_keys']) await client.query(`DELETE FROM ${table} WHERE payment_id = ANY($1::text[])`, [found]);
        result.payments += (await client.query('DELETE FROM payments WHERE id = ANY($1::text[])', [found])).rowCount ?? 0;
      }
      return found;
    });
    result.batches += 1;
    if (ids.length < limit) break;
  }

  type Counted = Exclude<keyof PurgeResult, 'batches' | 'payments'> | null;
  const others: Array<{ counts: Counted; sql: string; before: number }> = [
    { counts: 'events', sql: 'DELETE FROM payment_events WHERE seq IN (SELECT seq FROM payment_events WHERE payment_id IS NULL AND at < $1 LIMIT $2)', before: otherBefore },
    { counts: 'outbox', sql: "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'done' AND updated_at < $1 LIMIT $2)", before: otherBefore },
    { counts: 'electrumMessages', sql: 'DELETE FROM electrum_messages WHERE (sender, id) IN (SELECT sender, id FROM electrum_messages WHERE created_at < $1 LIMIT $2)', before: otherBefore },
    { counts: 'idempotencyKeys', sql: 'DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)', before: now - settings.idempotencyKeyHours * 3_600_000 },
    { counts: null, sql: 'DELETE FROM electrum_qr_codes WHERE tran_id IN (SELECT tran_id FROM electrum_qr_codes WHERE payment_id IS NULL AND expires_at < $1 LIMIT $2)', before: paymentsBefore },
  ];
  for (const { counts, sql, before } of others) {
    for (;;) {
      const changes = (await pool.query(sql, [before, limit])).rowCount ?? 0;
      result.batches += 1;
      if (counts) result[counts] += changes;
      if (changes < limit) break;
    }
  }
  return result;
}
