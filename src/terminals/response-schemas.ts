import { z } from 'zod';
import { PAYMENT_STATES } from '../payments/state-machine.js';
import { displayProfileSchema } from '../qr/display-profile.js';

/**
 * What the terminal API answers, as zod schemas. The presenter's return types are these
 * schemas' output types, so the code cannot answer something the OpenAPI document (built from
 * them, src/terminals/operations.ts) does not describe. Nothing parses with them at run time:
 * they are types and contract.
 */

const isoTime = z.iso.datetime().describe('RFC 3339 UTC time with milliseconds');
const minor = z.number().int().min(0);

/** Every state a payment can be in (README "States"). */
export const paymentStateSchema = z.enum(PAYMENT_STATES).describe('created → awaiting_customer → approved | declined | cancelled | expired | failed; then partially_refunded → refunded; reversed is a void');

const providerFacts = z.record(z.string(), z.unknown()).nullable();

/** A refund (`presentRefund`), as `GET /v1/refunds/:id` answers it and a payment's `refunds` lists it. */
export const refundJson = z
  .object({
    id: z.uuid().describe('The refund id'),
    paymentId: z.uuid().describe('The payment refunded'),
    amountMinor: z.number().int().positive().describe('Amount in integer minor units'),
    state: z.enum(['pending', 'succeeded', 'failed']).describe('pending: recorded and owed, delivered from the outbox; succeeded: the provider made it; failed: it was not made'),
    reason: z.string().nullable().describe('The reason given when it was asked for'),
    upstreamReference: z.string().nullable().describe("The provider's reference of the refund, once made"),
    error: z.string().nullable().describe("Why it failed: the provider's reason (null unless failed)"),
    createdAt: isoTime.describe('When it was asked for'),
    updatedAt: isoTime.describe('Its last change'),
    links: z.object({ self: z.string(), payment: z.string() }).strict(),
  })
  .strict()
  .meta({ id: 'Refund' });
export type RefundJson = z.output<typeof refundJson>;

/** A payment as a terminal sees it (`presentPayment`). */
export const paymentJson = z
  .object({
    id: z.uuid(),
    state: paymentStateSchema,
    version: z.number().int().min(0).describe('Grows with every change; the `id:` of its SSE events and the `version` of a long-poll'),
    final: z.boolean().describe('The outcome will not change'),
    paid: z.boolean().describe('The customer paid (approved, partially_refunded or refunded)'),
    provider: z.enum(['partpay', 'electrum']),
    terminalId: z.string(),
    storeId: z.string(),
    merchantReference: z.string(),
    amountMinor: minor.describe('What was asked, in integer minor units (1995 = 19.95)'),
    currency: z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 alphabetic code'),
    approvedMinor: minor.nullable().describe('What the provider approved (less than amountMinor for a partial approval); null until approved'),
    refundedMinor: minor,
    settledMinor: minor.describe('What the customer is charged now: approved less refunded while paid, else 0'),
    refunds: z.array(refundJson).describe('Every refund asked for, oldest first, whatever its state'),
    partpay: providerFacts.describe("PartPay's facts (orderId, orderNumber) for a PartPay payment; else null"),
    electrum: providerFacts.describe("The Electrum pay's facts (requestId, tranId, partnerId, advice) for an Electrum payment; else null"),
    qr: z
      .object({ imageUrl: z.string(), textUrl: z.string(), text: z.string().nullable().describe('The text inside the QR once someone read it (GET textUrl); else null') })
      .nullable(),
    error: z.object({ code: z.string(), message: z.string().nullable() }).nullable().describe('Why a failed payment failed'),
    attention: z.enum(['late_approval', 'upstream_unresolved']).nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    expiresAt: isoTime,
    finalAt: isoTime.nullable(),
    links: z.object({ self: z.string(), events: z.string(), qr: z.string(), cancel: z.string(), refunds: z.string() }),
  })
  .meta({ id: 'Payment' });
export type PaymentJson = z.output<typeof paymentJson>;

/** `POST /v1/payments/:id/refunds` answers the refund and the payment after it. */
export const refundResultJson = z.object({ refund: refundJson, payment: paymentJson }).meta({ id: 'RefundResult' });

/** `GET /v1/payments/:id/qr/text`. */
export const qrTextJson = z.object({ text: z.string() }).meta({ id: 'QrText' });
export type QrTextJson = z.output<typeof qrTextJson>;

/** `GET /v1/terminal`: who the key is. */
export const terminalJson = z
  .object({
    id: z.string(),
    storeId: z.string(),
    merchantId: z.string(),
    displayProfile: displayProfileSchema,
    tenderbridge: z.object({ version: z.string(), commit: z.string().nullable() }).nullable(),
  })
  .meta({ id: 'Terminal' });
export type TerminalJson = z.output<typeof terminalJson>;

/** SSE `transition` event data: one past change of state. */
export const transitionEventJson = z
  .object({ paymentId: z.uuid(), from: paymentStateSchema.nullable(), to: paymentStateSchema.nullable(), version: z.number().int().nullable(), at: isoTime })
  .meta({ id: 'TransitionEvent' });
export type TransitionEventJson = z.output<typeof transitionEventJson>;

/** SSE `shutdown` event data: the daemon is stopping; reconnect with Last-Event-ID. */
export const shutdownEventJson = z.object({ reason: z.string(), final: z.boolean() }).meta({ id: 'ShutdownEvent' });
export type ShutdownEventJson = z.output<typeof shutdownEventJson>;

/** 409 of `POST /v1/payments/:id/refunds` when the provider declined: the error, the failed refund and the payment. */
export const refundDeclinedJson = z
  .object({ error: z.object({ code: z.literal('refund_declined'), retryable: z.literal(false), message: z.string() }), refund: refundJson, payment: paymentJson })
  .meta({ id: 'RefundDeclined' });
export type RefundDeclinedJson = z.output<typeof refundDeclinedJson>;
