import { startTask, ThreadStartError } from '../thread-task.js';
import { workerEntry } from '../worker-entry.js';
import { backupDatabaseFile, type BackupFile, type CopyCheck } from './backup.js';

export interface BackupThreadOptions {
  /** The thread's entry module (tests); default backup-worker. */
  entry?: URL;
  /** Told when no thread could be started: this copy is then made on the calling thread. */
  onFallback?: (error: Error) => void;
}

/**
 * {@link backupDatabaseFile} on a thread of its own. On the daemon's thread the copy held the
 * event loop for all of its 1,000-page steps and the check of the copy for one stretch of
 * seconds (3.8 s for a file of 300,000 payments, 0.8 GB; more the bigger the file), and every
 * payment waited meanwhile. A thread that cannot be started leaves the copy to the calling
 * thread, as before, and says so; one that fails mid-way fails the backup (nothing is written
 * under `target`'s name: the copy is renamed into place only once checked).
 * @example await backupOnThread('/var/lib/tenderbridge/tenderbridge.db', '/var/lib/tenderbridge/backups/tenderbridge-….db', 'quick')
 */
export function backupOnThread(source: string, target: string, check: CopyCheck, options: BackupThreadOptions = {}): Promise<BackupFile> {
  try {
    return startTask<BackupFile>(options.entry ?? workerEntry(import.meta.url, 'backup-worker'), { source, target, check }, 'backup').done;
  } catch (error) {
    if (!(error instanceof ThreadStartError)) throw error;
    options.onFallback?.(error);
    return backupDatabaseFile(source, target, check);
  }
}
