/**
 * Failures counted per key (a source address, a presented credential) in fixed windows that
 * start at a key's first failure, kept in memory. Synchronous, and empty until something
 * fails, so a request that has not failed costs a size check.
 */
export interface FailureWindows {
  /** Keys with a window open (some possibly expired, until the next sweep). */
  readonly size: number;
  /** Whole seconds until `key` may try again when it has used up its failures; 0 otherwise. */
  waitSeconds(key: string): number;
  /** Counts one failure for `key`, opening a window if none is open. */
  count(key: string): void;
}

/**
 * @param limit failures allowed per window; the limit'th failure makes `waitSeconds` non-zero.
 * @param windowMs length of a window.
 * @example const bySource = createFailureWindows(30, 60_000); if (bySource.waitSeconds(ip) > 0) refuse();
 */
export function createFailureWindows(limit: number, windowMs: number, now: () => number = Date.now): FailureWindows {
  const windows = new Map<string, { failures: number; endsAt: number }>();
  let sweepAt = 0;
  return {
    get size() {
      return windows.size;
    },
    waitSeconds(key) {
      const open = windows.get(key);
      if (open === undefined || open.failures < limit) return 0;
      const left = open.endsAt - now();
      return left > 0 ? Math.max(1, Math.ceil(left / 1000)) : 0;
    },
    count(key) {
      const at = now();
      // Expired windows are dropped at most once per window length, and only when failures come.
      if (at >= sweepAt) {
        for (const [k, w] of windows) if (w.endsAt <= at) windows.delete(k);
        sweepAt = at + windowMs;
      }
      const open = windows.get(key);
      if (open === undefined || open.endsAt <= at) windows.set(key, { failures: 1, endsAt: at + windowMs });
      else open.failures += 1;
    },
  };
}
