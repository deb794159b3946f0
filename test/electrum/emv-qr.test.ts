import { describe, expect, it } from 'vitest';
import { TlvError, buildQrCode, crcHex, encodeTlv, parseTlv, tranIdFromQr, verifyCrc } from '../../src/electrum/emv-qr.js';

const SPEC_EXAMPLE = '00020126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941';
const TRAN_ID = 'f82d7f64feea4f2ab24da94aaf5c2941';
// The merchant-presented example of the EMVCo MPM specification v1.1 (with its CRC A13A).
const EMVCO_EXAMPLE =
  '00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A';

describe('Electrum QR text', () => {
  it('reproduces the spec example for both minimal schemes', () => {
    for (const scheme of ['ELECTRUM_MERCHANT_MINIMAL', 'PSEUDO_EMVCO_MERCHANT'] as const) {
      expect(buildQrCode({ scheme, providerId: 'za.co.elec', tranId: TRAN_ID })).toBe(SPEC_EXAMPLE);
    }
  });

  it('parses the spec example with its merchant account template', () => {
    expect(parseTlv(SPEC_EXAMPLE)).toEqual([
      { tag: '00', value: '01' },
      {
        tag: '26',
        value: `0010za.co.elec0132${TRAN_ID}`,
        children: [
          { tag: '00', value: 'za.co.elec' },
          { tag: '01', value: TRAN_ID },
        ],
      },
    ]);
    expect(tranIdFromQr(SPEC_EXAMPLE)).toBe(TRAN_ID);
    expect(tranIdFromQr(SPEC_EXAMPLE, 'za.co.elec')).toBe(TRAN_ID);
    expect(tranIdFromQr(SPEC_EXAMPLE, 'other.provider')).toBeNull();
  });

  it('computes CRC-16/CCITT-FALSE as EMVCo does', () => {
    expect(crcHex('123456789')).toBe('29B1');
    expect(verifyCrc(EMVCO_EXAMPLE)).toBe(true);
    expect(verifyCrc(EMVCO_EXAMPLE.replace('BEIJING', 'BEIJINH'))).toBe(false);
    expect(verifyCrc(SPEC_EXAMPLE)).toBe(false);
  });

  it('parses the EMVCo example, counting lengths in characters and nesting templates', () => {
    const fields = parseTlv(EMVCO_EXAMPLE);
    expect(fields.map((f) => f.tag)).toEqual(['00', '01', '29', '31', '52', '58', '59', '60', '64', '54', '53', '55', '62', '91', '63']);
    expect(fields.find((f) => f.tag === '64')?.children).toEqual([
      { tag: '00', value: 'ZH' },
      { tag: '01', value: '最佳运输' },
      { tag: '02', value: '北京' },
    ]);
    // Its first merchant account template (29) holds sub-tags 00 and 05 only: no tranId.
    expect(fields.find((f) => f.tag === '29')?.children?.map((c) => c.tag)).toEqual(['00', '05']);
    expect(tranIdFromQr(EMVCO_EXAMPLE)).toBeNull();
  });

  it('builds a conformant EMVCo payload that round-trips', () => {
    const text = buildQrCode({
      scheme: 'EMVCO_MERCHANT',
      providerId: 'nz.tenderbridge',
      tranId: 'T8xk2P',
      amountMinor: 1234,
      currencyNumeric: '554',
      merchantName: 'Kiwi Grocers Ponsonby Road Ltd',
      merchantCity: 'Auckland Central City',
      countryCode: 'NZ',
    });
    expect(text.startsWith('000201010212')).toBe(true);
    expect(verifyCrc(text)).toBe(true);
    expect(parseTlv(text).map((f) => [f.tag, f.value])).toEqual([
      ['00', '01'],
      ['01', '12'],
      ['26', '0015nz.tenderbridge0106T8xk2P'],
      ['52', '5999'],
      ['53', '554'],
      ['54', '12.34'],
      ['58', 'NZ'],
      ['59', 'Kiwi Grocers Ponsonby Roa'],
      ['60', 'Auckland Centra'],
      ['63', text.slice(-4)],
    ]);
    expect(tranIdFromQr(text)).toBe('T8xk2P');
  });

  it('leaves the amount out when it is not known and honours the MCC and template tag', () => {
    const text = buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'p', tranId: 't', currencyNumeric: '392', merchantName: 'Shop', merchantCity: 'Tokyo', countryCode: 'JP', merchantCategoryCode: '5411', accountTag: '30' });
    const tags = parseTlv(text).map((f) => f.tag);
    expect(tags).toEqual(['00', '01', '30', '52', '53', '58', '59', '60', '63']);
    expect(tranIdFromQr(text)).toBe('t');
    expect(buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'p', tranId: 't', amountMinor: 500, currencyNumeric: '392', merchantName: 'S', merchantCity: 'T', countryCode: 'JP' })).toContain('5403500');
  });

  it('refuses values that do not fit a two-digit length and incomplete EMVCo input', () => {
    expect(() => encodeTlv('26', 'x'.repeat(100))).toThrow(TlvError);
    expect(encodeTlv('26', 'x'.repeat(99))).toHaveLength(103);
    // providerId + tranId together over 99 characters overflow the template.
    expect(() => buildQrCode({ scheme: 'ELECTRUM_MERCHANT_MINIMAL', providerId: 'za.co.elec', tranId: 'x'.repeat(90) })).toThrow(/at most 99/);
    expect(() => buildQrCode({ scheme: 'ELECTRUM_MERCHANT_MINIMAL', providerId: 'p', tranId: 't', accountTag: '52' })).toThrow(TlvError);
    expect(() => buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'p', tranId: 't', merchantName: 'S', merchantCity: 'C', countryCode: 'NZ' })).toThrow(/currencyNumeric/);
    expect(() => buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'p', tranId: 't', currencyNumeric: '554', merchantName: 'S', merchantCity: 'C', countryCode: 'nz' })).toThrow(/country/);
    expect(() => buildQrCode({ scheme: 'EMVCO_MERCHANT', providerId: 'p', tranId: 't', currencyNumeric: '554', merchantName: 'S', merchantCity: 'C', countryCode: 'NZ', merchantCategoryCode: '59' })).toThrow(/category/);
  });

  it('rejects malformed TLV and finds no tranId in it', () => {
    expect(() => parseTlv('0002')).toThrow(TlvError);
    expect(() => parseTlv('000201260500')).toThrow(/only/);
    expect(() => parseTlv('AB0201')).toThrow(/bad tag/);
    expect(tranIdFromQr('not a qr code')).toBeNull();
    expect(tranIdFromQr('000201')).toBeNull();
    expect(tranIdFromQr('0002012608000201xx')).toBeNull();
  });
});
