import { immediateCommit } from '../shared/db/group-commit.js';
import type { Db } from '../shared/db/open.js';

export interface PurgeResult {
  payments: number;
  events: number;
  outbox: number;
  idempotencyKeys: number;
  electrumMessages: number;
}

/**
 * Deletes what is past retention, in one transaction: settled payments (and everything that
 * hangs off them) final for longer than `paymentDays`; orphan journal entries, delivered
 * outbox rows and Electrum message ids older than `otherDays`; idempotency keys older than
 * their window. Open payments and owed deliveries are never touched.
 */
export function purgeExpiredData(db: Db, now: number, settings: { paymentDays: number; otherDays: number; idempotencyKeyHours: number }): PurgeResult {
  const paymentsBefore = now - settings.paymentDays * 86_400_000;
  const otherBefore = now - settings.otherDays * 86_400_000;
  return immediateCommit(db).transaction((): PurgeResult => {
    const old = "SELECT id FROM payments WHERE final_at IS NOT NULL AND final_at < @before AND attention IS NULL AND id NOT IN (SELECT payment_id FROM outbox WHERE state != 'done' AND payment_id IS NOT NULL)";
    const args = { before: paymentsBefore };
    const events = db.prepare(`DELETE FROM payment_events WHERE payment_id IN (${old})`).run(args).changes;
    db.prepare(`DELETE FROM refunds WHERE payment_id IN (${old})`).run(args);
    db.prepare(`DELETE FROM outbox WHERE payment_id IN (${old})`).run(args);
    db.prepare(`DELETE FROM electrum_payments WHERE payment_id IN (${old})`).run(args);
    db.prepare(`DELETE FROM electrum_qr_codes WHERE payment_id IN (${old}) OR (payment_id IS NULL AND expires_at < @before)`).run(args);
    db.prepare(`DELETE FROM idempotency_keys WHERE payment_id IN (${old})`).run(args);
    const payments = db.prepare(`DELETE FROM payments WHERE id IN (${old})`).run(args).changes;
    const orphans = db.prepare('DELETE FROM payment_events WHERE payment_id IS NULL AND at < ?').run(otherBefore).changes;
    const outbox = db.prepare("DELETE FROM outbox WHERE state = 'done' AND updated_at < ?").run(otherBefore).changes;
    const electrumMessages = db.prepare('DELETE FROM electrum_messages WHERE created_at < ?').run(otherBefore).changes;
    const idempotencyKeys = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(now - settings.idempotencyKeyHours * 3_600_000).changes;
    return { payments, events: events + orphans, outbox, idempotencyKeys, electrumMessages };
  });
}
