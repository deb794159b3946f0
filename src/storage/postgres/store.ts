import type pg from 'pg';
import type { PgPool, Queryable } from '../../shared/db/postgres/pool.js';
import type { Repos, Store } from '../port.js';
import { pgElectrumRepository } from './electrum.js';
import { pgOutboxRepository } from './outbox.js';
import { pgPaymentRepository } from './payments.js';

export interface PostgresStoreOptions {
  /** How many times a transaction that lost a race (a unique key taken meanwhile, a serialization failure, a deadlock) is run again. Default 3. */
  attempts?: number;
  /** Told when an after-commit function throws: the others still run. */
  onCallbackError?: (error: unknown) => void;
  /** Decorates every set of repositories the store hands out (the daemon's webhooks: see `owingWebhooks`). */
  wrap?: (r: Repos) => Repos;
}

/**
 * SQLSTATEs of a transaction that lost a race with another daemon and may simply be run again:
 * unique_violation (a key claimed meanwhile: the rerun reads the winner's row and takes the
 * replay path), serialization_failure, deadlock_detected.
 */
const RACE_LOST = new Set(['23505', '40001', '40P01']);
const lostRace = (error: unknown): boolean => typeof error === 'object' && error !== null && RACE_LOST.has(String((error as { code?: unknown }).code));

/**
 * The database could not be reached or could not take the write: a storage failure (503
 * `storage_unavailable`, the outbox keeps the delivery owed), as SQLite's full disk is.
 * SQLSTATE classes 08 (connection), 53 (insufficient resources: disk full, too many
 * connections), 57P (server shutting down), 58 (system error); and the driver's own failures
 * to connect, which carry no SQLSTATE.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  if (/^(08|53|57P|58)/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}

/** Marks a driver error as a storage failure for the error handler and the outbox (see `isStorageFailure`). */
function asStorageFailure(error: unknown): unknown {
  if (!isPostgresUnavailable(error) || typeof error !== 'object' || error === null) return error;
  return Object.assign(error, { storageFailure: true });
}

const plainReposOn = (q: Queryable, afterCommit: (fn: () => void) => void): Repos => ({
  payments: pgPaymentRepository(q),
  outbox: pgOutboxRepository(q),
  electrum: pgElectrumRepository(q),
  afterCommit,
});

/**
 * The storage port on PostgreSQL: each `tx` is one transaction (READ COMMITTED) on one pooled
 * connection, and its COMMIT (with `synchronous_commit=on`) is the durability point: `tx`
 * resolves after it, and the transaction's after-commit functions run then. Read-modify-writes
 * of a payment lock its row first (`getForUpdate`), so daemons sharing the database take
 * turns on a payment; a transaction that lost a race on a unique key, a serialization failure
 * or a deadlock is run again from the start (its after-commit functions discarded), where it
 * reads what the winner wrote. Outside a transaction each call runs on the pool on its own.
 * @example
 * const store = postgresStore(createPostgresPool(config.database));
 * await store.tx(async (r) => { const p = await r.payments.getForUpdate(id); ... });
 */
export function postgresStore(pool: PgPool, options: PostgresStoreOptions = {}): Store {
  const attempts = options.attempts ?? 3;
  const reposOn = (q: Queryable, afterCommit: (fn: () => void) => void): Repos => (options.wrap ?? ((r: Repos) => r))(plainReposOn(q, afterCommit));
  const runAll = (fns: Array<() => void>): void => {
    for (const fn of fns) {
      try {
        fn();
      } catch (error) {
        options.onCallbackError?.(error);
      }
    }
  };
  // Outside a transaction: the pool, its failures to reach the server marked as storage failures.
  const onPool: Queryable = { query: ((...args: Parameters<PgPool['query']>) => (pool.query as (...a: unknown[]) => Promise<unknown>)(...args).catch((error: unknown) => Promise.reject(asStorageFailure(error)))) as PgPool['query'] };
  const repos = reposOn(onPool, (fn) => runAll([fn]));

  async function once<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw asStorageFailure(error);
    }
    const after: Array<() => void> = [];
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await fn(reposOn(client, (f) => after.push(f)));
      await client.query('COMMIT');
      client.release();
      runAll(after);
      return value;
    } catch (error) {
      // A connection that cannot even roll back is closed rather than handed to the next caller.
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      client.release(broken);
      throw asStorageFailure(error);
    }
  }

  return {
    repos,
    async tx<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(fn);
        } catch (error) {
          if (attempt >= attempts || !lostRace(error)) throw error;
        }
      }
    },
    // Every write outside a transaction is committed before its call resolves: nothing is ever pending.
    settled: () => Promise.resolve(),
    afterCommit: (fn) => runAll([fn]),
  };
}
