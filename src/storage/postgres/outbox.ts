import { toItem, type OutboxRepository } from '../../outbox/repository.js';
import type { Queryable } from '../../shared/db/postgres/pool.js';
import type { Port } from '../port.js';
import { all, one, run } from './sql.js';

/**
 * The outbox repository on PostgreSQL: the same methods and answers as the SQLite one
 * (src/outbox/repository.ts), on one connection or the pool (`q`).
 * @example await pgOutboxRepository(client).enqueue('upstream.refund', paymentId, { refundId }, Date.now());
 */
export function pgOutboxRepository(q: Queryable): Port<OutboxRepository> {
  return {
    async enqueue(kind, paymentId, payload, at, notBefore = at) {
      const r = await one(q, 'INSERT INTO outbox (kind, payment_id, payload, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id', [kind, paymentId, JSON.stringify(payload), notBefore, at]);
      return r?.['id'] as number;
    },
    async due(now, limit) {
      return (await all(q, "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2", [now, limit])).map(toItem);
    },
    /**
     * The items due now, claimed: their next attempt moves to `now + leaseMs`, so no other daemon
     * sees them due while this one attempts them, and a daemon that dies mid-attempt leaves them
     * due again once the lease runs out. SKIP LOCKED: daemons claiming at once split the rows.
     */
    async claimDue(now, limit, leaseMs) {
      const rows = await all(
        q,
        `UPDATE outbox SET next_attempt_at = $1, updated_at = $2 WHERE id IN (
           SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now + leaseMs, now, limit],
      );
      return rows.map(toItem).sort((a, b) => a.id - b.id);
    },
    async get(id) {
      const r = await one(q, 'SELECT * FROM outbox WHERE id = $1', [id]);
      return r ? toItem(r) : null;
    },
    async markDone(id, at) {
      await run(q, "UPDATE outbox SET state = 'done', attempts = attempts + 1, last_error = NULL, updated_at = $1 WHERE id = $2", [at, id]);
    },
    async markRetry(id, nextAttemptAt, error, at) {
      await run(q, 'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, updated_at = $3 WHERE id = $4', [nextAttemptAt, error, at, id]);
    },
    async postpone(id, nextAttemptAt, at) {
      await run(q, "UPDATE outbox SET next_attempt_at = $1, updated_at = $2 WHERE id = $3 AND state = 'pending'", [nextAttemptAt, at, id]);
    },
    untriedDueNow: (kind, now) => run(q, "UPDATE outbox SET next_attempt_at = $1, updated_at = $1 WHERE state = 'pending' AND kind = $2 AND attempts = 0 AND next_attempt_at > $1", [now, kind]),
    async markDead(id, error, at) {
      await run(q, "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = $1, updated_at = $2 WHERE id = $3", [error, at, id]);
    },
    async revive(id, at) {
      return (await run(q, "UPDATE outbox SET state = 'pending', next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND state = 'dead'", [at, id])) === 1;
    },
    async ofPayment(paymentId) {
      return (await all(q, 'SELECT * FROM outbox WHERE payment_id = $1 ORDER BY id', [paymentId])).map(toItem);
    },
    async list(state, limit = 100) {
      return (await all(q, 'SELECT * FROM outbox WHERE state = $1 ORDER BY id DESC LIMIT $2', [state, limit])).map(toItem);
    },
    async stats() {
      const rows = await all(q, "SELECT state, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state IN ('pending', 'dead') GROUP BY state", []);
      const pending = rows.find((r) => r['state'] === 'pending');
      return { pending: (pending?.['n'] as number | undefined) ?? 0, dead: (rows.find((r) => r['state'] === 'dead')?.['n'] as number | undefined) ?? 0, oldestPendingAt: (pending?.['oldest'] as number | undefined) ?? null };
    },
  };
}
