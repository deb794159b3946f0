import { monoMs } from './stats.js';

/** What a closed-loop run produced: results that finished inside the window, and errors. */
export interface LoopRun<T> {
  /** Results whose flow ended inside the measuring window. */
  results: T[];
  /** Every result, the tail after the window included (for CPU per flow). */
  all: T[];
  windowMs: number;
  /** From start until the last worker finished (the tail included). */
  totalMs: number;
  errors: number;
  firstError: string | null;
}

/**
 * Runs `concurrency` workers, each starting its next flow as soon as the previous one
 * ends (a till serves one customer at a time), for `durationMs`. A flow returns its end
 * time, so throughput counts only flows that finished inside the window.
 */
export async function closedLoop<T extends { end: number }>(concurrency: number, durationMs: number, flow: (worker: number, seq: number) => Promise<T>): Promise<LoopRun<T>> {
  const start = monoMs();
  const deadline = start + durationMs;
  const all: T[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let seq = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (monoMs() < deadline) {
        try {
          all.push(await flow(worker, seq++));
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
          // A broken flow must not spin: back off a little.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }),
  );
  return { results: all.filter((r) => r.end <= deadline), all, windowMs: durationMs, totalMs: monoMs() - start, errors, firstError };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
