import { z } from 'zod';
import { PAYMENT_ACCOUNT_TYPES, REVERSAL_REASONS, TRAN_TYPES, dateTime, wireObject } from './schema-base.js';
import {
  amountsSchema,
  customerSchema,
  institutionSchema,
  originatorSchema,
  qrPropertiesSchema,
  slipDataSchema,
  tenderSchema,
  thirdPartyIdentifierSchema,
} from './schema-models.js';

/**
 * The Electrum QR v1.7.0 messages, field for field from the spec's `definitions`.
 * Ids are plain strings as in the spec (described as UUIDs, not constrained to them).
 */

const thirdPartyIdentifiers = z.array(thirdPartyIdentifierSchema);

/** Fields CreateQrCodeRequest and CreateQrCodeResponse share. */
const qrCodeShape = {
  id: z.string(),
  time: dateTime,
  originator: originatorSchema,
  client: institutionSchema,
  thirdPartyIdentifiers: thirdPartyIdentifiers.optional(),
  rrn: z.string().optional(),
  stan: z.string().optional(),
  amounts: amountsSchema.optional(),
  customer: customerSchema.optional(),
  qrProperties: qrPropertiesSchema,
};

/** createQrCode request (POS → intermediate). */
export const createQrCodeRequestSchema = wireObject(qrCodeShape);

/** createQrCode 201 answer: adds the `tranId` and the `qrCode` text to encode. */
export const createQrCodeResponseSchema = wireObject({
  ...qrCodeShape,
  tranId: z.string(),
  qrCode: z.string(),
});

/** notifyScan request (partner → intermediate). */
export const scanNotificationSchema = wireObject({
  id: z.string(),
  time: dateTime,
  partner: institutionSchema,
  settlementEntity: institutionSchema.optional(),
  receiver: institutionSchema.optional(),
  thirdPartyIdentifiers: thirdPartyIdentifiers.optional(),
  amounts: amountsSchema.optional(),
  tranId: z.string(),
  partnerPaymentToken: z.string().optional(),
});

/** Fields PaymentRequest and PaymentResponse share (required-ness differs only for `partner`). */
const paymentShape = {
  id: z.string(),
  time: dateTime,
  originator: originatorSchema,
  client: institutionSchema,
  settlementEntity: institutionSchema.optional(),
  receiver: institutionSchema.optional(),
  thirdPartyIdentifiers,
  slipData: slipDataSchema.optional(),
  basketRef: z.string().optional(),
  tranType: z.enum(TRAN_TYPES).optional(),
  srcAccType: z.enum(PAYMENT_ACCOUNT_TYPES).optional(),
  destAccType: z.enum(PAYMENT_ACCOUNT_TYPES).optional(),
  stan: z.string().optional(),
  rrn: z.string().optional(),
  amounts: amountsSchema,
  tranId: z.string(),
  partnerPaymentToken: z.string().optional(),
};

/** pay request (POS → intermediate → partner). */
export const paymentRequestSchema = wireObject({
  ...paymentShape,
  partner: institutionSchema.optional(),
});

/** pay 201 answer (partner → intermediate → POS). */
export const paymentResponseSchema = wireObject({
  ...paymentShape,
  partner: institutionSchema,
  tenders: z.array(tenderSchema).optional(),
});

/** Fields both advices share. */
const adviceShape = {
  id: z.string(),
  requestId: z.string(),
  time: dateTime,
  thirdPartyIdentifiers,
  stan: z.string().optional(),
  rrn: z.string().optional(),
  amounts: amountsSchema.optional(),
  partner: institutionSchema.optional(),
  tranId: z.string().optional(),
};

/** confirmPayment advice; the 202 answer echoes it. */
export const paymentConfirmationSchema = wireObject(adviceShape);

/** reversePayment advice; the 202 answer echoes it. */
export const paymentReversalSchema = wireObject({
  ...adviceShape,
  reversalReason: z.enum(REVERSAL_REASONS),
});

export type CreateQrCodeRequest = z.infer<typeof createQrCodeRequestSchema>;
export type CreateQrCodeResponse = z.infer<typeof createQrCodeResponseSchema>;
export type ScanNotification = z.infer<typeof scanNotificationSchema>;
export type PaymentRequest = z.infer<typeof paymentRequestSchema>;
export type PaymentResponse = z.infer<typeof paymentResponseSchema>;
export type PaymentConfirmation = z.infer<typeof paymentConfirmationSchema>;
export type PaymentReversal = z.infer<typeof paymentReversalSchema>;
export type ReversalReason = PaymentReversal['reversalReason'];
export type QrScheme = NonNullable<z.infer<typeof qrPropertiesSchema>['scheme']>;
