import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { backupDatabaseFile, backupStamp, checkProblems, matchOwner } from '../../shared/db/backup.js';
import { acquireDatabaseLock, DatabaseInUseError } from '../../shared/db/daemon-lock.js';
import { assertNotNewer, integrityProblems, LATEST_VERSION, openDatabase, schemaVersion, writtenBy } from '../../shared/db/open.js';
import { upgradeDatabase } from '../../shared/db/upgrade.js';
import { action, type CliContext } from '../context.js';
import { migratePostgresCommand, postgresStatusCommand, printStatus } from './db-postgres.js';
import { CliError, EXIT, type CliIo } from '../io.js';
import { renderJson } from '../output.js';

const POSTGRES_BACKUPS = 'db backup and db restore copy the SQLite file; database.kind is postgres: back it up and restore it with PostgreSQL\'s tools (pg_dump/pg_restore, or base backups with WAL archiving)';

/** `tenderbridge db migrate|status|backup|restore`. */
export function registerDbCommands(program: Command, io: CliIo): void {
  const db = program.command('db').description('database maintenance: migrate, status, back up, restore');

  db.command('migrate')
    .description('create the database if needed and apply pending migrations, backing it up first (the daemon also does this at start)')
    .addHelpText(
      'after',
      '\nSQLite: before migrating a database that holds data, a copy is kept beside it\n(tenderbridge.db.pre-migration-<time>-schema<N>.db; the newest backups.keepBeforeMigration are kept).\nPostgreSQL (database.kind "postgres"): all pending migrations in one transaction, under an\nadvisory lock; no copy is taken (use pg_dump or your PITR backups).\n\nExamples:\n  $ tenderbridge db migrate --config /etc/tenderbridge/config.json\n  $ TENDERBRIDGE_DATABASE_URL=postgres://tenderbridge:...@db.internal/tenderbridge tenderbridge db migrate --config central.json',
    )
    .action(
      action(io, (ctx) => {
        const database = ctx.config().database;
        if (database.kind === 'postgres') return migratePostgresCommand(ctx, database);
        const path = ctx.dbPath();
        const handle = openDatabase(path);
        ctx.defer(() => {
          handle.close();
        });
        const problems = integrityProblems(handle);
        if (problems.length > 0) throw new CliError(`database ${path} failed its integrity check (${problems.slice(0, 3).join('; ')}): restore the latest backup`);
        const result = upgradeDatabase(handle, { appVersion: io.build?.version ?? 'unknown', keepBackups: ctx.config().backups.keepBeforeMigration, now: ctx.clock });
        const { from, applied, backup } = result;
        if (ctx.json) ctx.out(renderJson({ database: path, from, applied, version: schemaVersion(handle), backup: backup?.file ?? null }));
        else if (applied.length === 0) ctx.out(`database ${path} is up to date (schema version ${from})\n`);
        else ctx.out(`database ${path}: ${backup ? `backed up to ${backup.file}, then ` : ''}applied migration(s) ${applied.join(', ')}; now at schema version ${schemaVersion(handle)}\n`);
        return EXIT.ok;
      }),
    );

  db.command('status')
    .description("the database's schema version against this build's; exit 1 when it needs `db migrate` (or is newer)")
    .addHelpText('after', '\nReads only; works for SQLite and PostgreSQL.\n\nExamples:\n  $ tenderbridge db status\n  $ tenderbridge db status --json --config /etc/tenderbridge/config.json')
    .action(
      action(io, (ctx) => {
        const database = ctx.config().database;
        if (database.kind === 'postgres') return postgresStatusCommand(ctx, database);
        const path = ctx.dbPath();
        if (path !== ':memory:' && !existsSync(path)) throw new CliError(`database ${path} does not exist: start the daemon once, or run \`tenderbridge db migrate\` to create it`);
        const handle = openDatabase(path, { readonly: path !== ':memory:' });
        ctx.defer(() => {
          handle.close();
        });
        return printStatus(ctx, { kind: 'sqlite', database: path, server: null, schemaVersion: schemaVersion(handle), latest: LATEST_VERSION, writtenBy: writtenBy(handle) });
      }),
    );

  db.command('backup')
    .description('online backup of the live database to FILE, then an integrity check of the copy')
    .argument('<file>', 'where to write the copy (refused if it exists, unless --force)')
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nSafe while the daemon runs. The copy is a single self-contained file (no -wal).\nThe daemon also takes one every night (jobs.backup, into backups.dir).\n\nExamples:\n  $ tenderbridge db backup /var/backups/tenderbridge-$(date +%F).db\n  $ tenderbridge db backup /mnt/usb/tenderbridge.db --force')
    .action(
      action(io, async (ctx, file: string, opts: { force?: boolean }) => {
        if (ctx.config().database.kind === 'postgres') throw new CliError(POSTGRES_BACKUPS);
        const target = resolve(ctx.io.cwd, file);
        if (existsSync(target) && !opts.force) throw new CliError(`${target} exists: choose another name or add --force to overwrite it`);
        // Opened first for its checks: the database exists and this build understands it.
        const source = ctx.openDb({ readonly: true });
        if (resolve(source.name) === target) throw new CliError('the backup cannot overwrite the live database');
        const backup = await backupDatabaseFile(source.name, target, 'full');
        const { bytes, schemaVersion: version } = backup;
        if (ctx.json) ctx.out(renderJson({ file: target, bytes, schemaVersion: version, integrity: 'ok' }));
        else ctx.out(`backup written to ${target} (${(bytes / 1024).toFixed(1)} KiB, schema version ${version}${version === LATEST_VERSION ? '' : `, this build is at ${LATEST_VERSION}`}), integrity check ok\n`);
        return EXIT.ok;
      }),
    );

  db.command('restore')
    .description('put a backup back in place of the database (the daemon must be stopped); the replaced file is kept')
    .argument('<file>', 'a backup: from `db backup`, the nightly backup job, or a pre-migration copy')
    .addHelpText(
      'after',
      '\nThe backup is integrity-checked before anything changes, and refused if it is not a\ntenderbridge database or is newer than this build. Refused while the daemon runs (it holds\n<database>.lock). The database it replaces is renamed to <database>.replaced-<time>, never\ndeleted. An older backup is migrated by the daemon at its next start (taking a copy first).\n\nExamples:\n  $ sudo systemctl stop tenderbridge\n  $ sudo -u tenderbridge tenderbridge db restore /var/lib/tenderbridge/backups/tenderbridge-20261120T024500.000Z.db\n  $ sudo systemctl start tenderbridge',
    )
    .action(
      action(io, (ctx, file: string) => {
        if (ctx.config().database.kind === 'postgres') throw new CliError(POSTGRES_BACKUPS);
        return restore(ctx, resolve(ctx.io.cwd, file));
      }),
    );
}

