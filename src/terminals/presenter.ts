import { isFinal, PAID_STATES } from '../payments/state-machine.js';
import type { Payment, Refund } from '../payments/types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The JSON a terminal sees for a payment. Internal fields (raw QR data, hashes) never leave. */
export function presentPayment(p: Payment) {
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
    refundedMinor: p.refundedMinor,
    partpay: p.upstreamOrderId ? { orderId: p.upstreamOrderId, orderNumber: p.upstreamOrderNumber } : null,
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

export function presentRefund(r: Refund) {
  return { id: r.id, paymentId: r.paymentId, amountMinor: r.amountMinor, state: r.state, reason: r.reason, error: r.errorMessage, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}
