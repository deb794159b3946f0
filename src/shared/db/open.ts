import Database from 'better-sqlite3';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';
import { createPrivateFile, databaseFiles, tightenToOwner } from './private-files.js';

export type Db = Database.Database;

/** Refusal to start on a database we cannot trust or do not understand. */
export class DatabaseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/**
 * Opens (creating if needed) the SQLite file with the pragmas durability needs: WAL so
 * readers never block the writer, `synchronous=FULL` so a committed transaction survives
 * power loss (the daemon's group commit then runs its connection at NORMAL and flushes the WAL
 * itself, off the event loop: see `createGroupCommit`), foreign keys on, and a busy timeout for the CLI running beside the daemon.
 * Opened for writing, the file and its WAL and SHM files are readable by their owner only
 * (0600), whoever runs the daemon or the CLI and whatever the umask.
 * @example const db = openDatabase('data/tenderbridge.db'); migrate(db);
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  if (path !== ':memory:' && !options.readonly) {
    createPrivateFile(path);
    tightenToOwner(databaseFiles(path));
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  } catch (error) {
    throw new DatabaseError(`cannot open database ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!options.readonly) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The schema version recorded in the database. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Who is migrating: recorded with each migration, and named when a database is too new. */
export interface MigrateOptions {
  /** This build's version (package.json); "unknown" when not given. */
  appVersion?: string;
  /** Epoch ms for the history rows. */
  now?: () => number;
}

/**
 * Applies every migration newer than the database's version, each in one transaction
 * with its version bump (and, from schema version 4 on, a `schema_history` row naming this
 * build), so a crash leaves the database at a whole version. Refuses a database written by
 * a newer build with {@link assertNotNewer}'s message.
 * @returns the versions applied.
 * @example migrate(db, MIGRATIONS, { appVersion: '0.3.0' }) // [4]
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS, options: MigrateOptions = {}): number[] {
  const current = schemaVersion(db);
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  assertNotNewer(db, latest, options.appVersion);
  const now = options.now ?? Date.now;
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      if (hasTable(db, 'schema_history')) {
        db.prepare('INSERT OR REPLACE INTO schema_history (version, app_version, applied_at) VALUES (?, ?, ?)').run(migration.version, options.appVersion ?? 'unknown', now());
      }
    })();
    applied.push(migration.version);
  }
  return applied;
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The tenderbridge version that brought the database to its schema version, when it recorded one. */
export function writtenBy(db: Db): string | null {
  if (!hasTable(db, 'schema_history')) return null;
  const row = db.prepare('SELECT app_version FROM schema_history ORDER BY version DESC LIMIT 1').get() as { app_version: string } | undefined;
  return row?.app_version ?? null;
}

/**
 * Refuses a database whose schema is newer than this build knows, naming both schema versions
 * and both tenderbridge versions, so store IT knows which build to install (or that a backup
 * taken before the upgrade is the way back).
 * @example assertNotNewer(db, LATEST_VERSION, '0.2.0')
 */
export function assertNotNewer(db: Db, latest: number = LATEST_VERSION, appVersion = 'unknown'): void {
  const current = schemaVersion(db);
  if (current <= latest) return;
  const writer = writtenBy(db);
  throw new DatabaseError(
    `database ${db.name} is at schema version ${current}${writer ? `, written by tenderbridge ${writer}` : ' (written by a newer tenderbridge)'}; ` +
      `this is tenderbridge ${appVersion}, which knows schema versions up to ${latest}. ` +
      `${writer ? `Install tenderbridge ${writer} or later` : 'Install the tenderbridge that wrote it (or a later one)'}, or restore a backup taken before the upgrade (\`tenderbridge db restore FILE\`)`,
  );
}

/**
 * Runs SQLite's integrity check; returns the problems found (empty when healthy). Damage bad
 * enough that the check itself stops on it (SQLITE_CORRUPT, "database disk image is malformed")
 * is a problem found, not an error of the check.
 */
export function integrityProblems(db: Db): string[] {
  try {
    const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
    return rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) return [(error as Error).message];
    throw error;
  }
}

export { LATEST_VERSION };

/**
 * True for an error of our own storage (a full disk, an I/O error, a read-only or corrupt
 * file, the database rolling a transaction back by itself): nothing of the write was kept, and
 * it is no fault of the request or of an upstream party. Constraint violations are not.
 * @example isStorageFailure(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })) // true
 */
export function isStorageFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // PostgreSQL unreachable or out of resources, as marked by the PostgreSQL store.
  if ('storageFailure' in error && error.storageFailure === true) return true;
  return 'code' in error && typeof error.code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|ABORT_ROLLBACK|BUSY|NOMEM)/.test(error.code);
}
