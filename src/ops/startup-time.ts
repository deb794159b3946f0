import { existsSync, statSync } from 'node:fs';
import { LATEST_VERSION, openDatabase, schemaVersion } from '../shared/db/open.js';

/**
 * The slowest rate at which start-up reads the database (integrity check, the backup taken
 * before migrating, index builds): well under what this project's benchmark measured (about
 * 200 MB/s on a shared 2-core VM, 13 s for a year of a million payments), so that a store
 * box's SD card or a busy disk still fits.
 */
const SLOWEST_BYTES_PER_MS = 20_000; // 20 MB/s

/**
 * Time start-up may need for the database at `path`, in ms: nothing for a small file (the
 * unit's `TimeoutStartSec=` is enough) or when nothing reads all of it before serving, else a
 * read of the file for the integrity check (`checking`: its last run did not close it cleanly)
 * and, when migrations are pending, a copy and an index build. 0 for a file not there yet.
 * @example startupAllowanceMs('/var/lib/tenderbridge/tenderbridge.db', { migrating: false, checking: true })
 */
export function startupAllowanceMs(path: string, o: { migrating: boolean; checking: boolean }): number {
  let bytes = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      bytes += statSync(file).size;
    } catch {
      // not there: nothing to read
    }
  }
  const passes = (o.checking ? 1 : 0) + (o.migrating ? 2 : 0);
  if (bytes < 200 * 1024 * 1024 || passes === 0) return 0;
  return 60_000 + Math.ceil((passes * bytes) / SLOWEST_BYTES_PER_MS);
}

/** Whether the database at `path` exists and is older than this build (start-up will migrate it). */
export function pendingMigrations(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = openDatabase(path, { readonly: true });
  try {
    return schemaVersion(db) < LATEST_VERSION;
  } finally {
    db.close();
  }
}
