import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { backupDatabaseFile, rotateBackups, scheduledBackupName, SCHEDULED_BACKUP_PATTERN, type BackupFile } from '../shared/db/backup.js';

export interface ScheduledBackup extends BackupFile {
  /** Older scheduled backups deleted to keep `keep`. */
  removed: string[];
}

/**
 * One round of the backup job: an online copy of the live database (`database`, the file the
 * daemon has open) into `dir` as `tenderbridge-<UTC time>.db`, quick-checked, then the oldest
 * scheduled backups beyond `keep` deleted. Only files with that exact name pattern are ever
 * deleted, so the folder may hold other things. The copy is read through a connection of its
 * own and sees committed payments only.
 * @example await writeScheduledBackup('/var/lib/tenderbridge/tenderbridge.db', { dir: 'backups', keep: 7 }, Date.now())
 */
export async function writeScheduledBackup(database: string, settings: { dir: string; keep: number }, now: number): Promise<ScheduledBackup> {
  // Backups hold every payment: owner-only, like the state directory.
  mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
  // Quick check: the full one reads every index twice over, on the daemon's thread.
  const backup = await backupDatabaseFile(database, join(settings.dir, scheduledBackupName(now)), 'quick');
  const removed = rotateBackups(settings.dir, SCHEDULED_BACKUP_PATTERN, settings.keep);
  return { ...backup, removed };
}
