import { z } from 'zod';
import {
  ERROR_TYPES,
  QR_SCHEMES,
  TENDER_ACCOUNT_TYPES,
  TENDER_TYPES,
  dateTime,
  dropNullProperties,
  int32,
  int64,
  specPattern,
  wireObject,
} from './schema-base.js';

/**
 * The Electrum QR v1.7.0 models used inside messages, field for field from the spec's
 * `definitions`. Java leftovers of the generator (OffsetDateTime, ZoneOffset, Duration, ...)
 * are not modelled: the errata make `QrProperties.expiryDate` a date-time string.
 */

/** Institution: `{id, name<=40}`. */
export const institutionSchema = wireObject({
  id: z.string(),
  name: z.string().max(40),
});

/** LedgerAmount: integer minor units and an ISO 4217 numeric currency. */
export const ledgerAmountSchema = wireObject({
  amount: int64,
  // The spec's pattern is the unanchored `[0-9]{3}`; its description says "three digit
  // currency number", and our money code relies on that, so this one is anchored.
  currency: z.string().regex(/^[0-9]{3}$/, { message: 'Must be a three digit ISO 4217 currency number' }),
  ledgerIndicator: z.enum(['DEBIT', 'CREDIT']).optional(),
});

/** Amounts: every amount optional ("absent amounts have zero value"). */
export const amountsSchema = wireObject({
  requestAmount: ledgerAmountSchema.optional(),
  approvedAmount: ledgerAmountSchema.optional(),
  feeAmount: ledgerAmountSchema.optional(),
  balanceAmount: ledgerAmountSchema.optional(),
  additionalAmounts: z.preprocess(dropNullProperties, z.record(z.string(), ledgerAmountSchema)).optional(),
});

/** ThirdPartyIdentifier: one institution's own id for the transaction. */
export const thirdPartyIdentifierSchema = wireObject({
  institutionId: z.string(),
  transactionIdentifier: z.string(),
});

/** MerchantName: name<=23, city<=13, region<=2, country<=2, all required. */
export const merchantNameSchema = wireObject({
  name: z.string().max(23),
  city: z.string().max(13),
  region: z.string().max(2),
  country: z.string().max(2),
});

/** Merchant: MCC (pattern `[0-9]{4}`), a 15-character merchant id and its name. */
export const merchantSchema = wireObject({
  merchantType: specPattern('[0-9]{4}'),
  merchantId: z.string().length(15),
  merchantName: merchantNameSchema,
});

/** Originator: institution, an 8-character terminal id, merchant and an optional operator. */
export const originatorSchema = wireObject({
  institution: institutionSchema,
  terminalId: z.string().length(8),
  merchant: merchantSchema,
  operatorId: z.string().max(30).optional(),
});

/** Address of a customer. */
export const addressSchema = wireObject({
  addressLine1: specPattern('^.{1,100}').optional(),
  addressLine2: specPattern('^.{1,100}').optional(),
  city: specPattern('^.{1,30}').optional(),
  region: specPattern('[A-Z]{2}').optional(),
  country: specPattern('[A-Z]{2}').optional(),
  postalCode: specPattern('[A-Za-z0-9 -]{1,20}').optional(),
});

/** Customer: all fields optional. */
export const customerSchema = wireObject({
  firstName: z.string().max(40).optional(),
  lastName: z.string().max(40).optional(),
  address: z.string().max(80).optional(),
  dateOfBirth: dateTime.optional(),
  status: z.string().optional(),
  msisdn: specPattern('^\\+?[1-9]\\d{0,14}').optional(),
  emailAddress: z.email().optional(),
  addressDetails: addressSchema.optional(),
  profileId: z.string().optional(),
});

/** QrProperties; `expiryDate` is an RFC 3339 string (errata), booleans default to false when absent. */
export const qrPropertiesSchema = wireObject({
  uuid: z.string().optional(),
  value: ledgerAmountSchema.optional(),
  overPaymentAllowed: z.boolean().optional(),
  partPaymentAllowed: z.boolean().optional(),
  expiryDate: dateTime.optional(),
  singleUse: z.boolean().optional(),
  scheme: z.enum(QR_SCHEMES).optional(),
});

/** Barcode of a slip line. */
export const barcodeSchema = wireObject({
  data: z.string(),
  encoding: z.string(),
});

/** SlipLine: one line of a customer slip. */
export const slipLineSchema = wireObject({
  barcode: barcodeSchema.optional(),
  text: z.string(),
  fontWidthScaleFactor: z.number().optional(),
  fontHeightScaleFactor: z.number().optional(),
  line: z.boolean().optional(),
  cut: z.boolean().optional(),
});

/** SlipData printed on the customer slip. */
export const slipDataSchema = wireObject({
  messageLines: z.array(slipLineSchema).optional(),
  slipWidth: int32.optional(),
  issuerReference: specPattern('[A-Z0-9]{1,40}').optional(),
});

/** Tender: how the customer paid (e.g. the wallet). */
export const tenderSchema = wireObject({
  accountType: z.enum(TENDER_ACCOUNT_TYPES).optional(),
  amount: ledgerAmountSchema,
  cardNumber: specPattern('[0-9]{6}[0-9*]{0,13}').optional(),
  reference: z.string().max(40).optional(),
  tenderType: z.enum(TENDER_TYPES),
});

/**
 * ErrorDetail: the body of every failure. `id` is at most 20 characters (errata: not a UUID);
 * `detailMessage` is `type: object` in the spec, so free-form detail goes in an object.
 */
export const errorDetailSchema = wireObject({
  id: z.string().max(20),
  originalId: z.string().optional(),
  errorType: z.enum(ERROR_TYPES),
  errorMessage: z.string().max(40),
  detailMessage: z.record(z.string(), z.unknown()).optional(),
  providerErrorCode: z.string().optional(),
  providerErrorMsg: z.string().optional(),
  providerRef: z.string().optional(),
  tranId: z.string().optional(),
});

export type Institution = z.infer<typeof institutionSchema>;
export type LedgerAmount = z.infer<typeof ledgerAmountSchema>;
export type Amounts = z.infer<typeof amountsSchema>;
export type ThirdPartyIdentifier = z.infer<typeof thirdPartyIdentifierSchema>;
export type MerchantName = z.infer<typeof merchantNameSchema>;
export type Merchant = z.infer<typeof merchantSchema>;
export type Originator = z.infer<typeof originatorSchema>;
export type Address = z.infer<typeof addressSchema>;
export type Customer = z.infer<typeof customerSchema>;
export type QrProperties = z.infer<typeof qrPropertiesSchema>;
export type Barcode = z.infer<typeof barcodeSchema>;
export type SlipLine = z.infer<typeof slipLineSchema>;
export type SlipData = z.infer<typeof slipDataSchema>;
export type Tender = z.infer<typeof tenderSchema>;
export type ErrorDetail = z.infer<typeof errorDetailSchema>;
export type ErrorType = ErrorDetail['errorType'];
