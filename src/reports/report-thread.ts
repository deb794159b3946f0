import { Worker } from 'node:worker_threads';
import type { Db } from '../shared/db/open.js';
import { workerEntry } from '../shared/worker-entry.js';
import { endOfDayReport, type EndOfDayReport } from './end-of-day.js';

/** What the report thread is asked. */
export type ReportRequest = { op: 'report'; id: number; period: { from: number; to: number } } | { op: 'close' };
/** What it answers: the report, or why its queries failed. */
export type ReportAnswer = { id: number; ok: true; report: EndOfDayReport } | { id: number; ok: false; message: string; code: string | null };

export interface ReportThreadOptions {
  /** The thread ends after this long without a report (default 30 s); the next one starts it again. */
  idleMs?: number;
  /** The thread's entry module (tests); default report-worker. */
  entry?: URL;
  /** Told when the thread cannot run: reports run on the daemon's own connection from then on. */
  onError?: (error: Error) => void;
}

/**
 * The end-of-day report on a thread of its own with its own connection to the file: the
 * report's queries read a whole day of payments (tens of milliseconds on a busy day, more with a
 * cold page cache), which on the daemon's connection would hold every other request. The thread
 * starts with the first report and ends when idle; one that cannot run (or dies) leaves the
 * reports to the daemon's connection, as before the thread, and says so once.
 * @example const reports = startReportThread(db, { onError: (e) => logger.warn(e.message) }); await reports.report({ from, to });
 */
export function startReportThread(db: Db, options: ReportThreadOptions = {}) {
  const idleMs = options.idleMs ?? 30_000;
  let worker: Worker | null = null;
  let exited: Promise<void> = Promise.resolve();
  let failed = false;
  let closing = false;
  let nextId = 1;
  const pending = new Map<number, { period: { from: number; to: number }; resolve: (r: EndOfDayReport) => void; reject: (e: Error) => void }>();
  let idle: NodeJS.Timeout | null = null;
  // Resolved when the last report under way is answered (close waits for it).
  let drained: (() => void) | null = null;

  /** On the daemon's connection: what runs when the thread cannot. */
  const inProcess = (period: { from: number; to: number }): Promise<EndOfDayReport> => {
    try {
      return Promise.resolve(endOfDayReport(db, period));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };

  const fail = (error: Error): void => {
    if (failed) return;
    failed = true;
    worker = null;
    options.onError?.(error);
    // Those the thread did not answer are answered here: a report asked for is never lost.
    for (const [id, p] of pending) {
      pending.delete(id);
      inProcess(p.period).then(p.resolve, p.reject);
    }
  };

  const start = (): Worker => {
    const thread = new Worker(options.entry ?? workerEntry(import.meta.url, 'report-worker'), { workerData: { path: db.name } });
    thread.unref();
    exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.on('message', (answer: ReportAnswer) => {
      const p = pending.get(answer.id);
      if (p === undefined) return;
      pending.delete(answer.id);
      if (answer.ok) p.resolve(answer.report);
      else p.reject(Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {}));
      if (pending.size > 0) return;
      if (closing) drained?.();
      else idle = setTimeout(stopThread, idleMs).unref();
    });
    // Only the thread in use speaks for the reports asked: one ending after an idle close owes none.
    thread.on('error', (error) => {
      if (worker === thread) fail(new Error(`the report thread failed: ${error.message}`, { cause: error }));
    });
    thread.on('exit', (code) => {
      if (worker === thread) fail(new Error(`the report thread stopped (exit code ${code}); reports run on the daemon's connection`));
    });
    return thread;
  };

  /** Ends an idle thread; the next report starts another. */
  function stopThread(): void {
    idle = null;
    const thread = worker;
    if (thread === null || pending.size > 0) return;
    worker = null;
    thread.postMessage({ op: 'close' } satisfies ReportRequest);
    // A thread that does not end by itself (one started through a loader that keeps a handle) is ended.
    setTimeout(() => void thread.terminate(), 2_000).unref();
  }

  return {
    /** The end-of-day figures of `period`, read on the thread. */
    report(period: { from: number; to: number }): Promise<EndOfDayReport> {
      if (failed || closing || !db.open) return inProcess(period);
      if (idle !== null) clearTimeout(idle);
      idle = null;
      const id = nextId++;
      return new Promise<EndOfDayReport>((resolve, reject) => {
        pending.set(id, { period: { from: period.from, to: period.to }, resolve, reject });
        try {
          (worker ??= start()).postMessage({ op: 'report', id, period: { from: period.from, to: period.to } } satisfies ReportRequest);
        } catch (error) {
          // No thread could be made (or reached): this report, and the later ones, are read here.
          fail(new Error(`the report thread could not start: ${(error as Error).message}`, { cause: error }));
        }
      });
    },
    /** Whether a thread is running now (tests, metrics). */
    get running(): boolean {
      return worker !== null;
    },
    /** Ends the thread and closes its connection (before the daemon's own closes); a report under way gets 5 s to finish. */
    async close(): Promise<void> {
      closing = true;
      if (idle !== null) clearTimeout(idle);
      const thread = worker;
      worker = null;
      if (thread !== null) {
        thread.ref();
        if (pending.size > 0) await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, 5_000).unref();
        });
        thread.postMessage({ op: 'close' } satisfies ReportRequest);
        const kill = setTimeout(() => void thread.terminate(), 2_000);
        kill.unref();
        await exited;
        clearTimeout(kill);
      }
      for (const p of pending.values()) p.reject(new Error('the daemon stopped before the report was read'));
      pending.clear();
      await exited;
    },
  };
}

export type ReportThread = ReturnType<typeof startReportThread>;
