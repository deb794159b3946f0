import { statSync } from 'node:fs';
import type { Check } from '../../ops/readiness.js';
import { startTask, ThreadStartError, type ThreadTask } from '../thread-task.js';
import { workerEntry } from '../worker-entry.js';
import { integrityProblems, type Db } from './open.js';

/** What to do when the file is damaged: restore (see README, "Backup and restore"). */
export const RESTORE_HINT = 'restore the latest backup (see README, "Backup and restore")';

/**
 * Whether the database at `path` has a WAL holding frames: its last connection did not close
 * (the daemon was killed, or the machine lost power), and SQLite recovers those frames when it
 * opens the file. A clean close checkpoints the WAL and deletes it; a WAL emptied by a
 * checkpoint (0 bytes) holds nothing to recover either.
 * @example walHasFrames('/var/lib/tenderbridge/tenderbridge.db') // false after `systemctl stop`
 */
export function walHasFrames(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** Where the check of a file opened without one stands. */
export type IntegrityState =
  | { state: 'checking'; since: number }
  | { state: 'ok'; ms: number }
  | { state: 'damaged'; problems: string[] }
  | { state: 'unchecked'; reason: string };

export interface IntegrityCheckOptions {
  clock: () => number;
  /** Told once the check ends: no problem found, or the problems (the file is damaged). */
  onResult: (problems: string[], ms: number) => void;
  /** Told when the check could not run at all (a thread that failed): the file stays unchecked until the next start. */
  onError: (error: Error) => void;
  /** Told when no thread could be started: the check then runs on the daemon's connection, once, right away. */
  onFallback: (error: Error) => void;
  /** The thread's entry module (tests); default integrity-worker. */
  entry?: URL;
}

/**
 * SQLite's quick_check of the daemon's file on a thread of its own, started as the daemon opens
 * a file whose last run closed it cleanly: the check reads every page (6 minutes for 27.7 GB
 * on the benchmark VM, 6-9 s for a year of a million payments), which before serving kept the
 * store from taking a payment meanwhile. `check()` is readiness's view of it: damage found takes
 * the daemon out of readiness, naming the restore. A file whose WAL held frames (an unclean stop)
 * is still checked before serving (see sqlite-backend.ts).
 * @example const integrity = checkWhileServing(db, { clock: Date.now, onResult, onError, onFallback });
 */
export function checkWhileServing(db: Db, options: IntegrityCheckOptions) {
  const started = options.clock();
  let state: IntegrityState = { state: 'checking', since: started };
  let task: ThreadTask<string[]> | null = null;
  const finish = (problems: string[]): void => {
    const ms = options.clock() - started;
    state = problems.length === 0 ? { state: 'ok', ms } : { state: 'damaged', problems };
    options.onResult(problems, ms);
  };
  try {
    task = startTask<string[]>(options.entry ?? workerEntry(import.meta.url, 'integrity-worker'), { path: db.name }, 'integrity check');
    const running = task;
    running.done.then(finish, (error: Error) => {
      if (task !== running) return; // ended by close()
      state = { state: 'unchecked', reason: error.message };
      options.onError(error);
    });
  } catch (error) {
    if (!(error instanceof ThreadStartError)) throw error;
    options.onFallback(error);
    // After the start-up's own work, as it would have run before serving.
    setImmediate(() => {
      if (db.open) finish(integrityProblems(db));
    });
  }
  return {
    state: (): IntegrityState => state,
    /** Readiness's check: ok while checking and once checked; not ok once damage is found. */
    check(): Check {
      switch (state.state) {
        case 'checking':
          return { ok: true, detail: `integrity check running since ${new Date(state.since).toISOString()}` };
        case 'ok':
          return { ok: true, detail: `integrity checked while serving in ${(state.ms / 1000).toFixed(1)} s` };
        case 'unchecked':
          return { ok: true, detail: `integrity not checked since this start: ${state.reason}` };
        case 'damaged':
          return { ok: false, detail: `the database failed its integrity check (${state.problems.slice(0, 3).join('; ')}): ${RESTORE_HINT}` };
      }
    },
    /** Ends a check still running (the daemon stops): the next start checks again. */
    async close(): Promise<void> {
      const running = task;
      task = null;
      if (running !== null && state.state === 'checking') await running.terminate();
    },
  };
}

export type IntegrityCheck = ReturnType<typeof checkWhileServing>;
