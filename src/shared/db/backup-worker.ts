/**
 * Entry of a backup thread (see backup-thread.ts): one online copy of the daemon's SQLite file,
 * checked, synced and renamed into place, with connections of its own, so that copying and
 * checking a file of gigabytes never holds the daemon's event loop.
 */
import { serveTask } from '../thread-task.js';
import { backupDatabaseFile, type CopyCheck } from './backup.js';

await serveTask(({ source, target, check }: { source: string; target: string; check: CopyCheck }) => backupDatabaseFile(source, target, check));
