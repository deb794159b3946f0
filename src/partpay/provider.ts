import type { CancelAnswer, CreatedOrder, OrderingProvider, OwedRefund, RefundAnswer, StatusAnswer } from '../payments/provider.js';
import type { Payment, Refund } from '../payments/types.js';
import type { Merchant } from '../shared/config/load.js';
import { ConflictError, UpstreamError } from '../shared/errors.js';
import type { PartPayClient } from './client.js';
import { orderOutcome, refundStatus } from './status.js';

export interface PartPayProviderDeps {
  client: Pick<PartPayClient, 'createOrder' | 'getOrder' | 'cancelOrder' | 'refundOrder'>;
  /** The merchant of a payment (its credentials and PartPay merchant id). */
  merchant: (id: string) => Merchant | undefined;
  /** The longest one call may take, retries included (see `callBoundMs`). */
  callBoundMs: number;
}

/**
 * PartPay behind the provider port: terminal orders created, asked about, cancelled and
 * refunded through the Terminal API adapter. PartPay's status strings and idempotency keys
 * (`cancel-<payment>`, the refund's reference) live here, not in the core.
 * @example const partpay = createPartPayProvider({ client, merchant: (id) => registry.merchant(id), callBoundMs: callBoundMs(config) });
 */
export function createPartPayProvider(deps: PartPayProviderDeps): OrderingProvider {
  const merchantOf = (p: Payment): Merchant => {
    const m = deps.merchant(p.merchantId);
    if (!m) throw new Error(`merchant ${p.merchantId} of payment ${p.id} is no longer configured`);
    return m;
  };

  return {
    name: 'partpay',
    label: 'PartPay',
    asksBeforeCancel: true,
    refundsAtOnce: true,
    attemptBoundMs: deps.callBoundMs,

    async create(p: Payment): Promise<CreatedOrder> {
      return deps.client.createOrder(merchantOf(p), {
        paymentId: p.id,
        merchantReference: p.merchantReference,
        amountMinor: p.amountMinor,
        currency: p.currency,
        // Stable across retries (ours and the terminal's), so PartPay never makes a second order.
        idempotencyKey: p.id,
      });
    },

    async status(p: Payment): Promise<StatusAnswer | null> {
      if (!p.upstreamOrderId) return null;
      const order = await deps.client.getOrder(merchantOf(p), p.upstreamOrderId);
      return { outcome: orderOutcome(order.status), status: order.status, orderId: order.orderId, orderNumber: order.orderNumber };
    },

    async cancel(p: Payment): Promise<CancelAnswer> {
      // No order (its create failed or never got through): nothing exists upstream to cancel.
      if (!p.upstreamOrderId) return { kind: 'answered', outcome: 'cancelled', status: 'no order' };
      try {
        const order = await deps.client.cancelOrder(merchantOf(p), p.upstreamOrderId, `cancel-${p.id}`);
        return { kind: 'answered', outcome: orderOutcome(order.status), status: order.status };
      } catch (error) {
        // A refusal (409) means the order is most likely final already; the core asks which.
        if (error instanceof UpstreamError && !error.retryable) return { kind: 'refused', message: error.message };
        throw error;
      }
    },

    async claimRefund(_r, p: Payment): Promise<void> {
      if (!p.upstreamOrderId) throw new ConflictError('not_refundable', `payment ${p.id} has no PartPay order to refund`, { details: { paymentId: p.id } });
    },

    async refund(p: Payment, refund: Refund, owed: OwedRefund): Promise<RefundAnswer> {
      if (!p.upstreamOrderId) throw new Error(`cannot refund payment ${p.id}: no PartPay order id`);
      const answer = await deps.client.refundOrder(merchantOf(p), p.upstreamOrderId, { amountMinor: refund.amountMinor, currency: p.currency, reference: owed.key });
      switch (refundStatus(answer.status)) {
        case 'succeeded':
          return { kind: 'succeeded', upstreamRefundId: answer.refundId };
        case 'declined':
          return { kind: 'declined', message: `PartPay answered "${answer.status}"` };
        case 'pending':
          return { kind: 'pending', message: `PartPay answered "${answer.status}"` };
      }
    },

    onDeadline: () => Promise.resolve('expire'),
    voidsOnCancel: () => false,
    describe: (p) => Promise.resolve(p.upstreamOrderId ? { orderId: p.upstreamOrderId, orderNumber: p.upstreamOrderNumber } : null),
  };
}
