import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMoney, isCurrency, toMajorUnits, toMinorUnits } from '../../src/shared/money.js';

describe('money conversion', () => {
  it('converts minor units to PartPay decimal major units exactly', () => {
    expect(toMajorUnits(1234, 'NZD')).toBe(12.34);
    expect(toMajorUnits(5, 'NZD')).toBe(0.05);
    expect(toMajorUnits(100, 'NZD')).toBe(1);
    expect(toMajorUnits(30, 'NZD')).toBe(0.3);
    expect(toMajorUnits(9_999_999_999, 'AUD')).toBe(99999999.99);
    expect(JSON.stringify({ amount: toMajorUnits(1999, 'NZD') })).toBe('{"amount":19.99}');
  });

  it('honours currencies with no or three minor digits', () => {
    expect(currencyExponent('JPY')).toBe(0);
    expect(toMajorUnits(500, 'JPY')).toBe(500);
    expect(currencyExponent('BHD')).toBe(3);
    expect(toMajorUnits(1234, 'BHD')).toBe(1.234);
  });

  it('round-trips every cent value of a range', () => {
    for (let minor = 0; minor < 20_000; minor += 1) expect(toMinorUnits(toMajorUnits(minor, 'NZD'), 'NZD')).toBe(minor);
  });

  it('parses decimal strings and numbers to minor units', () => {
    expect(toMinorUnits('12.34', 'NZD')).toBe(1234);
    expect(toMinorUnits('12.3', 'NZD')).toBe(1230);
    expect(toMinorUnits('12', 'NZD')).toBe(1200);
    expect(toMinorUnits(0.1 + 0.2, 'NZD')).toBe(30);
  });

  it('refuses more decimals than the currency has, and non-numbers', () => {
    expect(() => toMinorUnits('1.234', 'NZD')).toThrow(/more than 2 decimals/);
    expect(() => toMinorUnits('12,34', 'NZD')).toThrow(/not a decimal/);
    expect(() => toMinorUnits('1e3', 'NZD')).toThrow(/not a decimal/);
  });

  it('refuses non-integer minor units and unknown currencies', () => {
    expect(() => toMajorUnits(12.5, 'NZD')).toThrow(RangeError);
    expect(() => toMajorUnits(100, 'XYZ')).toThrow(/unknown ISO 4217/);
    expect(isCurrency('NZD')).toBe(true);
    expect(isCurrency('nzd')).toBe(false);
  });

  it('formats for people', () => {
    expect(formatMoney(1234, 'NZD')).toBe('NZD 12.34');
  });

  // Node's ICU (CLDR) formats HUF and IQD without decimals; ISO 4217 gives them 2 and 3.
  // Electrum amounts are ISO minor units, so PartPay must read them with ISO's exponent.
  it('takes minor-unit digits from ISO 4217 where common-use formatting (ICU) drops them', () => {
    expect(new Intl.NumberFormat('en', { style: 'currency', currency: 'HUF' }).resolvedOptions().maximumFractionDigits).toBe(0);
    expect(currencyExponent('HUF')).toBe(2);
    expect(toMajorUnits(12345, 'HUF')).toBe(123.45);
    expect(toMinorUnits('123.45', 'HUF')).toBe(12345);
    expect(formatMoney(12345, 'HUF')).toBe('HUF 123.45');
    expect(currencyExponent('IQD')).toBe(3);
    expect(toMajorUnits(1500, 'IQD')).toBe(1.5);
  });

  it('refuses ISO codes that are not money (SDR, its sub-units, metals, test and no-currency codes)', () => {
    for (const code of ['XDR', 'XSU', 'XUA', 'XAU', 'XAG', 'XPT', 'XPD', 'XTS', 'XXX', 'XBA']) {
      expect(isCurrency(code), code).toBe(false);
      expect(() => currencyExponent(code), code).toThrow(RangeError);
    }
  });
});
