import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseError, schemaVersion, type Db } from './open.js';
import { createPrivateFile } from './private-files.js';

/** A finished backup: a single self-contained SQLite file (no -wal beside it). */
export interface BackupFile {
  file: string;
  bytes: number;
  schemaVersion: number;
}

/** How thoroughly a copy is checked: `full` is SQLite's integrity_check, `quick` skips the index cross-checks (about half the time). */
export type CopyCheck = 'full' | 'quick';

/**
 * A timestamp for backup names: UTC, sortable as text, safe in file names.
 * @example backupStamp(Date.UTC(2026, 10, 20, 3, 17)) // '20261120T031700.000Z'
 */
export function backupStamp(at: number): string {
  return new Date(at).toISOString().replace(/[-:]/g, '');
}
const STAMP = '\\d{8}T\\d{6}\\.\\d{3}Z';
const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Names of the backups the daemon takes before migrating, kept beside the database: `tenderbridge.db.pre-migration-<stamp>-schema3.db`. */
export function preMigrationName(dbFile: string, fromVersion: number, at: number): string {
  return `${basename(dbFile)}.pre-migration-${backupStamp(at)}-schema${fromVersion}.db`;
}
/** Matches exactly the names {@link preMigrationName} gives for this database (rotation never touches anything else). */
export function preMigrationPattern(dbFile: string): RegExp {
  return new RegExp(`^${escapeRe(basename(dbFile))}\\.pre-migration-${STAMP}-schema\\d+\\.db$`);
}
/** Names of the scheduled backups: `tenderbridge-<stamp>.db`. */
export const scheduledBackupName = (at: number): string => `tenderbridge-${backupStamp(at)}.db`;
export const SCHEDULED_BACKUP_PATTERN = new RegExp(`^tenderbridge-${STAMP}\\.db$`);

/**
 * Deletes the oldest files of `dir` whose names match `pattern`, keeping the newest `keep`
 * (names sort by their timestamp). Returns the paths removed.
 * @example rotateBackups('/var/lib/tenderbridge/backups', SCHEDULED_BACKUP_PATTERN, 7)
 */
export function rotateBackups(dir: string, pattern: RegExp, keep: number): string[] {
  const doomed = backupsBeyond(dir, pattern, keep);
  for (const path of doomed) rmSync(path, { force: true });
  return doomed;
}

/** The files {@link rotateBackups} deletes: those of `dir` matching `pattern`, but the newest `keep`. */
export function backupsBeyond(dir: string, pattern: RegExp, keep: number): string[] {
  const names = readdirSync(dir).filter((name) => pattern.test(name)).sort();
  return names.slice(0, Math.max(0, names.length - keep)).map((name) => join(dir, name));
}

/** The problems SQLite's check finds in an open database (empty when healthy). */
export function checkProblems(db: Db, check: CopyCheck): string[] {
  const pragma = check === 'full' ? 'integrity_check' : 'quick_check';
  return (db.pragma(pragma) as Array<Record<string, string>>).map((row) => row[pragma] as string).filter((r) => r !== 'ok');
}

function fsyncPath(path: string, flags = 'r'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks the copy at `partial`, turns it into a single self-contained file (rollback journal:
 * a copy of a WAL database says "WAL" in its header), syncs it and renames it to `target`,
 * removing a stale -wal/-shm of an older file of that name first (SQLite would replay it into
 * the new one). Returns the copy's schema version.
 */
function finishCopy(partial: string, target: string, check: CopyCheck): number {
  const copy = new Database(partial);
  let version: number;
  try {
    const problems = checkProblems(copy, check);
    if (problems.length > 0) throw new DatabaseError(`the copy failed its integrity check (${problems.slice(0, 3).join('; ')}); nothing was written to ${target}`);
    version = schemaVersion(copy);
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  // It holds what the database holds: owner-only whatever the umask.
  chmodSync(partial, 0o600);
  fsyncPath(partial, 'r+');
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
  renameSync(partial, target);
  fsyncPath(dirname(target));
  return version;
}

function removePartial(partial: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
}

/** Pages copied per turn of the event loop (4 MB at SQLite's default page size). */
const PAGES_PER_STEP = 1000;
/** A write by another connection restarts the copy; after this many restarts the rest is copied in one step. */
const RESTARTS_BEFORE_ONE_STEP = 3;

/**
 * Online backup of the database file at `source` into `target` with SQLite's backup API
 * (better-sqlite3's `db.backup()`), from a read-only connection of its own: it sees committed
 * data only, whatever transaction the daemon has open. It copies 1,000 pages per turn of the
 * event loop, so the daemon keeps serving; a commit by the daemon meanwhile restarts the copy,
 * and after three restarts the rest is copied in one step (one read transaction, which a
 * writer cannot restart). The copy is checked (`check`), made a single file, synced and renamed
 * into place: a failed backup never leaves a partial file under `target`'s name.
 * @example await backupDatabaseFile('/var/lib/tenderbridge/tenderbridge.db', '/mnt/usb/tb.db', 'full')
 */
export async function backupDatabaseFile(source: string, target: string, check: CopyCheck): Promise<BackupFile> {
  const partial = `${target}.partial-${process.pid}`;
  removePartial(partial);
  const from = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // Owner-only from its first byte (SQLite would create it with the umask).
    createPrivateFile(partial);
    let restarts = 0;
    let lastRemaining = Infinity;
    await from.backup(partial, {
      progress: ({ remainingPages }) => {
        if (remainingPages > lastRemaining) restarts += 1;
        lastRemaining = remainingPages;
        return restarts >= RESTARTS_BEFORE_ONE_STEP ? 0x7fffffff : PAGES_PER_STEP;
      },
    });
    from.close();
    const version = finishCopy(partial, target, check);
    return { file: target, bytes: statSync(target).size, schemaVersion: version };
  } finally {
    if (from.open) from.close();
    removePartial(partial);
  }
}

/**
 * A synchronous, consistent copy of an open database (`VACUUM INTO`), for start-up before a
 * migration, when nothing else writes to it. Checked (quick) and renamed into place like
 * {@link backupDatabaseFile}'s copies.
 */
export function snapshotDatabase(db: Db, target: string): BackupFile {
  const partial = `${target}.partial-${process.pid}`;
  removePartial(partial);
  try {
    createPrivateFile(partial);
    db.prepare('VACUUM INTO ?').run(partial);
    const version = finishCopy(partial, target, 'quick');
    return { file: target, bytes: statSync(target).size, schemaVersion: version };
  } finally {
    removePartial(partial);
  }
}

/**
 * When running as root (a store IT `sudo tenderbridge ...`), gives `path` the owner and group of
 * `like`, so the service user can still open what root wrote in its state directory.
 */
export function matchOwner(path: string, like: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !existsSync(like)) return;
  const { uid, gid } = statSync(like);
  chownSync(path, uid, gid);
}
