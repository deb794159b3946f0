import type { Db } from '../shared/db/open.js';

/** A delivery still owed to someone: an upstream cancel or refund, later partner advices. */
export interface OutboxItem {
  id: number;
  kind: string;
  paymentId: string | null;
  payload: Record<string, unknown>;
  state: 'pending' | 'done' | 'dead';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

type Row = Record<string, unknown>;

export function toItem(r: Row): OutboxItem {
  return {
    id: r['id'] as number,
    kind: r['kind'] as string,
    paymentId: (r['payment_id'] as string | null) ?? null,
    payload: JSON.parse(r['payload'] as string) as Record<string, unknown>,
    state: r['state'] as OutboxItem['state'],
    attempts: r['attempts'] as number,
    nextAttemptAt: r['next_attempt_at'] as number,
    lastError: (r['last_error'] as string | null) ?? null,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
  };
}

/** The outbox table. Rows are written in the same transaction as the state change that owes them. */
export function createOutboxRepository(db: Db) {
  const s = {
    insert: db.prepare(`INSERT INTO outbox (kind, payment_id, payload, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
    due: db.prepare("SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"),
    get: db.prepare('SELECT * FROM outbox WHERE id = ?'),
    done: db.prepare("UPDATE outbox SET state = 'done', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?"),
    retry: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?'),
    postpone: db.prepare("UPDATE outbox SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'pending'"),
    untriedNow: db.prepare("UPDATE outbox SET next_attempt_at = @now, updated_at = @now WHERE state = 'pending' AND kind = @kind AND attempts = 0 AND next_attempt_at > @now"),
    dead: db.prepare("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?"),
    revive: db.prepare("UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'"),
    ofPayment: db.prepare('SELECT * FROM outbox WHERE payment_id = ? ORDER BY id'),
    list: db.prepare('SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?'),
    stats: db.prepare("SELECT state, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state IN ('pending', 'dead') GROUP BY state"),
  };
  return {
    /** Owes a delivery, due at `notBefore` (default: now). */
    enqueue(kind: string, paymentId: string | null, payload: Record<string, unknown>, at: number, notBefore: number = at): number {
      return Number(s.insert.run(kind, paymentId, JSON.stringify(payload), notBefore, at, at).lastInsertRowid);
    },
    due(now: number, limit: number): OutboxItem[] {
      return (s.due.all(now, limit) as Row[]).map(toItem);
    },
    /**
     * The items due now, claimed for `_leaseMs` against other daemons sharing the database, so
     * that only one attempts each (PostgreSQL). One daemon owns a SQLite file (the daemon
     * lock): there is nobody to claim against, and no write (no fsync) is spent on it.
     */
    claimDue(now: number, limit: number, _leaseMs: number): OutboxItem[] {
      return (s.due.all(now, limit) as Row[]).map(toItem);
    },
    get(id: number): OutboxItem | null {
      const r = s.get.get(id) as Row | undefined;
      return r ? toItem(r) : null;
    },
    markDone(id: number, at: number): void {
      s.done.run(at, id);
    },
    markRetry(id: number, nextAttemptAt: number, error: string, at: number): void {
      s.retry.run(nextAttemptAt, error, at, id);
    },
    /** Moves a pending item's next attempt without counting one (it was waiting, not failing). */
    postpone(id: number, nextAttemptAt: number, at: number): void {
      s.postpone.run(nextAttemptAt, at, id);
    },
    /** Makes every pending item of `kind` that was never tried by the outbox due now; returns how many. */
    untriedDueNow(kind: string, now: number): number {
      return s.untriedNow.run({ kind, now }).changes;
    },
    markDead(id: number, error: string, at: number): void {
      s.dead.run(error, at, id);
    },
    /** Puts a dead letter back in the queue (operator retry). */
    revive(id: number, at: number): boolean {
      return s.revive.run(at, at, id).changes === 1;
    },
    ofPayment(paymentId: string): OutboxItem[] {
      return (s.ofPayment.all(paymentId) as Row[]).map(toItem);
    },
    list(state: OutboxItem['state'], limit = 100): OutboxItem[] {
      return (s.list.all(state, limit) as Row[]).map(toItem);
    },
    /** Depth and oldest owed delivery per state (pending, dead). */
    stats(): { pending: number; dead: number; oldestPendingAt: number | null } {
      const rows = s.stats.all() as Array<{ state: string; n: number; oldest: number }>;
      const pending = rows.find((r) => r.state === 'pending');
      return { pending: pending?.n ?? 0, dead: rows.find((r) => r.state === 'dead')?.n ?? 0, oldestPendingAt: pending?.oldest ?? null };
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
