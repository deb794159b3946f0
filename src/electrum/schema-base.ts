import { z } from 'zod';

/**
 * Building blocks for the Electrum QR v1.7.0 schemas.
 *
 * The spec's serialisation rules: nulls are omitted (we also accept them and treat them as
 * absent), unknown properties are ignored (zod's default strip), times are RFC 3339.
 * Swagger `pattern`s are JSON Schema patterns, i.e. *unanchored* unless the pattern itself
 * says `^`/`$`; {@link specPattern} mirrors that with `RegExp.test`, as Ajv does.
 */

/** Returns a shallow copy of a plain object without its `null`-valued properties. */
export function dropNullProperties(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null) out[key] = v;
  return out;
}

/**
 * An object schema of the spec: null-valued properties are dropped before validation (so a
 * null optional field is absent and a null required field is "missing"), unknown keys stripped.
 * @example const institution = wireObject({ id: z.string(), name: z.string().max(40) });
 */
export function wireObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess(dropNullProperties, z.object(shape));
}

/** A string matching a Swagger/JSON Schema pattern with JSON Schema (unanchored, `u`) semantics. */
export function specPattern(pattern: string) {
  return z.string().regex(new RegExp(pattern, 'u'), { message: `Must match the pattern ${pattern}` });
}

/** `type: string, format: date-time`: an RFC 3339 date-time with `Z` or a numeric offset. */
export const dateTime = z.iso.datetime({ offset: true, message: 'Must be an RFC 3339 date-time, e.g. 2026-11-21T22:37:45.854Z' });

/** `type: integer, format: int64`, limited to what a JavaScript number holds exactly. */
export const int64 = z.int();

/** `type: integer, format: int32`. */
export const int32 = z.int32();

/** Every `ErrorDetail.errorType` of the spec, in spec order. */
export const ERROR_TYPES = [
  'DUPLICATE_RECORD',
  'FORMAT_ERROR',
  'FUNCTION_NOT_SUPPORTED',
  'GENERAL_ERROR',
  'INVALID_AMOUNT',
  'ROUTING_ERROR',
  'TRANSACTION_NOT_SUPPORTED',
  'UNABLE_TO_LOCATE_RECORD',
  'UPSTREAM_UNAVAILABLE',
  'ACCOUNT_ALREADY_SETTLED',
  'INVALID_MERCHANT',
  'DO_NOT_HONOR',
  'DECLINED_BY_PARTNER',
  'DECLINED_BY_ACQUIRER',
  'DECLINED_BY_ISSUER',
  'INSUFFICIENT_FUNDS',
  'INVALID_CARD_NUMBER',
  'CARD_EXPIRED',
  'INVALID_TRAN_ID',
  'PARTNER_UNKNOWN',
  'NO_SCAN_RECEIVED',
  'INVALID_ACCOUNT',
] as const;

export const TRAN_TYPES = [
  'GOODS_AND_SERVICES',
  'CASH_WITHDRAWAL',
  'DEBIT_ADJUSTMENT',
  'GOODS_AND_SERVICES_WITH_CASH_BACK',
  'NON_CASH',
  'RETURNS',
  'DEPOSIT',
  'CREDIT_ADJUSTMENT',
  'GENERAL_CREDIT',
  'AVAILABLE_FUNDS_INQUIRY',
  'BALANCE_INQUIRY',
  'GENERAL_INQUIRY',
  'CARD_VERIFICATION_INQUIRY',
  'CARDHOLDER_ACCOUNTS_TRANSFER',
  'GENERAL_TRANSFER',
  'PAYMENT_FROM_ACCOUNT',
  'GENERAL_PAYMENT',
  'PAYMENT_TO_ACCOUNT',
  'PAYMENT_FROM_ACCOUNT_TO_ACCOUNT',
  'PLACE_HOLD_ON_CARD',
  'GENERAL_ADMIN',
  'CHANGE_PIN',
  'CARD_HOLDER_INQUIRY',
  'POINTS_INQUIRY',
] as const;

/** `srcAccType` / `destAccType` of payments. */
export const PAYMENT_ACCOUNT_TYPES = ['DEFAULT', 'SAVINGS', 'CHEQUE', 'CREDIT', 'UNIVERSAL', 'ELECTRONIC_PURSE', 'GIFT_CARD', 'STORED_VALUE'] as const;

/** `Tender.accountType` (no GIFT_CARD there, unlike the payment account types). */
export const TENDER_ACCOUNT_TYPES = ['DEFAULT', 'SAVINGS', 'CHEQUE', 'CREDIT', 'UNIVERSAL', 'ELECTRONIC_PURSE', 'STORED_VALUE'] as const;

export const TENDER_TYPES = ['CASH', 'CHEQUE', 'CREDIT_CARD', 'DEBIT_CARD', 'WALLET', 'ROUNDING', 'GIFT_CARD', 'LOYALTY_CARD', 'OTHER'] as const;

export const QR_SCHEMES = ['EMVCO_MERCHANT', 'PSEUDO_EMVCO_MERCHANT', 'ELECTRUM_MERCHANT_MINIMAL'] as const;

export const REVERSAL_REASONS = ['TIMEOUT', 'CANCELLED', 'RESPONSE_NOT_FINAL'] as const;
