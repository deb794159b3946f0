import { z } from 'zod';
import { isCurrency } from '../shared/currency.js';
import { unprintableIn, unprintableMessage } from '../shared/text.js';

const MAX_AMOUNT_MINOR = 100_000_000; // 1,000,000.00 in a two-decimal currency: far above any till sale

/** Body of `POST /v1/payments`. */
export const createPaymentBody = z
  .object({
    /** Amount in integer minor units (cents): 1234 means 12.34. */
    amountMinor: z
      .number({ error: (i) => (i.input === undefined ? 'is required' : 'must be an integer number of minor units, e.g. 1234 for 12.34') })
      .int('must be an integer number of minor units (cents), e.g. 1234 for 12.34, not a decimal')
      .positive('must be greater than zero')
      .max(MAX_AMOUNT_MINOR, `must be at most ${MAX_AMOUNT_MINOR}`),
    /** ISO 4217 alphabetic code; must match the merchant's PartPay currency. */
    currency: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as NZD')
      // Only a well-formed code gets this second message; a malformed one has the first.
      .refine((code) => !/^[A-Z]{3}$/.test(code) || isCurrency(code), 'must be an ISO 4217 currency such as NZD (not XXX, XTS, a metal or SDR)'),
    /** The terminal's own reference for the sale (receipt number); sent to PartPay as merchantReference. */
    merchantReference: z
      .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
      .min(1, 'must not be empty')
      .max(64, 'must be at most 64 characters')
      .regex(/^[\x20-\x7E]+$/, 'must be printable ASCII'),
    /** Which provider; only "partpay" for now. */
    provider: z.literal('partpay', { error: 'must be "partpay"' }).optional(),
  }, { error: 'must be a JSON object' })
  .strict();

/** Body of `POST /v1/payments/:id/cancel`: empty (or `{}`). */
export const cancelBody = z.object({}, { error: 'must be an empty JSON object or no body' }).strict();

/** Body of `POST /v1/payments/:id/refunds`; no amount means everything still refundable. */
export const refundBody = z
  .object({
    amountMinor: z.number({ error: 'must be an integer number of minor units' }).int('must be an integer number of minor units (cents), not a decimal').positive('must be greater than zero').max(MAX_AMOUNT_MINOR).optional(),
    reason: z
      .string({ error: 'must be a string' })
      .max(200, 'must be at most 200 characters')
      .refine((text) => unprintableIn(text) === null, { error: (issue) => unprintableMessage(unprintableIn(issue.input as string) ?? '') })
      .optional(),
  }, { error: 'must be a JSON object' })
  .strict();

export const tranIdParam = z.object({ tranId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a tranId from createQrCode') });

export const paymentIdParam = z.object({ id: z.uuid({ error: 'must be a payment id (UUID)' }) });

/** `GET /v1/payments/:id` query: long-poll. */
export const getPaymentQuery = z
  .object({
    /** Seconds to wait for a change (0-60). */
    wait: z.coerce.number({ error: 'must be a number of seconds' }).int('must be whole seconds').min(0, 'must be 0 or more').max(60, 'must be at most 60').optional(),
    /** Wait until the version is greater than this; defaults to the current version. */
    version: z.coerce.number({ error: 'must be a version number' }).int().min(0).optional(),
  })
  .strict();

/** Query of `GET /v1/payments` (with the other shapes of the till's API in till-schemas.ts). */
export { listPaymentsQuery } from './till-schemas.js';

/** A header value that must be a sane idempotency key when given. */
export const idempotencyKeyHeader = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces').optional();
