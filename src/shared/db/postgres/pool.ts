import pg from 'pg';
import type { PostgresDatabaseConfig } from '../../config/database-schema.js';

export type PgPool = pg.Pool;

/** What a query can be run on: the pool, or one client checked out of it (a transaction). */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

const INT8_OID = 20;

/**
 * BIGINT arrives from the server as text (pg's default, as it may exceed 2^53). Our BIGINTs are
 * epoch-ms times, minor-unit amounts, counts and sequence numbers, all far below 2^53: read them
 * as numbers, as better-sqlite3 does, and refuse one that is not exact instead of rounding it.
 */
export function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} is beyond 2^53 and cannot be read exactly`);
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID && format !== 'binary' ? parseBigint : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/** Options of {@link createPostgresPool}. */
export interface PostgresPoolOptions {
  /** Shown in pg_stat_activity (default "tenderbridge"). */
  applicationName?: string;
  /** An idle connection failed (the server restarted, a network cut): the pool drops it; this is told why. Never throws. */
  onIdleError?: (error: Error) => void;
}

/**
 * A `pg` pool for the configured server. Every connection runs with `synchronous_commit=on`
 * (a COMMIT returns only once the WAL is flushed: the durability point our answers wait for),
 * the configured `statement_timeout`, and `application_name=tenderbridge`. BIGINTs read as
 * numbers ({@link parseBigint}). The caller ends the pool (`await pool.end()`).
 * @example const pool = createPostgresPool(config.database); const { rows } = await pool.query('SELECT 1 AS one');
 */
export function createPostgresPool(database: PostgresDatabaseConfig, options: PostgresPoolOptions = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: database.url,
    max: database.pool.max,
    idleTimeoutMillis: database.pool.idleTimeoutMs,
    connectionTimeoutMillis: database.pool.connectionTimeoutMs,
    statement_timeout: database.pool.statementTimeoutMs,
    application_name: options.applicationName ?? 'tenderbridge',
    // Startup parameters: set before the first query of every connection, whatever the server's default.
    options: '-c synchronous_commit=on',
    types,
  });
  // Without a listener an idle connection's error would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

/**
 * Runs `fn` in one transaction on one connection of the pool: COMMIT when it resolves,
 * ROLLBACK when it throws (the error is rethrown).
 * @example await inTransaction(pool, async (client) => { await client.query('INSERT ...'); });
 */
export async function inTransaction<T>(pool: PgPool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection that could not roll back is closed rather than handed to the next caller.
    client.release(broken);
  }
}
