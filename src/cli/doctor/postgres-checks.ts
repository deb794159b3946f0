import { probePostgresWrite } from '../../ops/readiness-postgres.js';
import { postgresSchemaVersion } from '../../shared/db/postgres/migrate.js';
import { POSTGRES_LATEST_VERSION } from '../../shared/db/postgres/migrations.js';
import type { PgPool } from '../../shared/db/postgres/pool.js';
import type { CheckResult, CheckStatus } from './checks.js';

const line = (name: string, status: CheckStatus, detail: string): CheckResult => ({ name, status, detail });

/**
 * The doctor's database lines for PostgreSQL: it connects (and which server it is), the schema
 * is this build's, commits are durable (`synchronous_commit` on, `fsync` on: a payment answered
 * must survive the server's crash), and it takes writes (a rolled-back write: not a standby).
 * `shown` is the URL without its password.
 * @example await postgresDoctorLines(pool, 'postgres://tb:***@db/tb')
 */
export async function postgresDoctorLines(pool: PgPool, shown: string): Promise<CheckResult[]> {
  let settings: { version: string; synchronous_commit: string; fsync: string; in_recovery: boolean };
  try {
    const { rows } = await pool.query<typeof settings>(
      "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync, pg_is_in_recovery() AS in_recovery",
    );
    settings = rows[0] as typeof settings;
  } catch (error) {
    return [line('database connects', 'fail', `PostgreSQL at ${shown}: ${(error as Error).message}`)];
  }
  const results = [line('database connects', 'ok', `PostgreSQL ${settings.version} at ${shown}${settings.in_recovery ? ' (a standby)' : ''}`)];
  const version = await postgresSchemaVersion(pool);
  results.push(
    version === POSTGRES_LATEST_VERSION
      ? line('database schema', 'ok', `version ${version}`)
      : version < POSTGRES_LATEST_VERSION
        ? line('database schema', version === 0 ? 'fail' : 'warn', `version ${version}, this build has ${POSTGRES_LATEST_VERSION}: run \`tenderbridge db migrate\``)
        : line('database schema', 'fail', `version ${version} is newer than this build (${POSTGRES_LATEST_VERSION})`),
  );
  const durability: string[] = [];
  // tenderbridge asks for "on" when it connects: anything weaker means something overrides it (an options parameter in database.url?).
  if (settings.synchronous_commit === 'off') durability.push('synchronous_commit is off: a payment answered may be lost if the server crashes; remove what overrides the synchronous_commit=on tenderbridge asks for (an options parameter in database.url?)');
  if (settings.synchronous_commit === 'local') durability.push('synchronous_commit is local: a commit does not wait for synchronous standbys, so a failover may lose a payment answered; remove what overrides the synchronous_commit=on tenderbridge asks for');
  if (settings.fsync !== 'on') durability.push('fsync is off on the server: a crash of its machine can lose or corrupt committed payments; set fsync = on in postgresql.conf');
  results.push(durability.length === 0 ? line('database durability', 'ok', `synchronous_commit ${settings.synchronous_commit}, fsync on`) : line('database durability', 'warn', durability.join('; ')));
  if (version > 0) {
    const write = await probePostgresWrite(pool);
    results.push(write.ok ? line('database writable', 'ok', 'a write was taken (and rolled back)') : line('database writable', 'fail', `${write.detail ?? 'the write failed'}${settings.in_recovery ? ': this server is a standby; point database.url at the primary' : ''}`));
  }
  return results;
}
