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

/** An error message as a kind: its first line, ids and numbers blanked, at most 80 characters. */
export function errorKind(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>').replace(/\d+/g, 'N').slice(0, 80);
}

/** What an open-loop run produced: each finished flow with the time it was due to start. */
export interface OpenLoopRun<T> {
  results: Array<{ scheduledAt: number; value: T }>;
  offered: number;
  errors: number;
  firstError: string | null;
  /** Errors by kind (the message with ids and numbers blanked), so a reset is told from a timeout. */
  errorKinds: Record<string, number>;
  /** How late this process started each flow after its scheduled time (the load generator's own delay). */
  startLateMs: number[];
}

/**
 * Starts flows at a fixed arrival rate for `durationMs`, whatever the daemon's answers do:
 * flow i is due at start + i / rate, and callers count latency from that due time. A daemon
 * that stalls therefore shows its stall in every flow that arrived meanwhile, instead of
 * slowing the arrivals down (coordinated omission, which a closed loop suffers from).
 */
export async function openLoop<T>(ratePerSec: number, durationMs: number, flow: (seq: number) => Promise<T>): Promise<OpenLoopRun<T>> {
  const intervalMs = 1000 / ratePerSec;
  const offered = Math.max(1, Math.floor((durationMs * ratePerSec) / 1000));
  const start = monoMs();
  const results: OpenLoopRun<T>['results'] = [];
  const startLateMs: number[] = [];
  const running: Array<Promise<void>> = [];
  let errors = 0;
  let firstError: string | null = null;
  const errorKinds: Record<string, number> = {};
  for (let seq = 0; seq < offered; seq++) {
    const scheduledAt = start + seq * intervalMs;
    // Timers may fire a fraction of a millisecond early: never start a flow before it is due.
    for (let wait = scheduledAt - monoMs(); wait > 0; wait = scheduledAt - monoMs()) await sleep(Math.ceil(wait));
    startLateMs.push(monoMs() - scheduledAt);
    running.push(
      flow(seq).then(
        (value) => {
          results.push({ scheduledAt, value });
        },
        (error: unknown) => {
          errors += 1;
          const message = error instanceof Error ? error.message : String(error);
          firstError ??= message;
          const kind = errorKind(message);
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(running);
  return { results, offered, errors, firstError, errorKinds, startLateMs };
}
