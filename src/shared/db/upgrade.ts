import { dirname, join } from 'node:path';
import { preMigrationName, preMigrationPattern, rotateBackups, snapshotDatabase, type BackupFile } from './backup.js';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';
import { assertNotNewer, DatabaseError, migrate, schemaVersion, type Db } from './open.js';

export interface UpgradeOptions {
  /** This build's version, recorded with each migration and named in refusals. */
  appVersion: string;
  /** Backups taken before a migration that are kept beside the database (older ones are deleted); 0 takes none. */
  keepBackups: number;
  now?: () => number;
  /** The migrations to apply (tests); default: this build's. */
  migrations?: readonly Migration[];
}

export interface UpgradeResult {
  /** Schema version before. */
  from: number;
  /** Versions applied (empty: it was up to date). */
  applied: number[];
  /** The backup taken before migrating, if any was needed. */
  backup: BackupFile | null;
  /** Older pre-migration backups deleted by the rotation. */
  removed: string[];
}

/**
 * Brings the database to this build's schema: refuses one newer than this build (naming both
 * versions), and before migrating a database that holds data takes a consistent copy of it
 * beside the file (`tenderbridge.db.pre-migration-<time>-schema<N>.db`, the newest
 * `keepBackups` kept), so an upgrade can always be undone with `tenderbridge db restore`.
 * No backup, no migration: a failed copy (a full disk) stops here with the database untouched.
 * A new, empty database (schema 0) and an in-memory one need no copy.
 * @example upgradeDatabase(db, { appVersion: '0.3.0', keepBackups: 3 })
 */
export function upgradeDatabase(db: Db, options: UpgradeOptions): UpgradeResult {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = options.migrations ? migrations.reduce((max, m) => Math.max(max, m.version), 0) : LATEST_VERSION;
  const now = options.now ?? Date.now;
  assertNotNewer(db, latest, options.appVersion);
  const from = schemaVersion(db);
  let backup: BackupFile | null = null;
  let removed: string[] = [];
  if (from > 0 && from < latest && !db.memory && options.keepBackups > 0) {
    const dir = dirname(db.name);
    try {
      backup = snapshotDatabase(db, join(dir, preMigrationName(db.name, from, now())));
    } catch (error) {
      throw new DatabaseError(`not migrating ${db.name} from schema version ${from} to ${latest}: the backup taken first failed (${(error as Error).message}); free space beside the database and start again`, { cause: error });
    }
    removed = rotateBackups(dir, preMigrationPattern(db.name), options.keepBackups);
  }
  const applied = migrate(db, migrations, { appVersion: options.appVersion, now });
  return { from, applied, backup, removed };
}
