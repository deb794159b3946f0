/**
 * Money is integer minor units with an ISO 4217 currency everywhere inside tenderbridge.
 * Conversion to PartPay's decimal major units happens only at the adapter boundary.
 */

const exponentCache = new Map<string, number>();

/**
 * The number of minor-unit digits of an ISO 4217 alphabetic currency (NZD 2, JPY 0, BHD 3),
 * from the platform's ICU data rather than a hand-kept table.
 * @throws RangeError for a code that is not a currency.
 */
export function currencyExponent(currency: string): number {
  const cached = exponentCache.get(currency);
  if (cached !== undefined) return cached;
  if (!/^[A-Z]{3}$/.test(currency) || !Intl.supportedValuesOf('currency').includes(currency)) {
    throw new RangeError(`unknown ISO 4217 currency "${currency}"`);
  }
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  exponentCache.set(currency, digits);
  return digits;
}

/** True for a known ISO 4217 alphabetic code. */
export function isCurrency(code: string): boolean {
  try {
    currencyExponent(code);
    return true;
  } catch {
    return false;
  }
}

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
