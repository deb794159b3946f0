import { describe, expect, it } from 'vitest';
import { neutraliseFormula, toCsv } from '../../src/shared/csv.js';
import { readCsv } from '../support/csv.js';

describe('CSV cells safe to open in a spreadsheet', () => {
  it.each(['=1+1', '=HYPERLINK("http://evil","x")', '+1+1', '-1+1', '@SUM(A1:A9)', '\t=1+1', '\r=1+1', '-', "=cmd|' /C calc'!A0"])('prefixes %j with a single quote', (text) => {
    expect(neutraliseFormula(text)).toBe(`'${text}`);
  });

  it.each(['TERM0001', 'receipt 42', '', "'already quoted", 'a=b', '1+1'])('leaves %j as it is', (text) => {
    expect(neutraliseFormula(text)).toBe(text);
  });

  it.each(['-5.00', '-12', '12.34', '0'])('leaves the plain decimal number %j as it is, sign included', (text) => {
    expect(neutraliseFormula(text)).toBe(text);
  });

  it('writes numbers, negative ones included, as bare numbers and every text cell neutralised', () => {
    const csv = toCsv(
      [
        ['=1+1', -500, '-5.00', 1234],
        ['@x', 0, 'ok, "quoted"', null],
      ],
      ['reference', 'amount_minor', 'amount', 'count'],
    );
    expect(csv.split('\n')[1]).toBe("'=1+1,-500,-5.00,1234");
    expect(readCsv(csv)).toEqual([
      ['reference', 'amount_minor', 'amount', 'count'],
      ["'=1+1", '-500', '-5.00', '1234'],
      ["'@x", '0', 'ok, "quoted"', ''],
    ]);
  });
});
