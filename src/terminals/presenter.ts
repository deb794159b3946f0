import { isFinal, PAID_STATES, settledMinor } from '../payments/state-machine.js';
import type { PaymentRepository } from '../payments/repository.js';
import type { Payment, Refund } from '../payments/types.js';
import type { Port } from '../storage/port.js';
import type { PaymentJson, RefundJson } from './response-schemas.js';

/** The provider's own facts of a payment (PartPay's order id, Electrum's request, partner and advice). */
export type ProviderDetail = (p: Payment) => Promise<Record<string, unknown> | null>;

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * The JSON a terminal sees for a payment. Internal fields (raw QR data, hashes) never leave.
 * The provider's facts sit under its own name (`partpay` or `electrum`); the other is null.
 * `refunds` are the payment's refunds, oldest first (see {@link presentRefund}).
 * Typed by the `Payment` schema of the OpenAPI document (response-schemas.ts), so the two cannot drift.
 * @example presentPayment(payment, detail(payment), repo.refundsOf(payment.id))
 */
export function presentPayment(p: Payment, detail: Record<string, unknown> | null = null, refunds: readonly Refund[] = []): PaymentJson {
  const base = `/v1/payments/${p.id}`;
  return {
    id: p.id,
    state: p.state,
    version: p.version,
    final: isFinal(p.state),
    paid: PAID_STATES.includes(p.state),
    provider: p.provider,
    terminalId: p.terminalId,
    storeId: p.storeId,
    merchantReference: p.merchantReference,
    amountMinor: p.amountMinor,
    currency: p.currency,
    /** What the provider approved (less than amountMinor for a partial approval); null until approved. */
    approvedMinor: p.approvedMinor,
    refundedMinor: p.refundedMinor,
    /** What the customer is charged now: approved less refunded while paid, else 0. */
    settledMinor: settledMinor(p),
    /** Every refund asked for, oldest first, whatever its state. */
    refunds: refunds.map(presentRefund),
    partpay: p.provider === 'partpay' ? detail : null,
    electrum: p.provider === 'electrum' ? detail : null,
    // text stays null until someone reads it from the image (GET textUrl): rendering never does.
    qr: p.qrKind ? { imageUrl: `${base}/qr`, textUrl: `${base}/qr/text`, text: p.qrText } : null,
    error: p.errorCode ? { code: p.errorCode, message: p.errorMessage } : null,
    attention: p.attention,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    expiresAt: iso(p.expiresAt),
    finalAt: iso(p.finalAt),
    links: { self: base, events: `${base}/events`, qr: `${base}/qr`, cancel: `${base}/cancel`, refunds: `${base}/refunds` },
  };
}

/**
 * The JSON a terminal sees for a refund, typed by the `Refund` schema (response-schemas.ts).
 * Who asked for it (an operator's name) stays inside.
 * @example presentRefund(refund) // { id, paymentId, amountMinor, state: 'pending', reason, upstreamReference: null, … }
 */
export function presentRefund(r: Refund): RefundJson {
  return {
    id: r.id,
    paymentId: r.paymentId,
    amountMinor: r.amountMinor,
    state: r.state,
    reason: r.reason,
    upstreamReference: r.upstreamRefundId,
    error: r.errorMessage,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    links: { self: `/v1/refunds/${r.id}`, payment: `/v1/payments/${r.paymentId}` },
  };
}

/** The payment with its refunds and its provider's facts, as every /v1 answer shows it (both read from storage). */
export type PresentPayment = (p: Payment) => Promise<PaymentJson>;

/**
 * `presentPayment` with the provider's facts and the refunds read (together) from storage.
 * @example const present = presenterOf(detail, store.repos.payments); res.json(await present(payment))
 */
export function presenterOf(detail: ProviderDetail, payments: Pick<Port<PaymentRepository>, 'refundsOf'>): PresentPayment {
  return async (p) => {
    const [facts, refunds] = await Promise.all([detail(p), payments.refundsOf(p.id)]);
    return presentPayment(p, facts, refunds);
  };
}
