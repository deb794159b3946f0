import type { Logger } from '../shared/logger.js';
import type { OutboxItem, OutboxRepository } from './repository.js';

export interface DelivererOptions {
  outbox: OutboxRepository;
  /** Delivers one item: 'done', 'retry' (transient), or throws (permanent failure → dead letter). */
  deliver: (item: OutboxItem) => Promise<'done' | 'retry'>;
  logger: Logger;
  clock: () => number;
  /** Attempts before an item becomes a dead letter. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Items per round. */
  batchSize?: number;
}

/** Exponential backoff with ±20 % jitter so that many owed items do not retry in lockstep. */
export function backoffMs(attempts: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const raw = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/**
 * Delivers owed items from the outbox until none is due. Survives restarts because the
 * outbox is in the database; `kick()` asks for a round soon after a commit that owes
 * something, instead of waiting for the schedule.
 */
export function createDeliverer(options: DelivererOptions) {
  const { outbox, logger } = options;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = false;

  const deliverOne = async (item: OutboxItem): Promise<void> => {
    const attempt = item.attempts + 1;
    try {
      const result = await options.deliver(item);
      if (result === 'done') {
        outbox.markDone(item.id, options.clock());
        logger.info('owed delivery done', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt });
        return;
      }
      if (attempt >= options.maxAttempts) {
        outbox.markDead(item.id, 'gave up after retries', options.clock());
        logger.error('owed delivery gave up: dead letter', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt });
        return;
      }
      outbox.markRetry(item.id, options.clock() + backoffMs(attempt, options.baseDelayMs, options.maxDelayMs), 'transient failure', options.clock());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outbox.markDead(item.id, message, options.clock());
      logger.error('owed delivery failed permanently: dead letter', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt, error: message });
    }
  };

  const round = async (): Promise<number> => {
    let delivered = 0;
    do {
      again = false;
      for (;;) {
        if (stopped) return delivered;
        const due = outbox.due(options.clock(), options.batchSize ?? 20);
        if (due.length === 0) break;
        await Promise.all(due.map(deliverOne));
        delivered += due.length;
      }
    } while (again);
    return delivered;
  };

  const run = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = round().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    /** One round: delivers everything due now. Never overlaps itself. */
    run,
    /** Asks for a round soon (coalesced). */
    kick(): void {
      if (stopped) return;
      setImmediate(() => void run());
    },
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
  };
}

export type Deliverer = ReturnType<typeof createDeliverer>;
