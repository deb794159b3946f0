import * as currencyCodes from 'currency-codes';

/**
 * Which codes are currencies, and how many minor-unit digits each has: ISO 4217, from the ISO
 * list in the `currency-codes` package. This is the only table tenderbridge uses for either
 * question: `/v1`, the PartPay adapter (decimal major units), Electrum (ISO minor units),
 * reports and the web pages all read amounts with these digits.
 *
 * The platform's ICU (CLDR "common use") data is consulted only by {@link digitsConflict}, to
 * refuse currencies whose amounts other parties could read with different digits.
 */

/** An ISO 4217 currency that is money. */
export interface IsoCurrency {
  /** Alphabetic code, e.g. "NZD". */
  readonly alpha: string;
  /** Three-digit numeric code, e.g. "554". */
  readonly numeric: string;
  /** Minor-unit digits (the ISO "exponent"): NZD 2, JPY 0, BHD 3. */
  readonly digits: number;
}

/** Codes ISO assigns that are not money (XXX, XTS, metals, SDR and its units ...): refused as currencies. */
const NOT_MONEY = /^X(XX|TS|AU|AG|PD|PT|BA|BB|BC|BD|DR|SU|UA)$/;

/**
 * The ISO 4217 currency with this alphabetic ("NZD") or numeric ("554") code, or null when the
 * code is unknown, malformed or not money.
 * @example isoCurrency('554') // { alpha: 'NZD', numeric: '554', digits: 2 }
 */
export function isoCurrency(code: string): IsoCurrency | null {
  return (/^[0-9]{3}$/.test(code) ? byCode().numeric : byCode().alpha).get(code) ?? null;
}

let indexes: { alpha: Map<string, IsoCurrency>; numeric: Map<string, IsoCurrency> } | null = null;

/** The package searches its list linearly on each call; conversions sit on the payment path, so index it once. */
function byCode(): { alpha: Map<string, IsoCurrency>; numeric: Map<string, IsoCurrency> } {
  if (indexes === null) {
    const money = currencyCodes.data.filter((r) => !NOT_MONEY.test(r.code) && /^[0-9]{3}$/.test(r.number)).map((r): IsoCurrency => ({ alpha: r.code, numeric: r.number, digits: r.digits }));
    indexes = { alpha: new Map(money.map((c) => [c.alpha, c])), numeric: new Map(money.map((c) => [c.numeric, c])) };
  }
  return indexes;
}

/** True for the alphabetic code of an ISO 4217 currency that is money ("NZD"; not "nzd", "554" or "XXX"). */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && isoCurrency(code) !== null;
}

/**
 * The ISO 4217 minor-unit digits of an alphabetic currency code (NZD 2, JPY 0, BHD 3).
 * @throws RangeError for a code that is not a currency.
 */
export function currencyExponent(currency: string): number {
  const iso = isCurrency(currency) ? isoCurrency(currency) : null;
  if (iso === null) throw new RangeError(`unknown ISO 4217 currency "${currency}"`);
  return iso.digits;
}

/**
 * The digits common-use formatting (CLDR, through the platform's ICU) gives a currency, or
 * null when CLDR does not list it. For comparison only: never used to convert an amount.
 */
export function commonUseDigits(alpha: string): number | null {
  if (!/^[A-Z]{3}$/.test(alpha) || !Intl.supportedValuesOf('currency').includes(alpha)) return null;
  return new Intl.NumberFormat('en', { style: 'currency', currency: alpha }).resolvedOptions().maximumFractionDigits ?? null;
}

/**
 * Where ISO 4217 and common use (CLDR) disagree on a currency's minor-unit digits, both
 * answers; null when they agree. HUF, IDR, COP, PKR, IQD ... are written without decimals in
 * common use though ISO gives them minor units, so a partner, a terminal or a provider could
 * read the same amount 100 or 1000 times apart.
 * @example digitsConflict('HUF') // { iso: 2, commonUse: 0 }
 * @throws RangeError for a code that is not a currency.
 */
export function digitsConflict(alpha: string): { iso: number; commonUse: number | null } | null {
  const iso = currencyExponent(alpha);
  const commonUse = commonUseDigits(alpha);
  return commonUse === iso ? null : { iso, commonUse };
}
