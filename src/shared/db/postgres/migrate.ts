import type { Migration } from '../migrations.js';
import { DatabaseError, type MigrateOptions } from '../open.js';
import { POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS } from './migrations.js';
import { inTransaction, type PgPool, type Queryable } from './pool.js';

/**
 * Held (for the migrating transaction only) by whoever migrates: a second daemon or `db migrate`
 * starting at the same moment waits for it, then finds nothing left to apply.
 */
const MIGRATION_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('tenderbridge: schema migration'))";

/** The schema version of a PostgreSQL database: the highest `schema_history` row, 0 when empty. */
export async function postgresSchemaVersion(db: Queryable): Promise<number> {
  // A query of pg_class, not to_regclass(): the latter answers from this session's catalog cache,
  // which a daemon that waited on the migration lock has not refreshed, so it would miss the table
  // another daemon just created and try to create it again.
  const { rows } = await db.query<{ n: number }>("SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relname = 'schema_history' AND s.nspname = current_schema()");
  if (!rows[0]?.n) return 0;
  const history = await db.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM schema_history');
  return history.rows[0]?.version ?? 0;
}

/** The tenderbridge version that brought the database to its schema version, or null. */
export async function postgresWrittenBy(db: Queryable): Promise<string | null> {
  if ((await postgresSchemaVersion(db)) === 0) return null;
  const { rows } = await db.query<{ app_version: string }>('SELECT app_version FROM schema_history ORDER BY version DESC LIMIT 1');
  return rows[0]?.app_version ?? null;
}

/** What {@link migratePostgres} did. */
export interface PostgresMigration {
  /** The version found. */
  from: number;
  /** The versions applied (empty when it was up to date). */
  applied: number[];
  /** The version now. */
  version: number;
}

/**
 * Brings a PostgreSQL database to this build's schema: every pending migration, with its
 * `schema_history` row, in ONE transaction under an advisory lock, so a failure leaves the
 * database as it was and two migrators never both apply (the second waits, then finds it done).
 * Refuses a database written by a newer build, naming it, as SQLite's `migrate` does.
 * @example const { applied } = await migratePostgres(pool, { appVersion: '0.3.0' }); // [7]
 */
export async function migratePostgres(pool: PgPool, options: MigrateOptions & { migrations?: readonly Migration[] } = {}): Promise<PostgresMigration> {
  const migrations = [...(options.migrations ?? POSTGRES_MIGRATIONS)].sort((a, b) => a.version - b.version);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const now = options.now ?? Date.now;
  return inTransaction(pool, async (client) => {
    await client.query(MIGRATION_LOCK_SQL);
    const from = await postgresSchemaVersion(client);
    if (from > latest) {
      const writer = await postgresWrittenBy(client);
      throw new DatabaseError(
        `the PostgreSQL database is at schema version ${from}${writer ? `, written by tenderbridge ${writer}` : ''}; this is tenderbridge ${options.appVersion ?? 'unknown'}, ` +
          `which knows schema versions up to ${latest}. Install ${writer ? `tenderbridge ${writer}` : 'the tenderbridge that wrote it'} or later`,
      );
    }
    const pending = migrations.filter((m) => m.version > from);
    // The baseline stands for versions 1..7 of an empty database; a database part-way along needs
    // every migration after its version.
    const next = pending[0];
    if (from > 0 && next !== undefined && next.version !== from + 1) throw new DatabaseError(`the PostgreSQL database is at schema version ${from} and this build has no migration ${from + 1}`);
    const applied: number[] = [];
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_history (version, app_version, applied_at) VALUES ($1, $2, $3)', [migration.version, options.appVersion ?? 'unknown', now()]);
      applied.push(migration.version);
    }
    return { from, applied, version: applied.at(-1) ?? from };
  });
}

export { POSTGRES_LATEST_VERSION };
