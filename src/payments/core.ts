import type { OutboxItem } from '../outbox/repository.js';
import type { Store } from '../storage/port.js';
import { UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { createApplier } from './apply.js';
import { createCancels } from './cancels.js';
import type { PaymentEvents } from './events.js';
import { createOwed, OWED_CANCEL, OWED_REFUND } from './owed.js';
import type { DeliveryResult, Providers } from './provider.js';
import { createReconciler } from './reconcile.js';
import { createRefunds } from './refunds.js';
import type { LateApprovalPolicy } from './state-machine.js';
import type { Payment } from './types.js';

export interface PaymentsCoreDeps {
  /** The storage port (the daemon's over its group commit; the CLI's commits each transaction at once). */
  store: Store;
  events: PaymentEvents;
  providers: Providers;
  logger: Logger;
  clock: () => number;
  newId: () => string;
  lateApproval: LateApprovalPolicy;
  /** Called after commit when deliveries became owed. */
  onOutbox: () => void;
  /** Called after commit when a payment first reaches a final state (metrics). */
  onFinal?: (payment: Payment, by: string) => void;
}

/**
 * The payments core: the state machine's applier and each money operation (cancel, refund,
 * reconcile, expiry, owed deliveries), written once over the provider port. The daemon and
 * the CLI build it the same way; only the providers and the commit differ.
 * @example
 * const core = createPaymentsCore({ store, events, providers, logger, clock: Date.now, newId: randomUUID, lateApproval: 'refund', onOutbox });
 * await core.refunds.request(paymentId, { reason: null, actor: 'terminal:T1', now: true });
 */
export function createPaymentsCore(deps: PaymentsCoreDeps) {
  const { store, providers, clock, newId } = deps;
  const payments = store.repos.payments;
  const owed = createOwed({ providers, clock, newId });
  const applier = createApplier({
    store,
    owed,
    events: deps.events,
    logger: deps.logger,
    clock,
    lateApproval: deps.lateApproval,
    onOutbox: deps.onOutbox,
    ...(deps.onFinal ? { onFinal: deps.onFinal } : {}),
  });
  const reconciler = createReconciler({ store, applier, providers, logger: deps.logger, clock });
  const refunds = createRefunds({ store, owed, applier, providers, logger: deps.logger, clock, onOutbox: deps.onOutbox });
  const cancels = createCancels({ store, applier, owed, providers, reconciler, clock, newId });

  /**
   * Delivers one owed item to the payment's provider. A failure worth retrying comes back as
   * 'retry'; anything else thrown is permanent (a dead letter for an operator).
   */
  async function deliver(item: OutboxItem): Promise<DeliveryResult> {
    const p = item.paymentId ? await payments.get(item.paymentId) : null;
    if (!p) throw new Error(`outbox item ${item.id} refers to unknown payment ${item.paymentId}`);
    try {
      if (item.kind === OWED_CANCEL) return await cancels.deliver(item, p);
      if (item.kind === OWED_REFUND) return await refunds.deliver(item, p);
      const own = providers.of(p).deliverOwn;
      if (own) return await own(item, p);
    } catch (error) {
      if (error instanceof UpstreamError && error.retryable) return 'retry';
      throw error;
    }
    throw new Error(`unknown outbox kind ${item.kind}`);
  }

  return {
    owed,
    applier,
    reconciler,
    refunds,
    cancels,
    deliver,
    /**
     * At start-up: refunds whose at-once attempt was made by a process that is gone are due now.
     * Their rows waited out the attempt's time bound only so as not to race it; a dead process's
     * call cannot race anything, and the provider answers a repeat of the same key with the same refund.
     */
    resume(): Promise<number> {
      return store.repos.outbox.untriedDueNow(OWED_REFUND, clock());
    },
  };
}

export type PaymentsCore = ReturnType<typeof createPaymentsCore>;
