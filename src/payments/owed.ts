import type { Repos } from '../storage/port.js';
import type { OwedCancel, OwedRefund, Providers } from './provider.js';
import type { Payment, Refund } from './types.js';

/** Outbox kinds the core owes, whatever the provider (providers may own further kinds). */
export const OWED_CANCEL = 'upstream.cancel';
export const OWED_REFUND = 'upstream.refund';

export interface OwedDeps {
  providers: Providers;
  clock: () => number;
  newId: () => string;
}

export interface RefundToRecord {
  amountMinor: number;
  reason: string | null;
  /** Journaled as who asked: `terminal:T1`, `operator:alice`, `pos:pos-1`, `system:late-approval`. */
  requestedBy: string;
  /** The provider's idempotency key (default: the refund's id); an Electrum reversal's advice id. */
  key?: string;
  /** When the outbox row is due (default now); later when an attempt is made at once. */
  notBefore?: number;
  /** The provider's claim was already made by the caller (an Electrum advice carries the refund itself). */
  claimed?: boolean;
  /** Owe no `upstream.refund` row: the caller owes the delivery that carries this refund. */
  deliveredByCaller?: boolean;
}

/**
 * What the core owes upstream, written inside the transaction (`r`) of the decision that owes
 * it: a cancel (void) of what the provider holds, or a refund. The outbox delivers both to the
 * payment's own provider with the same key on every attempt, so nothing is done twice.
 */
export function createOwed(deps: OwedDeps) {
  return {
    /** Makes a payment's owed deliveries due now: what they waited for (an answer upstream) has come. */
    async dueNow(r: Repos, paymentId: string): Promise<void> {
      const now = deps.clock();
      for (const o of await r.outbox.ofPayment(paymentId)) if (o.state === 'pending' && o.nextAttemptAt > now) await r.outbox.postpone(o.id, now, now);
    },

    /** Owes the upstream cancel of a payment, once: a cancel already owed is kept (its key with it). */
    async cancel(r: Repos, p: Payment, owed: Partial<OwedCancel> = {}): Promise<void> {
      // The payment's row first: of two daemons owing its cancel at once, the second sees the first's.
      await r.payments.getForUpdate(p.id);
      if ((await r.outbox.ofPayment(p.id)).some((o) => o.kind === OWED_CANCEL && o.state !== 'done')) return;
      const key = owed.key ?? deps.newId();
      await r.outbox.enqueue(OWED_CANCEL, p.id, { key, ...(owed.reason ? { reason: owed.reason } : {}) }, deps.clock());
    },

    /**
     * Records a pending refund, journals it, lets the provider claim (or refuse) it, and owes
     * its delivery. Must run inside a transaction; the caller checked the amount against
     * {@link refundableMinor}.
     */
    async refund(r: Repos, p: Payment, input: RefundToRecord): Promise<{ refund: Refund; owed: OwedRefund; outboxId: number | null }> {
      const at = deps.clock();
      const id = deps.newId();
      await r.payments.insertRefund({ id, paymentId: p.id, amountMinor: input.amountMinor, reason: input.reason, requestedBy: input.requestedBy, at });
      const refund = (await r.payments.getRefund(id)) as Refund;
      const owed: OwedRefund = { key: input.key ?? id, reason: input.reason };
      if (!input.claimed) await deps.providers.of(p).claimRefund(r, p, refund, owed);
      await r.payments.journal({ paymentId: p.id, at, kind: 'refund_requested', actor: input.requestedBy, detail: { refundId: id, amountMinor: input.amountMinor, reason: input.reason, key: owed.key } });
      const outboxId = input.deliveredByCaller ? null : await r.outbox.enqueue(OWED_REFUND, p.id, { refundId: id, key: owed.key, ...(input.reason ? { reason: input.reason } : {}) }, at, input.notBefore ?? at);
      return { refund, owed, outboxId };
    },
  };
}

export type Owed = ReturnType<typeof createOwed>;

/** The key and reason an outbox row carries (rows written before keys were stored get the defaults). */
export function owedOf(item: { payload: Record<string, unknown> }, defaultKey: string): { key: string; reason: string | null } {
  const key = item.payload['key'];
  const reason = item.payload['reason'];
  return { key: typeof key === 'string' && key ? key : defaultKey, reason: typeof reason === 'string' ? reason : null };
}
