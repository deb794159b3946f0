import { postgresSchemaVersion } from '../shared/db/postgres/migrate.js';
import { POSTGRES_LATEST_VERSION } from '../shared/db/postgres/migrations.js';
import { inTransaction, type PgPool } from '../shared/db/postgres/pool.js';
import type { Check } from './readiness.js';

/**
 * PostgreSQL's counterpart of the readiness probe's database check (readiness.ts, SQLite):
 * not wired into the daemon yet (it does not run on PostgreSQL in this build).
 */

class RollbackProbe extends Error {}

/**
 * A real write, rolled back: proves the server takes writes from us (not a standby after a
 * failover, not out of disk, not refusing our role). Big enough to need fresh pages, as a
 * payment with its journal would.
 * @example const check = await probePostgresWrite(pool); check.ok
 */
export async function probePostgresWrite(pool: PgPool): Promise<Check> {
  try {
    await inTransaction(pool, async (client) => {
      await client.query(
        "INSERT INTO payment_events (payment_id, at, kind, actor, raw_body) SELECT NULL, 0, 'readyz_probe', 'readyz', string_agg(md5(random()::text), '') FROM generate_series(1, 256)",
      );
      throw new RollbackProbe();
    });
    return { ok: false, detail: 'probe did not roll back' };
  } catch (error) {
    if (error instanceof RollbackProbe) return { ok: true };
    const code = (error as { code?: unknown }).code;
    return { ok: false, detail: `${(error as Error).message}${typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : ''}` };
  }
}

/**
 * The database check of /readyz on PostgreSQL: the server takes writes and the schema is this build's.
 * @example const check = await probePostgresDatabase(pool); // { ok: true }
 */
export async function probePostgresDatabase(pool: PgPool): Promise<Check> {
  const write = await probePostgresWrite(pool);
  if (!write.ok) return write;
  try {
    const version = await postgresSchemaVersion(pool);
    return version === POSTGRES_LATEST_VERSION ? { ok: true } : { ok: false, detail: `schema version ${version}, expected ${POSTGRES_LATEST_VERSION}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}
