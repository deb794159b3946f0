import { PAYMENTS_BY_STATE_SQL, type StoredFigures } from '../../ops/metrics.js';
import type { PgPool } from '../../shared/db/postgres/pool.js';

/**
 * The gauges' figures from PostgreSQL: the same queries as SQLite's (`sqliteFigures`), on the pool.
 * @example createMetrics({ stored: pgFigures(pool), tokens, clock })
 */
export function pgFigures(pool: PgPool): StoredFigures {
  return {
    paymentsByState: async () => (await pool.query<{ provider: string; state: string; n: number }>(PAYMENTS_BY_STATE_SQL)).rows,
    attention: async () => (await pool.query<{ n: number }>('SELECT count(*) AS n FROM payments WHERE attention IS NOT NULL')).rows[0]?.n ?? 0,
    outbox: async () => (await pool.query<{ state: string; n: number; oldest: number }>("SELECT state, count(*) AS n, min(created_at) AS oldest FROM outbox WHERE state IN ('pending', 'dead') GROUP BY state")).rows,
  };
}
