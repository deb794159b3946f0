/**
 * Entry of the checkpointer's thread (see checkpointer.ts): its own connection to the daemon's
 * SQLite file, copying the WAL's committed pages into the file when asked, so that neither the
 * copy nor its two fsyncs run on the daemon's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointAnswer, CheckpointRequest } from './checkpointer.js';

const port = parentPort;
if (port === null) throw new Error('checkpoint-worker runs as a worker thread');
const { path } = workerData as { path: string };
const db = new Database(path, { fileMustExist: true });
// A checkpoint syncs the WAL before copying it and the file after, whatever this connection's
// mode but OFF; FULL says so. PASSIVE never waits for a lock, so no busy timeout is needed.
db.pragma('synchronous = FULL');

port.on('message', (request: CheckpointRequest) => {
  if (request.op === 'close') {
    db.close();
    port.close();
    return;
  }
  const t0 = performance.now();
  let answer: CheckpointAnswer;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    answer = { ok: true, busy: row?.busy === 1, log: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0, ms: performance.now() - t0 };
  } catch (error) {
    answer = { ok: false, message: (error as Error).message, code: (error as { code?: string }).code ?? null };
  }
  port.postMessage(answer);
});
