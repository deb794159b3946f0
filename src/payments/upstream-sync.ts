import type { OutboxItem, OutboxRepository } from '../outbox/repository.js';
import type { PartPayClient } from '../partpay/client.js';
import type { Registry } from '../registry/registry.js';
import type { Merchant } from '../shared/config/load.js';
import type { Db } from '../shared/db/open.js';
import { UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Applier } from './apply.js';
import type { PaymentRepository } from './repository.js';
import { isOpen, normaliseProviderStatus } from './state-machine.js';
import type { Payment, Refund } from './types.js';

export interface UpstreamSyncDeps {
  db: Db;
  payments: PaymentRepository;
  outbox: OutboxRepository;
  applier: Applier;
  registry: Registry;
  partpay: PartPayClient;
  logger: Logger;
  clock: () => number;
  onOutbox: () => void;
  /** How long an immediate refund call may take before its safety-net outbox row is due. */
  refundSafetyDelayMs?: number;
  /** Expires an open payment of another provider (Electrum), which PartPay cannot be asked about. */
  expireOther?: (payment: Payment) => void;
}

/** What an outbox handler concluded: delivered, or try again later. Non-retryable failures throw. */
export type DeliveryResult = 'done' | 'retry';

/**
 * Everything that brings our view of a payment in line with PartPay's when the callback
 * alone is not enough: asking for status (lost callbacks), expiring orders nobody decided,
 * settling refunds, and delivering owed cancels and refunds from the outbox.
 */
