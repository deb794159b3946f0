import { parentPort, Worker, workerData } from 'node:worker_threads';

/** What a task's thread answers: its value, or why there is none. */
export type TaskAnswer<T> = { ok: true; value: T } | { ok: false; message: string; code: string | null };

/** No thread could be made for the task (the caller may do the work itself). */
export class ThreadStartError extends Error {}

/** A task running on a thread of its own: its answer, and a way to end it early. */
export interface ThreadTask<T> {
  done: Promise<T>;
  /** Ends the thread; `done` rejects if it had not answered. */
  terminate(): Promise<void>;
}

/**
 * One piece of work on a thread of its own (a worker that runs {@link serveTask}): `data` is
 * its input; `done` resolves with its value, or rejects with its error (message and code), with
 * the thread's own failure, or, thrown at once, {@link ThreadStartError} when no thread could be made.
 * @example const { done } = startTask<string[]>(workerEntry(import.meta.url, 'integrity-worker'), { path }, 'integrity check');
 */
export function startTask<T>(entry: URL, data: unknown, what: string): ThreadTask<T> {
  let thread: Worker;
  try {
    thread = new Worker(entry, { workerData: data });
  } catch (error) {
    throw new ThreadStartError(`the ${what} thread could not start: ${(error as Error).message}`, { cause: error });
  }
  const done = new Promise<T>((resolve, reject) => {
    let answered = false;
    thread.once('message', (answer: TaskAnswer<T>) => {
      answered = true;
      if (answer.ok) resolve(answer.value);
      else reject(Object.assign(new Error(answer.message), answer.code ? { code: answer.code } : {}));
    });
    thread.once('error', (error) => {
      answered = true;
      reject(new Error(`the ${what} thread failed: ${error.message}`, { cause: error }));
    });
    thread.once('exit', (code) => {
      if (!answered) reject(new Error(`the ${what} thread stopped (exit code ${code}) before it answered`));
    });
  });
  return {
    done,
    async terminate() {
      await thread.terminate();
    },
  };
}

/**
 * The worker's side of {@link startTask}: runs `work` on the thread's input and posts its
 * value or its error back, once.
 */
export async function serveTask<T>(work: (data: never) => T | Promise<T>): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('serveTask runs in a worker thread');
  let answer: TaskAnswer<T>;
  try {
    answer = { ok: true, value: await work(workerData as never) };
  } catch (error) {
    answer = { ok: false, message: (error as Error).message, code: (error as { code?: string }).code ?? null };
  }
  port.postMessage(answer);
  port.close();
}
