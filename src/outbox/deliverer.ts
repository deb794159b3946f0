import { isStorageFailure } from '../shared/db/open.js';
import type { Logger } from '../shared/logger.js';
import type { Port } from '../storage/port.js';
import type { OutboxItem, OutboxRepository } from './repository.js';

/**
 * What one delivery concluded: done, try again (counts an attempt; `{ retry: reason }` records
 * why, for the console), or not before a time (waiting on something, not failing).
 */
export type DeliveryOutcome = 'done' | 'retry' | { retry: string } | { waitUntilMs: number };

export interface DelivererOptions {
  outbox: Pick<Port<OutboxRepository>, 'claimDue' | 'markDone' | 'postpone' | 'markDead' | 'markRetry'>;
  /** Delivers one item; throws for a permanent failure (→ dead letter). */
  deliver: (item: OutboxItem) => Promise<DeliveryOutcome>;
  logger: Logger;
  clock: () => number;
  /** Attempts before an item becomes a dead letter. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Items per round. */
  batchSize?: number;
  /** How long a claimed delivery is held against other daemons (default {@link DEFAULT_LEASE_MS}). */
  leaseMs?: number;
}

/** Exponential backoff with ±20 % jitter so that many owed items do not retry in lockstep. */
/**
 * How long a claimed delivery is this daemon's alone (PostgreSQL, several daemons): longer than
 * any one attempt may take (a partner's 60 s and PartPay's bounded retries), so a live daemon's
 * attempt is never doubled; a dead daemon's claims are taken over once it runs out.
 */
export const DEFAULT_LEASE_MS = 5 * 60_000;

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

  /** Records what one delivery concluded; false when our own storage failed (the round stops, the item stays owed). */
  const conclude = async (item: OutboxItem, attempt: number, result: DeliveryOutcome): Promise<void> => {
    if (result === 'done') {
      await outbox.markDone(item.id, options.clock());
      logger.info('owed delivery done', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt });
    } else if (typeof result === 'object' && 'waitUntilMs' in result) {
      await outbox.postpone(item.id, result.waitUntilMs, options.clock());
    } else if (attempt >= options.maxAttempts) {
      const reason = result === 'retry' ? '' : `: ${result.retry}`;
      await outbox.markDead(item.id, `gave up after retries${reason}`, options.clock());
      logger.error('owed delivery gave up: dead letter', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt });
    } else {
      const reason = result === 'retry' ? 'transient failure' : result.retry;
      await outbox.markRetry(item.id, options.clock() + backoffMs(attempt, options.baseDelayMs, options.maxDelayMs), reason, options.clock());
    }
  };

  const deliverOne = async (item: OutboxItem): Promise<boolean> => {
    const attempt = item.attempts + 1;
    try {
      let result: DeliveryOutcome;
      try {
        result = await options.deliver(item);
      } catch (error) {
        // Our own database failing (a full disk) is not the delivery failing: it stays owed as it was.
        if (isStorageFailure(error)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        await outbox.markDead(item.id, message, options.clock());
        logger.error('owed delivery failed permanently: dead letter', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, attempt, error: message });
        return true;
      }
      await conclude(item, attempt, result);
      return true;
    } catch (error) {
      if (!isStorageFailure(error)) throw error;
      logger.error('owed delivery interrupted: the database cannot be written; it stays owed', { outboxId: item.id, kind: item.kind, paymentId: item.paymentId, code: (error as { code?: string }).code });
      return false;
    }
  };

  /**
   * The items due now, claimed; null when our own database cannot take the claim (on
   * PostgreSQL a claim is a write: a full disk or a server gone away). They stay owed as they
   * were, and the next round tries again: a round never fails for that (a kick's round has no
   * one to tell).
   */
  const batchSize = options.batchSize ?? 20;
  const claim = async (): Promise<OutboxItem[] | null> => {
    try {
      return await outbox.claimDue(options.clock(), batchSize, options.leaseMs ?? DEFAULT_LEASE_MS);
    } catch (error) {
      if (!isStorageFailure(error)) throw error;
      logger.error('owed deliveries not claimed: the database cannot be written; they stay owed', { code: (error as { code?: string }).code });
      return null;
    }
  };

  const round = async (): Promise<number> => {
    let delivered = 0;
    do {
      again = false;
      for (;;) {
        if (stopped) return delivered;
        const due = await claim();
        if (due === null) return delivered;
        if (due.length === 0) break;
        const stored = await Promise.all(due.map(deliverOne));
        delivered += due.length;
        // Nothing could be recorded (a full disk): the same items would come round at once; the next scheduled round tries again.
        if (stored.includes(false)) return delivered;
        // A short batch was everything due at the claim: no second claim to find nothing. What
        // was owed since came with a kick, which sets `again`.
        if (due.length < batchSize) break;
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
