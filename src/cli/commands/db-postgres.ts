import { redactDatabaseUrl, type PostgresDatabaseConfig } from '../../shared/config/database-schema.js';
import { DatabaseError } from '../../shared/db/open.js';
import { migratePostgres, postgresSchemaVersion, postgresWrittenBy } from '../../shared/db/postgres/migrate.js';
import { POSTGRES_LATEST_VERSION } from '../../shared/db/postgres/migrations.js';
import { createPostgresPool, type PgPool } from '../../shared/db/postgres/pool.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../io.js';
import { renderJson } from '../output.js';

/** `db migrate` and `db status` on PostgreSQL; the URL is only ever shown without its password. */

/** A pool for one command, ended with it; its failures name the server (password hidden). */
function poolFor(ctx: CliContext, database: PostgresDatabaseConfig): PgPool {
  const pool = createPostgresPool(database);
  ctx.defer(() => pool.end());
  return pool;
}

/** Runs `fn`, turning a connection or SQL failure into a CliError that names the server (never its password). */
async function onServer<T>(database: PostgresDatabaseConfig, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DatabaseError) throw new CliError(`${redactDatabaseUrl(database.url)}: ${error.message}`);
    const code = (error as { code?: unknown }).code;
    throw new CliError(`PostgreSQL at ${redactDatabaseUrl(database.url)}: ${(error as Error).message}${typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : ''}`);
  }
}

/**
 * `tenderbridge db migrate` on PostgreSQL: every pending migration in one transaction, under an
 * advisory lock (a daemon or another `db migrate` starting meanwhile waits, then finds it done).
 * No copy is taken first: back PostgreSQL up with its own tools (pg_dump, PITR).
 */
export async function migratePostgresCommand(ctx: CliContext, database: PostgresDatabaseConfig): Promise<number> {
  const shown = redactDatabaseUrl(database.url);
  const pool = poolFor(ctx, database);
  const { from, applied, version } = await onServer(database, () => migratePostgres(pool, { appVersion: ctx.io.build?.version ?? 'unknown', now: ctx.clock }));
  if (ctx.json) ctx.out(renderJson({ database: shown, kind: 'postgres', from, applied, version, backup: null }));
  else if (applied.length === 0) ctx.out(`PostgreSQL database ${shown} is up to date (schema version ${from})\n`);
  else ctx.out(`PostgreSQL database ${shown}: applied migration(s) ${applied.join(', ')}; now at schema version ${version}\n`);
  return EXIT.ok;
}

/** `tenderbridge db status` on PostgreSQL. */
export async function postgresStatusCommand(ctx: CliContext, database: PostgresDatabaseConfig): Promise<number> {
  const shown = redactDatabaseUrl(database.url);
  const pool = poolFor(ctx, database);
  const { server, version, writer } = await onServer(database, async () => ({
    server: (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? 'unknown',
    version: await postgresSchemaVersion(pool),
    writer: await postgresWrittenBy(pool),
  }));
  return printStatus(ctx, { kind: 'postgres', database: shown, server: `PostgreSQL ${server}`, schemaVersion: version, latest: POSTGRES_LATEST_VERSION, writtenBy: writer });
}

/** What `db status` reports, for either kind. */
export interface DbStatus {
  kind: 'sqlite' | 'postgres';
  database: string;
  server: string | null;
  schemaVersion: number;
  latest: number;
  writtenBy: string | null;
}

/** Prints a status; exit 0 when the database is at this build's version, 1 (with what to do) otherwise. */
export function printStatus(ctx: CliContext, status: DbStatus): number {
  const upToDate = status.schemaVersion === status.latest;
  const advice =
    status.schemaVersion < status.latest
      ? `this build needs ${status.latest}: run \`tenderbridge db migrate\``
      : status.schemaVersion > status.latest
        ? `newer than this build (${status.latest}): install tenderbridge ${status.writtenBy ?? 'of the version that wrote it'} or later`
        : 'up to date';
  if (ctx.json) ctx.out(renderJson({ ...status, upToDate }));
  else {
    ctx.out(`database: ${status.database}${status.server === null ? '' : ` (${status.server})`}\n`);
    ctx.out(`schema version: ${status.schemaVersion}${status.writtenBy ? ` (migrated by tenderbridge ${status.writtenBy})` : ''}; ${advice}\n`);
  }
  return upToDate ? EXIT.ok : EXIT.failure;
}