/** What a backup holds, read before it replaces anything. */
function inspectBackup(file: string, appVersion: string): { schemaVersion: number; payments: number; latest: number | null; writtenBy: string | null } {
  if (!existsSync(file)) throw new CliError(`${file} does not exist`);
  let copy: Database.Database;
  try {
    copy = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new CliError(`${file} cannot be opened as a database: ${(error as Error).message}`);
  }
  try {
    let problems: string[];
    try {
      problems = checkProblems(copy, 'full');
    } catch (error) {
      throw new CliError(`${file} is not a readable SQLite database (${(error as Error).message}): nothing was changed`);
    }
    if (problems.length > 0) throw new CliError(`${file} failed its integrity check (${problems.slice(0, 3).join('; ')}): nothing was changed; try an older backup`);
    const version = schemaVersion(copy);
    const hasPayments = copy.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'payments'").get() !== undefined;
    if (version < 1 || !hasPayments) throw new CliError(`${file} is not a tenderbridge database (no payments table, schema version ${version}): nothing was changed`);
    assertNotNewer(copy, LATEST_VERSION, appVersion);
    const row = copy.prepare('SELECT count(*) AS n, max(created_at) AS latest FROM payments').get() as { n: number; latest: number | null };
    return { schemaVersion: version, payments: row.n, latest: row.latest, writtenBy: writtenBy(copy) };
  } finally {
    copy.close();
  }
}

/**
 * Renames the database (and any -wal/-shm a crash left) aside, after folding the WAL into the
 * main file when it can, so the kept file is whole on its own.
 */
function setAside(target: string, aside: string): void {
  try {
    const current = new Database(target, { fileMustExist: true, timeout: 0 });
    current.pragma('wal_checkpoint(TRUNCATE)');
    current.close();
  } catch {
    // a damaged database cannot be checkpointed: its -wal and -shm go aside with it below
  }
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    if (existsSync(`${target}${suffix}`)) renameSync(`${target}${suffix}`, `${aside}${suffix}`);
  }
}

async function restore(ctx: CliContext, file: string): Promise<number> {
  const target = ctx.dbPath();
  if (target === ':memory:') throw new CliError('database.path is ":memory:": there is nothing to restore into');
  if (file === target) throw new CliError(`${file} is the live database itself`);
  const appVersion = ctx.io.build?.version ?? 'unknown';
  const backup = inspectBackup(file, appVersion);

  let lock: { release(): void };
  try {
    lock = acquireDatabaseLock(target, 'tenderbridge db restore');
  } catch (error) {
    if (error instanceof DatabaseInUseError) throw new CliError(`the daemon is running on ${target} (or another restore is): stop it first (sudo systemctl stop tenderbridge), then run this again. Nothing was changed`);
    throw error;
  }
  ctx.defer(() => lock.release());

  // Copied beside the database first (and checked again, as written), so the swap below is two renames.
  const staged = `${target}.restoring-${process.pid}`;
  const aside = existsSync(target) ? `${target}.replaced-${backupStamp(ctx.clock())}` : null;
  const mode = aside ? statSync(target).mode & 0o777 : 0o600;
  try {
    await backupDatabaseFile(file, staged, 'quick');
    chmodSync(staged, mode);
    matchOwner(staged, existsSync(target) ? target : dirname(target));
    if (aside) setAside(target, aside);
    renameSync(staged, target);
  } finally {
    rmSync(staged, { force: true });
  }
  const when = backup.latest === null ? 'no payments' : `${backup.payments} payment(s), the latest from ${new Date(backup.latest).toISOString()}`;
  if (ctx.json) {
    ctx.out(renderJson({ restored: file, database: target, schemaVersion: backup.schemaVersion, writtenBy: backup.writtenBy, payments: backup.payments, latestPaymentAt: backup.latest, replacedKeptAs: aside, integrity: 'ok' }));
  } else {
    ctx.out(`restored ${file} (schema version ${backup.schemaVersion}, ${when}; integrity check ok) into ${target}\n`);
    ctx.out(aside ? `the database it replaced is kept as ${aside}\n` : 'there was no database to replace\n');
    ctx.out(`start the daemon: sudo systemctl start tenderbridge${backup.schemaVersion < LATEST_VERSION ? ` (it migrates the restored database to schema version ${LATEST_VERSION}, taking a copy first)` : ''}\n`);
  }
  return EXIT.ok;
}
