/**
 * Money is integer minor units with an ISO 4217 currency everywhere inside tenderbridge, with
 * ISO 4217's minor-unit digits (see currency.ts). Conversion to PartPay's decimal major units
 * happens only at the adapter boundary.
 */

import { currencyExponent } from './currency.js';

// Callers have always found these here; the table itself lives in currency.ts.
export { currencyExponent, isCurrency } from './currency.js';

/**
 * Minor units to a decimal number in major units, exact for any safe integer amount.
 * @example toMajorUnits(1234, 'NZD') // 12.34
 */
export function toMajorUnits(minor: number, currency: string): number {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount ${minor} is not an integer number of minor units`);
  const exp = currencyExponent(currency);
  // Going through the decimal string avoids float artefacts such as 0.1 + 0.2.
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exp + 1, '0');
  const text = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return Number(negative ? `-${text}` : text);
}

/**
 * Decimal major units (number or string) to integer minor units; refuses values with more
 * decimals than the currency has.
 * @example toMinorUnits('12.34', 'NZD') // 1234
 */
export function toMinorUnits(major: number | string, currency: string): number {
  const exp = currencyExponent(currency);
  const text = typeof major === 'number' ? major.toFixed(Math.min(20, exp + 6)) : major.trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`"${major}" is not a decimal amount`);
  const [, sign, whole, frac = ''] = m;
  const significant = frac.replace(/0+$/, '');
  if (significant.length > exp) throw new RangeError(`"${major}" has more than ${exp} decimals for ${currency}`);
  const minor = Number(`${whole}${frac.padEnd(exp, '0').slice(0, exp)}`);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`"${major}" is too large`);
  return sign === '-' ? -minor : minor;
}

/** Formats minor units for people, e.g. "NZD 12.34". */
export function formatMoney(minor: number, currency: string): string {
  return `${currency} ${toMajorUnits(minor, currency).toFixed(currencyExponent(currency))}`;
}
