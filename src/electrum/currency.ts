import { digitsConflict, isCurrency, isoCurrency } from '../shared/currency.js';

/**
 * ISO 4217 numeric ↔ alphabetic codes for Electrum's `LedgerAmount.currency` (three digits,
 * e.g. "554") and the rest of tenderbridge (alphabetic, e.g. "NZD"). The table, its minor-unit
 * digits and which codes are money all come from `shared/currency.ts`, so an Electrum amount
 * and the same amount sent to PartPay or shown on `/v1` are read with the same digits.
 */

/**
 * The alphabetic code of an ISO 4217 numeric code, or null when unknown or not money.
 * @example numericToAlpha('554') // 'NZD'
 */
export function numericToAlpha(numeric: string): string | null {
  if (!/^[0-9]{3}$/.test(numeric)) return null;
  return isoCurrency(numeric)?.alpha ?? null;
}

/**
 * The three-digit numeric code of an ISO 4217 alphabetic code, or null when unknown or not money.
 * @example alphaToNumeric('NZD') // '554'
 */
export function alphaToNumeric(alpha: string): string | null {
  if (!/^[A-Z]{3}$/.test(alpha)) return null;
  return isoCurrency(alpha)?.numeric ?? null;
}

/**
 * Like {@link numericToAlpha} but throws, for values that already passed validation.
 * @throws RangeError for an unknown numeric code.
 */
export function requireAlpha(numeric: string): string {
  const alpha = numericToAlpha(numeric);
  if (alpha === null) throw new RangeError(`unknown ISO 4217 numeric currency "${numeric}"`);
  return alpha;
}

/**
 * Like {@link alphaToNumeric} but throws.
 * @throws RangeError for an unknown alphabetic code.
 */
export function requireNumeric(alpha: string): string {
  const numeric = alphaToNumeric(alpha);
  if (numeric === null) throw new RangeError(`unknown ISO 4217 currency "${alpha}"`);
  return numeric;
}

/**
 * ISO 4217 minor-unit digits of a currency given by numeric or alphabetic code (NZD 2, JPY 0,
 * BHD 3), or null when unknown. Electrum amounts are in these minor units; so are all others.
 */
export function isoExponent(code: string): number | null {
  return isoCurrency(code)?.digits ?? null;
}

/**
 * True when ISO 4217 and common use (CLDR, the platform's ICU) agree on the minor-unit digits
 * of `alpha`. They disagree for a few currencies (HUF, IDR, COP, PKR, IQD, ...: CLDR writes
 * them without decimals); config refuses those as merchant currencies.
 */
export function exponentsAgree(alpha: string): boolean {
  return isCurrency(alpha) && digitsConflict(alpha) === null;
}

/**
 * Minor units to a decimal string in major units with the ISO exponent (EMV tag 54).
 * @example minorToDecimal(1234, '554') // '12.34'
 * @throws RangeError for an unknown currency, a negative or unsafe amount.
 */
export function minorToDecimal(amountMinor: number, currency: string): string {
  const exp = isoExponent(currency);
  if (exp === null) throw new RangeError(`unknown ISO 4217 currency "${currency}"`);
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) throw new RangeError(`amount ${amountMinor} is not a non-negative integer`);
  const digits = String(amountMinor).padStart(exp + 1, '0');
  return exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}

/**
 * A decimal major-unit string (EMV tag 54) to minor units with the ISO exponent.
 * @example decimalToMinor('12.3', '554') // 1230
 * @throws RangeError for an unknown currency, a malformed value or too many decimals.
 */
export function decimalToMinor(text: string, currency: string): number {
  const exp = isoExponent(currency);
  if (exp === null) throw new RangeError(`unknown ISO 4217 currency "${currency}"`);
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a decimal amount`);
  const [, whole = '0', frac = ''] = m;
  if (frac.replace(/0+$/, '').length > exp) throw new RangeError(`"${text}" has more than ${exp} decimals`);
  const minor = Number(`${whole}${frac.padEnd(exp, '0').slice(0, exp)}`);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`"${text}" is too large`);
  return minor;
}
