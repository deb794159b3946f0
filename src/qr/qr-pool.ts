import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UpstreamError } from '../shared/errors.js';
import { workerEntry } from '../shared/worker-entry.js';
import type { QrTask, QrTaskAnswer, QrTaskInput, QrTaskResult } from './qr-tasks.js';

export interface QrPoolOptions {
  /** Worker threads at most; default 1 on a box of 2 cores or fewer, else 2. */
  size?: number | undefined;
  /** The worker's script; default qr-worker (tests pass one that misbehaves). */
  entry?: URL | undefined;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (answer: QrTaskAnswer) => void; reject: (error: Error) => void }>;
}

/**
 * A small, bounded pool of worker threads that decode PartPay's QR images and render display
 * profiles (sharp, layout, PNG deflate), so the daemon's event loop only posts a message and
 * takes the answer. Workers start on first use (or `prestart()`) and never keep the process alive; a task goes
 * to the worker with the fewest in flight. A worker that dies fails its tasks with a clear
 * error and is replaced by the next task; `close()` terminates them all.
 * @example
 * const pool = createQrPool();
 * const answer = await pool.run({ op: 'render', image, profile });
 * await pool.close();
 */
export function createQrPool(options: QrPoolOptions = {}) {
  const size = Math.max(1, options.size ?? (availableParallelism() <= 2 ? 1 : 2));
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;
  let entry: URL | null = options.entry ?? null;

  function start(): Slot {
    entry ??= workerEntry(import.meta.url, 'qr-worker');
    const worker = new Worker(entry);
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (answer: QrTaskAnswer) => {
      const p = slot.pending.get(answer.id);
      slot.pending.delete(answer.id);
      p?.resolve(answer);
    });
    const fail = (error: Error) => {
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
    };
    worker.on('error', (error) => fail(new Error(`QR worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => fail(new Error(closed ? 'QR worker pool is closed' : `QR worker stopped (exit code ${code})`)));
    slots.push(slot);
    return slot;
  }

  function pick(): Slot {
    let best: Slot | undefined;
    for (const s of slots) if (best === undefined || s.pending.size < best.pending.size) best = s;
    if (best !== undefined && (best.pending.size === 0 || slots.length >= size)) return best;
    return start();
  }

  return {
    /**
     * Runs one task on a worker. Resolves with the worker's answer; a failure the worker
     * reports comes back as an UpstreamError (with its code) or an Error with its message.
     */
    run<T extends QrTaskInput>(task: T): Promise<QrTaskResult<T['op']>> {
      if (closed) return Promise.reject(new Error('QR worker pool is closed'));
      const slot = pick();
      const id = nextId++;
      return new Promise<QrTaskAnswer>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        // Copied, not transferred: the pixels of a render stay in the caller's cache for the next profile.
        slot.worker.postMessage({ ...task, id } as QrTask);
      }).then((answer) => {
        if (answer.error === undefined) return answer as QrTaskResult<T['op']>;
        const { code, message, retryable, upstreamStatus, cause } = answer.error;
        if (code !== undefined) {
          throw new UpstreamError(code, message, { retryable: retryable ?? false, upstreamStatus, ...(cause === undefined ? {} : { cause: new Error(cause) }) });
        }
        throw new Error(`QR worker: ${message}`);
      });
    },
    /**
     * Starts the first worker now if none runs, so the first payment does not wait for it
     * (loading sharp and compiling the WebAssembly take most of a second on a small box).
     */
    prestart(): void {
      if (!closed && slots.length === 0) start();
    },
    /** Worker threads running now. */
    get workers(): number {
      return slots.length;
    },
    /** Terminates every worker; tasks in flight fail, later ones are refused. */
    async close(): Promise<void> {
      closed = true;
      await Promise.all([...slots].map((s) => s.worker.terminate()));
    },
  };
}

export type QrPool = ReturnType<typeof createQrPool>;
