import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { matchOwner } from './backup.js';
import { DatabaseError } from './open.js';

/** Another process holds the database: a running daemon, or a `db restore` in progress. */
export class DatabaseInUseError extends DatabaseError {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseInUseError';
  }
}

/** The lock file beside the database: `tenderbridge.db.lock`. */
export const lockPathFor = (dbPath: string): string => `${dbPath}.lock`;

const isBusy = (error: unknown): boolean => typeof error === 'object' && error !== null && 'code' in error && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED');

/**
 * Takes the exclusive lock that says "this process owns the database": the daemon holds it for
 * its whole life, `db restore` while it replaces the file. It is an exclusive SQLite lock
 * (`locking_mode=EXCLUSIVE`) on a small file beside the database, i.e. a POSIX record lock that
 * the kernel drops when the process ends however it ends: a crash or SIGKILL leaves no stale
 * lock, and no PID file can point at a recycled process. Two daemons on one database are
 * refused too.
 * @throws DatabaseInUseError when another process (or connection) holds it.
 * @example const lock = acquireDatabaseLock('/var/lib/tenderbridge/tenderbridge.db', 'tenderbridge daemon'); … lock.release();
 */
export function acquireDatabaseLock(dbPath: string, holder: string): { release(): void } {
  const path = lockPathFor(dbPath);
  mkdirSync(dirname(path), { recursive: true });
  const created = !existsSync(path);
  let lock: Database.Database;
  try {
    lock = new Database(path, { timeout: 0 });
  } catch (error) {
    throw new DatabaseError(`cannot open the lock file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    if (created) matchOwner(path, dirname(dbPath));
    // In memory: no -journal file beside the lock; it only ever holds one row.
    lock.pragma('journal_mode = MEMORY');
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and EXCLUSIVE locking mode keeps it until close.
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, what TEXT NOT NULL, since INTEGER NOT NULL)');
    lock.transaction(() => {
      lock.exec('DELETE FROM holder');
      lock.prepare('INSERT INTO holder (pid, what, since) VALUES (?, ?, ?)').run(process.pid, holder, Date.now());
    })();
  } catch (error) {
    lock.close();
    if (isBusy(error)) throw new DatabaseInUseError(`${dbPath} is in use by another process (a running tenderbridge daemon, or a \`tenderbridge db restore\`): it holds ${path}`);
    throw new DatabaseError(`cannot lock ${path}: ${(error as Error).message}`, { cause: error });
  }
  return {
    release(): void {
      if (lock.open) lock.close();
    },
  };
}

/**
 * True while a process holds {@link acquireDatabaseLock}'s lock on this database. Opens the
 * lock file read-only and never creates it (a CLI run as root leaves nothing root-owned behind).
 */
export function isDatabaseLocked(dbPath: string): boolean {
  const path = lockPathFor(dbPath);
  if (!existsSync(path)) return false;
  let probe: Database.Database;
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true, timeout: 0 });
  } catch (error) {
    throw new DatabaseError(`cannot open the lock file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    probe.prepare('SELECT count(*) FROM sqlite_schema').get();
    return false;
  } catch (error) {
    if (isBusy(error)) return true;
    throw new DatabaseError(`cannot read the lock file ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    probe.close();
  }
}
