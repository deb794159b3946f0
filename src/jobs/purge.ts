import { immediateCommit } from '../shared/db/group-commit.js';
import type { Db } from '../shared/db/open.js';

export interface PurgeResult {
  payments: number;
  events: number;
  outbox: number;
  idempotencyKeys: number;
  electrumMessages: number;
  /** Transactions the purge took (each one batch). */
  batches: number;
}

export interface PurgeOptions {
  /** Rows (payments, or other rows) deleted by the first transaction of each kind; later ones are sized to take about `batchMs`. */
  batchSize?: number;
  /** Event-loop time one batch should take (default 4 ms): batches grow or shrink to it as the file's speed shows. */
  batchMs?: number;
  /** Awaited between batches; the daemon lets the event loop serve requests there. */
  pause?: () => Promise<void>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batch size that follows how long the last batch took, towards `targetMs`. */
function adaptiveBatch(first: number, targetMs: number) {
  let size = first;
  return {
    get size(): number {
      return size;
    },
    /** Runs one batch of the current size and resizes the next one from how long this took. */
    time<T>(fn: (size: number) => T): T {
      const t0 = performance.now();
      const result = fn(size);
      const ms = performance.now() - t0;
      // At most double after a quick batch: one lucky batch (all pages cached) must not size the next one tenfold.
      size = Math.max(5, Math.min(2000, Math.round(size * Math.min(2, targetMs / Math.max(ms, 0.05)))));
      return result;
    },
  };
}

/**
 * Deletes what is past retention: settled payments (and everything that hangs off them) final
 * for longer than `paymentDays`; orphan journal entries, delivered outbox rows and Electrum
 * message ids older than `otherDays`; idempotency keys older than their window. Open payments,
 * payments flagged for an operator and owed deliveries are never touched.
 *
 * It works in small batches, each its own transaction sized to about 4 ms, and pauses between them: a first purge
 * of a big file (months of payments at once) must not hold the event loop, or the write lock,
 * for seconds. Each batch finds its rows through an index (migration 7), so its cost does not
 * grow with the file. A crash between batches loses nothing: each batch deletes whole
 * payments, and the next run carries on.
 * @example const r = await purgeExpiredData(db, Date.now(), { paymentDays: 400, otherDays: 90, idempotencyKeyHours: 48 });
 */
export async function purgeExpiredData(db: Db, now: number, settings: { paymentDays: number; otherDays: number; idempotencyKeyHours: number }, options: PurgeOptions = {}): Promise<PurgeResult> {
  const first = options.batchSize ?? 20;
  const targetMs = options.batchMs ?? 4;
  const pause = options.pause ?? nextTurn;
  const commit = immediateCommit(db);
  const paymentsBefore = now - settings.paymentDays * 86_400_000;
  const otherBefore = now - settings.otherDays * 86_400_000;
  const result: PurgeResult = { payments: 0, events: 0, outbox: 0, idempotencyKeys: 0, electrumMessages: 0, batches: 0 };
  const oldPayments = db.prepare(`SELECT id FROM payments
    WHERE final_at IS NOT NULL AND final_at < ? AND attention IS NULL
      AND id NOT IN (SELECT payment_id FROM outbox WHERE state IN ('pending', 'dead') AND payment_id IS NOT NULL)
    ORDER BY final_at LIMIT ?`).pluck();
  // Named indexes: a small table's statistics must not talk the planner into a scan that a big one would pay for.
  // (A unique column needs no name: the planner always takes its index for an IN list.)
  const ofIds = (table: string, index: string | null, column = 'payment_id') => db.prepare(`DELETE FROM ${table}${index ? ` INDEXED BY ${index}` : ''} WHERE ${column} IN (SELECT value FROM json_each(?))`);
  const drop = {
    events: ofIds('payment_events', 'payment_events_payment'),
    refunds: ofIds('refunds', 'refunds_payment'),
    outbox: ofIds('outbox', 'outbox_payment'),
    electrumPayments: ofIds('electrum_payments', null),
    electrumQr: ofIds('electrum_qr_codes', 'electrum_qr_codes_payment'),
    idempotency: ofIds('idempotency_keys', 'idempotency_keys_payment'),
    payments: ofIds('payments', null, 'id'),
  };
  // Rows with no payment to follow, each kind by its own age, `limit` at a time. Unpaid
  // expired QR codes are counted under no figure of their own.
  type Counted = Exclude<keyof PurgeResult, 'batches' | 'payments'> | null;
  const others: Array<{ counts: Counted; sql: string; before: number }> = [
    { counts: 'events', sql: 'DELETE FROM payment_events WHERE seq IN (SELECT seq FROM payment_events WHERE payment_id IS NULL AND at < ? LIMIT ?)', before: otherBefore },
    { counts: 'outbox', sql: "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'done' AND updated_at < ? LIMIT ?)", before: otherBefore },
    { counts: 'electrumMessages', sql: 'DELETE FROM electrum_messages WHERE rowid IN (SELECT rowid FROM electrum_messages WHERE created_at < ? LIMIT ?)', before: otherBefore },
    { counts: 'idempotencyKeys', sql: 'DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)', before: now - settings.idempotencyKeyHours * 3_600_000 },
    { counts: null, sql: 'DELETE FROM electrum_qr_codes WHERE rowid IN (SELECT rowid FROM electrum_qr_codes WHERE payment_id IS NULL AND expires_at < ? LIMIT ?)', before: paymentsBefore },
  ];

  const paymentBatch = adaptiveBatch(first, targetMs);
  for (;;) {
    const done = paymentBatch.time((limit) => commit.transaction(() => {
      const ids = oldPayments.all(paymentsBefore, limit) as string[];
      if (ids.length === 0) return true;
      const json = JSON.stringify(ids);
      result.events += drop.events.run(json).changes;
      drop.refunds.run(json);
      drop.outbox.run(json);
      drop.electrumPayments.run(json);
      drop.electrumQr.run(json);
      drop.idempotency.run(json);
      result.payments += drop.payments.run(json).changes;
      return ids.length < limit;
    }));
    result.batches += 1;
    if (done) break;
    await pause();
  }
  for (const { counts, sql, before } of others) {
    const statement = db.prepare(sql);
    const batch = adaptiveBatch(first, targetMs);
    for (;;) {
      const limit = batch.size;
      const changes = batch.time(() => commit.transaction(() => statement.run(before, limit).changes));
      result.batches += 1;
      if (counts) result[counts] += changes;
      if (changes < limit) break;
      await pause();
    }
  }
  return result;
}
