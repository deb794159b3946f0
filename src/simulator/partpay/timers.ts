/**
 * The simulator's timers in one set, so `close()` can stop all of them. Timers are unref'd:
 * a forgotten simulator must never keep a test run or the daemon alive.
 */
export function createTimerSet() {
  const handles = new Set<NodeJS.Timeout>();
  let closed = false;

  /** Runs `fn` once after `ms`, unless the set is cleared first; returns the handle. */
  function after(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (closed) return null;
    const handle = setTimeout(() => {
      handles.delete(handle);
      fn();
    }, ms);
    handle.unref();
    handles.add(handle);
    return handle;
  }

  function cancel(handle: NodeJS.Timeout | null | undefined): void {
    if (!handle) return;
    clearTimeout(handle);
    handles.delete(handle);
  }

  /** Stops every pending timer and refuses new ones. */
  function closeAll(): void {
    closed = true;
    for (const h of handles) clearTimeout(h);
    handles.clear();
  }

  return { after, cancel, closeAll, get size() { return handles.size; } };
}

export type TimerSet = ReturnType<typeof createTimerSet>;