export function createUpstreamSync(deps: UpstreamSyncDeps) {
  const { db, payments, outbox, applier, partpay, logger } = deps;

  const merchantOf = (p: Payment): Merchant => {
    const m = deps.registry.merchant(p.merchantId);
    if (!m) throw new Error(`merchant ${p.merchantId} is no longer configured`);
    return m;
  };

  const sync = {
    /** Marks a refund succeeded and counts it on the payment; resolves a late approval once fully refunded. */
    settleRefund(refund: Refund, upstreamRefundId: string | null): void {
      const settled = db.transaction(() => {
        if (!payments.settleRefund(refund.id, 'succeeded', upstreamRefundId, null, deps.clock())) return false;
        payments.journal({ paymentId: refund.paymentId, at: deps.clock(), kind: 'upstream_response', actor: 'partpay', detail: { call: 'refundOrder', refundId: refund.id, upstreamRefundId } });
        return true;
      })();
      if (!settled) return;
      const { after } = applier.apply(refund.paymentId, { type: 'refund_settled', amountMinor: refund.amountMinor }, { actor: 'partpay', kind: 'refund_settled', detail: { refundId: refund.id, amountMinor: refund.amountMinor } });
      if (after.attention === 'late_approval' && after.refundedMinor === after.amountMinor) {
        applier.apply(after.id, { type: 'attention_resolved' }, { actor: 'system:late-approval', kind: 'resolution', detail: { action: 'refunded', refundId: refund.id } });
      }
    },

    failRefund(refund: Refund, error: unknown): void {
      const message = error instanceof Error ? error.message : String(error);
      db.transaction(() => {
        payments.settleRefund(refund.id, 'failed', null, message, deps.clock());
        payments.journal({ paymentId: refund.paymentId, at: deps.clock(), kind: 'upstream_error', actor: 'partpay', detail: { call: 'refundOrder', refundId: refund.id, message } });
      })();
    },

    /**
     * Owes a refund from the outbox. Called in the same transaction that records the pending
     * refund, before PartPay is called: if the process dies during the call, the refund is
     * still delivered (with the same reference, so never twice). When called for an immediate
     * attempt, the row is due only after that attempt could have finished.
     */
    oweRefund(refund: Pick<Refund, 'id' | 'paymentId'>, immediateAttempt: boolean): void {
      const now = deps.clock();
      outbox.enqueue('partpay.refund', refund.paymentId, { refundId: refund.id }, now, immediateAttempt ? now + (deps.refundSafetyDelayMs ?? 60_000) : now);
    },

    /** Leaves a refund pending after a transient failure; its outbox row retries it with the same reference. */
    queueRefund(refund: Refund, error: unknown): void {
      db.transaction(() => {
        payments.journal({ paymentId: refund.paymentId, at: deps.clock(), kind: 'upstream_error', actor: 'partpay', detail: { call: 'refundOrder', refundId: refund.id, message: error instanceof Error ? error.message : String(error), queued: true } });
        const owed = outbox.ofPayment(refund.paymentId).some((o) => o.kind === 'partpay.refund' && o.state === 'pending' && o.payload['refundId'] === refund.id);
        if (!owed) outbox.enqueue('partpay.refund', refund.paymentId, { refundId: refund.id }, deps.clock());
      })();
      deps.onOutbox();
    },

    /**
     * Asks PartPay for an order's status and applies it. Returns the payment afterwards.
     * A payment without an order id cannot be asked about and is returned unchanged.
     */
    async reconcile(p: Payment, why: string): Promise<Payment> {
      if (!p.upstreamOrderId) return p;
      const status = await partpay.getOrder(merchantOf(p), p.upstreamOrderId);
      payments.markChecked(p.id, deps.clock(), status.status);
      const outcome = normaliseProviderStatus(status.status);
      if (outcome === null) {
        payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'reconcile', actor: 'partpay', detail: { call: 'getOrder', status: status.status, note: 'unknown status ignored', why } });
        return payments.get(p.id) as Payment;
      }
      if (outcome === 'pending') return payments.get(p.id) as Payment;
      return applier.apply(p.id, { type: 'provider_status', outcome, orderId: status.orderId, orderNumber: status.orderNumber, source: 'reconcile' }, { actor: 'partpay', kind: 'reconcile', detail: { call: 'getOrder', status: status.status, why }, resolvedBy: 'reconcile' }).after;
    },

    /** Open payments past their expiry: ask PartPay once more, then expire (the cancel is owed upstream). */
    async expireDue(limit = 100): Promise<number> {
      let expired = 0;
      for (const p of payments.expiredOpen(deps.clock(), limit)) {
        if (p.provider !== 'partpay') {
          deps.expireOther?.(p);
          expired += 1;
          continue;
        }
        let current = p;
        try {
          current = await sync.reconcile(p, 'expiry');
        } catch (error) {
          logger.warn('status check before expiry failed; expiring anyway', { paymentId: p.id, terminalId: p.terminalId, error: (error as Error).message });
        }
        if (isOpen(current.state)) {
          applier.apply(p.id, { type: 'expire' }, { actor: 'system:expire', kind: 'decision', detail: { expiresAt: p.expiresAt }, resolvedBy: 'expiry' });
          expired += 1;
        }
      }
      return expired;
    },

    /** Payments whose callback is overdue: ask PartPay (callbacks get lost behind store firewalls). */
    async reconcileOverdue(overdueMs: number, limit = 100): Promise<number> {
      const now = deps.clock();
      let resolved = 0;
      for (const p of payments.overdueOpen(now - overdueMs, now - overdueMs, limit)) {
        try {
          const after = await sync.reconcile(p, 'callback overdue');
          if (!isOpen(after.state)) resolved += 1;
        } catch (error) {
          payments.markChecked(p.id, deps.clock(), null);
          logger.warn('reconcile failed', { paymentId: p.id, terminalId: p.terminalId, error: (error as Error).message });
        }
      }
      return resolved;
    },

    /** Delivers one owed item. Throws for a failure that will not get better by retrying. */
    async deliver(item: OutboxItem): Promise<DeliveryResult> {
      const p = item.paymentId ? payments.get(item.paymentId) : null;
      if (!p) throw new Error(`outbox item ${item.id} refers to unknown payment ${item.paymentId}`);
      try {
        if (item.kind === 'partpay.cancel') return await deliverCancel(p, String(item.payload['orderId']));
        if (item.kind === 'partpay.refund') return await deliverRefund(p, String(item.payload['refundId']));
      } catch (error) {
        if (error instanceof UpstreamError && error.retryable) return 'retry';
        throw error;
      }
      throw new Error(`unknown outbox kind ${item.kind}`);
    },
  };

  async function deliverCancel(p: Payment, orderId: string): Promise<DeliveryResult> {
    try {
      const status = await partpay.cancelOrder(merchantOf(p), orderId, `cancel-${p.id}`);
      payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'upstream_response', actor: 'partpay', detail: { call: 'cancelOrder', status: status.status, via: 'outbox' } });
      if (p.attention === 'late_approval' && normaliseProviderStatus(status.status) === 'cancelled') {
        applier.apply(p.id, { type: 'attention_resolved' }, { actor: 'system:late-approval', kind: 'resolution', detail: { action: 'cancelled upstream' } });
      }
      return 'done';
    } catch (error) {
      if (error instanceof UpstreamError && !error.retryable) {
        // The order is already final upstream; learn which, so an approval is not missed.
        await sync.reconcile(p, 'cancel refused');
        return 'done';
      }
      throw error;
    }
  }

  async function deliverRefund(p: Payment, refundId: string): Promise<DeliveryResult> {
    const refund = payments.getRefund(refundId);
    if (!refund || refund.state !== 'pending') return 'done';
    if (!p.upstreamOrderId) throw new Error(`cannot refund payment ${p.id}: no PartPay order id`);
    try {
      const result = await partpay.refundOrder(merchantOf(p), p.upstreamOrderId, { amountMinor: refund.amountMinor, currency: p.currency, reference: refund.id });
      sync.settleRefund(refund, result.refundId);
      return 'done';
    } catch (error) {
      if (error instanceof UpstreamError && !error.retryable) sync.failRefund(refund, error);
      throw error;
    }
  }

  return sync;
}

export type UpstreamSync = ReturnType<typeof createUpstreamSync>;
