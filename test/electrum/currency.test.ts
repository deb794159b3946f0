import * as currencyCodes from 'currency-codes';
import { describe, expect, it } from 'vitest';
import { currencyExponent, isCurrency, toMajorUnits, toMinorUnits } from '../../src/shared/money.js';
import { alphaToNumeric, decimalToMinor, exponentsAgree, isoExponent, minorToDecimal, numericToAlpha, requireAlpha, requireNumeric } from '../../src/electrum/currency.js';

describe('Electrum currency codes', () => {
  it('maps ISO 4217 numeric and alphabetic codes both ways', () => {
    expect(numericToAlpha('554')).toBe('NZD');
    expect(alphaToNumeric('NZD')).toBe('554');
    expect(numericToAlpha('710')).toBe('ZAR');
    expect(alphaToNumeric('AUD')).toBe('036');
    expect(numericToAlpha('036')).toBe('AUD');
  });

  it('answers null for unknown, malformed or non-money codes, and the require forms throw', () => {
    expect(numericToAlpha('000')).toBeNull();
    expect(numericToAlpha('55')).toBeNull();
    expect(numericToAlpha('999')).toBeNull();
    expect(alphaToNumeric('ZZZ')).toBeNull();
    expect(alphaToNumeric('nzd')).toBeNull();
    expect(alphaToNumeric('XXX')).toBeNull();
    expect(() => requireAlpha('000')).toThrow(RangeError);
    expect(() => requireNumeric('ZZZ')).toThrow(RangeError);
    expect(requireAlpha('554')).toBe('NZD');
  });

  it('uses ISO minor-unit exponents for either form of code', () => {
    expect(isoExponent('554')).toBe(2);
    expect(isoExponent('JPY')).toBe(0);
    expect(isoExponent('048')).toBe(3);
    expect(isoExponent('000')).toBeNull();
    expect(minorToDecimal(1234, '554')).toBe('12.34');
    expect(minorToDecimal(5, '554')).toBe('0.05');
    expect(minorToDecimal(500, '392')).toBe('500');
    expect(minorToDecimal(1, '048')).toBe('0.001');
    expect(decimalToMinor('12.3', '554')).toBe(1230);
    expect(decimalToMinor('12', 'NZD')).toBe(1200);
    expect(() => decimalToMinor('12.345', '554')).toThrow(RangeError);
    expect(() => minorToDecimal(-1, '554')).toThrow(RangeError);
  });

  it("says the exponents agree exactly where ISO 4217 and this platform's own formatting (ICU) agree", () => {
    // Both sides are read here, not pinned: ISO's digits from the ISO table, common use from
    // whatever ICU data this Node carries (it differs between builds and versions).
    const commonUse = (alpha: string) =>
      Intl.supportedValuesOf('currency').includes(alpha) ? new Intl.NumberFormat('en', { style: 'currency', currency: alpha }).resolvedOptions().maximumFractionDigits : null;
    const money = currencyCodes.codes().filter(isCurrency);
    for (const alpha of money) expect(exponentsAgree(alpha), alpha).toBe(commonUse(alpha) === currencyCodes.code(alpha)?.digits);
    expect(exponentsAgree('ZZZ')).toBe(false);
  });

  it('reads the same minor amount as the same decimal as /v1 and PartPay do, for every ISO currency', () => {
    const money = currencyCodes.codes().filter(isCurrency);
    expect(money).toEqual(expect.arrayContaining(['NZD', 'HUF', 'IDR', 'IQD', 'JPY', 'BHD']));
    for (const alpha of money) {
      const numeric = requireNumeric(alpha);
      expect(isoExponent(numeric), alpha).toBe(currencyExponent(alpha));
      const decimal = minorToDecimal(123456, numeric);
      expect(toMajorUnits(123456, alpha), alpha).toBe(Number(decimal));
      expect(toMinorUnits(decimal, alpha), alpha).toBe(decimalToMinor(decimal, numeric));
    }
    // An Electrum HUF amount of 12345 (ISO minor units, 123.45 forint) reaches PartPay as 123.45.
    expect(minorToDecimal(12345, '348')).toBe('123.45');
    expect(toMajorUnits(12345, 'HUF')).toBe(123.45);
  });

  it('knows exactly the money codes shared/money.ts knows', () => {
    for (const alpha of currencyCodes.codes()) expect(alphaToNumeric(alpha) !== null, alpha).toBe(isCurrency(alpha));
  });
});
