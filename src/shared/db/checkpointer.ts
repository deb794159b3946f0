import { Worker } from 'node:worker_threads';
import { workerEntry } from '../worker-entry.js';
import type { Db } from './open.js';

export type CheckpointRequest = { op: 'checkpoint' } | { op: 'close' };
export type CheckpointAnswer = { ok: true; busy: boolean; log: number; checkpointed: number; ms: number } | { ok: false; message: string; code: string | null };
export type Checkpoint = Extract<CheckpointAnswer, { ok: true }>;

/**
 * WAL pages at which the daemon's own connection still checkpoints in its COMMIT, as SQLite does
 * at 1,000 by default: a backstop should the thread fall behind (see {@link startCheckpointer}).
 */
export const BACKSTOP_PAGES = 4_000;
/** A WAL this long at a checkpoint (about 1 MB) means writes outpace the timer: the next one follows at once. */
const AGAIN_AT_PAGES = 256;
/** SQLite's own threshold, back in force if the thread stops. */
const SQLITE_DEFAULT_PAGES = 1_000;

export interface CheckpointerOptions {
  /** How often to look for commits to copy, in ms (default 100). */
  intervalMs?: number;
  /** Told of a checkpoint that failed, or of the thread stopping (the connection checkpoints by itself from then on). */
  onError?: (error: Error) => void;
  /** Told of each checkpoint made (tests). */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  /** The worker's script (tests); default checkpoint-worker. */
  entry?: URL;
}

/**
 * Copies the WAL into the database file on a thread of its own. SQLite checkpoints inside the
 * COMMIT that takes the WAL past 1,000 pages: a copy of 4 MB and two fsyncs (WAL, then file) on
 * the event loop, the slowest COMMITs the daemon makes (measured: 5-50 ms each, about 2 % of all
 * of them under load). Here a second connection, in a worker thread, runs a PASSIVE checkpoint
 * (it never waits for a lock, nor holds up a writer) every `intervalMs` after the daemon has
 * written, again at once while writes outpace that (a WAL of over {@link AGAIN_AT_PAGES} pages at
 * a checkpoint), and until it has caught up. A purge waits for it between batches (`caughtUp`). The daemon's connection keeps SQLite's automatic
 * checkpoint as a backstop at {@link BACKSTOP_PAGES}: the WAL starts over only when a write
 * begins with all of it copied, which a daemon writing without pause gives the thread little
 * chance of, so the backstop's checkpoint, left with little to copy, restarts it. A thread that
 * stops gives the connection back SQLite's own threshold. The thread starts with the first
 * commit to copy.
 * @example const checkpointer = startCheckpointer(db, { onError: (e) => logger.warn(e.message) }); ... await checkpointer.close();
 */
export function startCheckpointer(db: Db, options: CheckpointerOptions = {}) {
  const intervalMs = options.intervalMs ?? 100;
  const changes = db.prepare('SELECT total_changes()').pluck();
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  let worker: Worker | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  let inFlight = false;
  // Changes made on the connection when the last checkpoint was asked for, and whether it left pages behind.
  let askedAt = changes.get() as number;
  let behind = false;
  let made = 0;
  // Those waiting for the WAL to be copied up to the changes they saw (see caughtUp).
  let waiting: Array<{ mark: number; resolve: () => void }> = [];
  const release = (upTo: number): void => {
    const still = waiting.filter((w) => w.mark > upTo);
    for (const w of waiting) if (w.mark <= upTo) w.resolve();
    waiting = still;
  };

  const stop = (why: Error | null): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    release(Infinity);
    if (why === null) return;
    if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    options.onError?.(why);
  };
  // The thread starts with the first commit it has to copy (as the QR workers do on first use): an idle daemon has none.
  const start = (): Worker => {
    const thread = new Worker(options.entry ?? workerEntry(import.meta.url, 'checkpoint-worker'), { workerData: { path: db.name } });
    thread.unref();
    exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.on('message', (answer: CheckpointAnswer) => {
      inFlight = false;
      const covered = askedAt;
      if (!answer.ok) {
        behind = true;
        options.onError?.(new Error(`checkpointing the WAL failed (${answer.code ?? 'no code'}): ${answer.message}`));
        return;
      }
      made += 1;
      behind = answer.busy || answer.checkpointed < answer.log;
      if (!behind) release(covered);
      options.onCheckpoint?.(answer);
      // Left pages behind, or found the WAL long (writes faster than the timer's pace, as a purge's):
      // again at once if anything was written meanwhile, so the backstop is left little to copy.
      // Behind with nothing new (a reader holds old pages): the timer.
      if (behind || answer.log >= AGAIN_AT_PAGES || waiting.length > 0) ask(false);
    });
    thread.on('error', (error) => stop(new Error(`the checkpointer's thread failed: ${error.message}`, { cause: error })));
    thread.on('exit', (code) => stop(new Error(`the checkpointer's thread stopped (exit code ${code}); the daemon's connection checkpoints by itself`)));
    return thread;
  };

  /** Asks for a checkpoint when there are new writes, or (on the timer) when the last one fell behind. */
  function ask(retryBehind: boolean): void {
    if (inFlight || stopped || !db.open) return;
    const now = changes.get() as number;
    if (now === askedAt && !(retryBehind && behind)) return;
    askedAt = now;
    inFlight = true;
    (worker ??= start()).postMessage({ op: 'checkpoint' } satisfies CheckpointRequest);
  }
  const timer = setInterval(() => ask(true), intervalMs);
  timer.unref();

  return {
    /**
     * Resolves once the thread has copied everything written so far into the file (at most after
     * `maxWaitMs`, default 1 s; at once when stopped). A purge pauses on it between batches: it
     * writes faster than the disk takes a checkpoint, and unpaced it would leave the backstop a
     * long copy inside one of its COMMITs.
     */
    caughtUp(maxWaitMs = 1_000): Promise<void> {
      if (stopped || !db.open) return Promise.resolve();
      const mark = changes.get() as number;
      // Nothing written since a checkpoint that copied everything.
      if (!inFlight && !behind && mark <= askedAt) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timeout = setTimeout(() => {
          waiting = waiting.filter((w) => w !== entry);
          resolve();
        }, maxWaitMs);
        const entry = {
          mark,
          resolve: () => {
            clearTimeout(timeout);
            resolve();
          },
        };
        waiting.push(entry);
        ask(false);
      });
    },
    /** Checkpoints the thread has made. */
    get made(): number {
      return made;
    },
    /** Stops the thread and closes its connection (before the daemon's own closes). */
    async close(): Promise<void> {
      if (!stopped) {
        stop(null);
        const thread = worker;
        if (thread === null) return;
        // Referenced again until it has closed: a daemon stopping must not exit before its last log line meanwhile.
        thread.ref();
        thread.postMessage({ op: 'close' } satisfies CheckpointRequest);
        const kill = setTimeout(() => void thread.terminate(), 2_000);
        kill.unref();
        await exited;
        clearTimeout(kill);
      }
      await exited;
    },
  };
}

export type Checkpointer = ReturnType<typeof startCheckpointer>;
