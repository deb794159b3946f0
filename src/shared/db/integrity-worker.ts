/**
 * Entry of the integrity check's thread (see integrity-check.ts): SQLite's quick_check of the
 * daemon's file on a connection of its own, which reads every page of the file, while the
 * daemon serves.
 */
import Database from 'better-sqlite3';
import { serveTask } from '../thread-task.js';
import { integrityProblems } from './open.js';

await serveTask(({ path }: { path: string }) => {
  const db = new Database(path, { fileMustExist: true });
  try {
    // Reads only: its snapshot (a read transaction in WAL mode) never waits for, nor holds up, a writer.
    db.pragma('query_only = ON');
    db.pragma('busy_timeout = 5000');
    return integrityProblems(db);
  } finally {
    db.close();
  }
});
