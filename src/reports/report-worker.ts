/**
 * Entry of the report thread (see report-thread.ts): its own connection to the daemon's SQLite
 * file, on which the end-of-day report's queries run, so that a day of many payments (or a cold
 * page cache) never holds the daemon's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { endOfDayReport } from './end-of-day.js';
import type { ReportAnswer, ReportRequest } from './report-thread.js';

const port = parentPort;
if (port === null) throw new Error('report-worker runs as a worker thread');
const { path } = workerData as { path: string };
const db = new Database(path, { fileMustExist: true });
// Reads only: its snapshot (a read transaction in WAL mode) never waits for, nor holds up, a writer.
db.pragma('query_only = ON');
db.pragma('busy_timeout = 5000');

port.on('message', (request: ReportRequest) => {
  if (request.op === 'close') {
    db.close();
    port.close();
    return;
  }
  let answer: ReportAnswer;
  try {
    answer = { id: request.id, ok: true, report: endOfDayReport(db, request.period) };
  } catch (error) {
    answer = { id: request.id, ok: false, message: (error as Error).message, code: (error as { code?: string }).code ?? null };
  }
  port.postMessage(answer);
});
