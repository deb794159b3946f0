import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { backupsBeyond, scheduledBackupName, SCHEDULED_BACKUP_PATTERN, type BackupFile } from '../shared/db/backup.js';
import { backupOnThread, type BackupThreadOptions } from '../shared/db/backup-thread.js';

export interface ScheduledBackup extends BackupFile {
  /** Older scheduled backups deleted to keep `keep`. */
  removed: string[];
}

/**
 * One round of the backup job: an online copy of the live database (`database`, the file the
 * daemon has open) into `dir` as `tenderbridge-<UTC time>.db`, quick-checked, then the oldest
 * scheduled backups beyond `keep` deleted. Only files with that exact name pattern are ever
 * deleted, so the folder may hold other things. The copy is read through a connection of its
 * own and sees committed payments only, on a thread of its own: the daemon serves meanwhile.
 * @example await writeScheduledBackup('/var/lib/tenderbridge/tenderbridge.db', { dir: 'backups', keep: 7 }, Date.now())
 */
export async function writeScheduledBackup(database: string, settings: { dir: string; keep: number }, now: number, options: BackupThreadOptions = {}): Promise<ScheduledBackup> {
  // Backups hold every payment: owner-only, like the state directory.
  mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
  // Quick check: the full one reads every index twice over.
  const backup = await backupOnThread(database, join(settings.dir, scheduledBackupName(now)), 'quick', options);
  // Deleted off the event loop too: unlinking a file of gigabytes takes the file system a while.
  const removed = backupsBeyond(settings.dir, SCHEDULED_BACKUP_PATTERN, settings.keep);
  for (const path of removed) await rm(path, { force: true });
  return { ...backup, removed };
}
