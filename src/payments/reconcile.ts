import type { Logger } from '../shared/logger.js';
import type { Applier } from './apply.js';
import type { Providers, StatusAnswer } from './provider.js';
import type { Store } from '../storage/port.js';
import { isOpen } from './state-machine.js';
import type { Payment } from './types.js';

export interface ReconcileDeps {
  store: Pick<Store, 'repos'>;
  applier: Applier;
  providers: Providers;
  logger: Logger;
  clock: () => number;
}

/**
 * Bringing our view in line with the provider's when its notice alone is not enough: asking
 * where a payment stands (lost callbacks), and settling open payments past their deadline.
 * Written once over the provider port.
 */
export function createReconciler(deps: ReconcileDeps) {
  const { applier } = deps;
  const payments = deps.store.repos.payments;

  /**
   * Asks the payment's provider where it stands and applies the answer; returns the payment
   * afterwards (unchanged when the provider cannot be asked).
   * @throws UpstreamError when the provider cannot be reached.
   */
  async function reconcile(p: Payment, why: string): Promise<Payment> {
    const answer = await deps.providers.of(p).status(p);
    return answer === null ? p : applyStatus(p, answer, why);
  }

  /** Applies what the provider said of a payment (a status inquiry's answer). */
  async function applyStatus(p: Payment, answer: StatusAnswer, why: string): Promise<Payment> {
    const provider = deps.providers.of(p);
    await payments.markChecked(p.id, deps.clock(), answer.status);
    if (answer.outcome === null) {
      await payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'reconcile', actor: provider.name, detail: { call: 'status', status: answer.status, note: 'unknown status ignored', why } });
      return (await payments.get(p.id)) as Payment;
    }
    if (answer.outcome === 'pending') return (await payments.get(p.id)) as Payment;
    return (await applier.apply(
      p.id,
      { type: 'provider_status', outcome: answer.outcome, orderId: answer.orderId, orderNumber: answer.orderNumber, source: 'reconcile' },
      { actor: provider.name, kind: 'reconcile', detail: { call: 'status', status: answer.status, why }, resolvedBy: 'reconcile' },
    )).after;
  }

  return {
    reconcile,
    applyStatus,

    /** Open payments past their deadline: the provider is asked once more, then they expire (or fail with an unknown outcome). */
    async expireDue(limit = 100): Promise<number> {
      let settled = 0;
      for (const p of await payments.expiredOpen(deps.clock(), limit)) {
        const onDeadline = await deps.providers.of(p).onDeadline(p);
        if (onDeadline === 'leave') continue;
        let current = p;
        try {
          current = await reconcile(p, 'expiry');
        } catch (error) {
          deps.logger.warn('status check before expiry failed; expiring anyway', { paymentId: p.id, terminalId: p.terminalId, error: (error as Error).message });
        }
        if (!isOpen(current.state)) continue;
        if (onDeadline === 'outcome_unknown') {
          await applier.apply(p.id, { type: 'outcome_unknown', message: 'no final answer before the deadline (the daemon restarted while it waited)' }, { actor: 'system:expire', kind: 'decision', detail: { expiresAt: p.expiresAt }, resolvedBy: 'expiry', upstream: { reason: 'TIMEOUT' } });
        } else {
          await applier.apply(p.id, { type: 'expire' }, { actor: 'system:expire', kind: 'decision', detail: { expiresAt: p.expiresAt }, resolvedBy: 'expiry' });
        }
        settled += 1;
      }
      return settled;
    },

    /** Payments whose notice is overdue: ask their provider (callbacks get lost behind store firewalls). */
    async reconcileOverdue(overdueMs: number, limit = 100): Promise<number> {
      const now = deps.clock();
      let resolved = 0;
      for (const p of await payments.overdueOpen(now - overdueMs, now - overdueMs, limit)) {
        try {
          const after = await reconcile(p, 'callback overdue');
          if (!isOpen(after.state)) resolved += 1;
          else await payments.markChecked(p.id, deps.clock(), null);
        } catch (error) {
          await payments.markChecked(p.id, deps.clock(), null);
          deps.logger.warn('reconcile failed', { paymentId: p.id, terminalId: p.terminalId, error: (error as Error).message });
        }
      }
      return resolved;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
