/**
 * In-process rendezvous between a held-open `pay` and the `notifyScan` for the same tranId.
 * The durable state (who scanned, with which token) is in SQLite; this only wakes the
 * waiting request so it need not poll.
 */
export type WaitOutcome = 'scanned' | 'timeout' | 'cancelled';

export function createScanWaiters() {
  const waiting = new Map<string, (outcome: WaitOutcome) => void>();
  return {
    /** Waits for a scan of `tranId` for at most `ms`. One waiter per tranId. */
    wait(tranId: string, ms: number): Promise<WaitOutcome> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => finish('timeout'), ms);
        const finish = (outcome: WaitOutcome) => {
          clearTimeout(timer);
          if (waiting.get(tranId) === finish) waiting.delete(tranId);
          resolve(outcome);
        };
        waiting.set(tranId, finish);
      });
    },
    /** True when a `pay` in this process is waiting for `tranId`. */
    isWaiting(tranId: string): boolean {
      return waiting.has(tranId);
    },
    /**
     * Whether a scan of this code can be taken: a pay is held for it. Here, one daemon holds
     * every pay; daemons sharing a database answer from the database instead (see clusteredWaiters).
     */
    acceptsScan(tranId: string): boolean {
      return waiting.has(tranId);
    },
    /** The codes whose pays this daemon holds. */
    held(): string[] {
      return [...waiting.keys()];
    },
    /** Wakes the waiter of `tranId` (a scan arrived, or the POS reversed). */
    wake(tranId: string, outcome: Exclude<WaitOutcome, 'timeout'>): void {
      waiting.get(tranId)?.(outcome);
    },
    /** Ends every wait (shutdown): the pays answer as if cancelled. */
    cancelAll(): void {
      for (const finish of [...waiting.values()]) finish('cancelled');
    },
    count(): number {
      return waiting.size;
    },
  };
}

export type ScanWaiters = ReturnType<typeof createScanWaiters>;
