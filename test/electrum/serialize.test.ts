import { describe, expect, it } from 'vitest';
import { paymentRequestSchema } from '../../src/electrum/schemas.js';
import { electrumTime, errorDetail, formatErrorFromZod, toWire, truncateText } from '../../src/electrum/serialize.js';
import { validateElectrum } from '../support/swagger.js';
import * as ex from './examples.js';

describe('Electrum serialisation', () => {
  it('drops null and undefined at any depth', () => {
    expect(toWire({ a: 1, b: null, c: { d: undefined, e: [1, null, { f: null, g: 'x' }] }, h: false, i: 0, j: '' })).toEqual({ a: 1, c: { e: [1, { g: 'x' }] }, h: false, i: 0, j: '' });
    expect(JSON.stringify(toWire({ partner: undefined, tranId: 't' }))).toBe('{"tranId":"t"}');
  });

  it('writes times as RFC 3339 UTC with milliseconds', () => {
    expect(electrumTime(new Date(Date.UTC(2026, 10, 21, 22, 37, 45, 854)))).toBe('2026-11-21T22:37:45.854Z');
    expect(electrumTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006Z');
    expect(electrumTime()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('builds spec-valid ErrorDetails with short random ids and cut messages', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const detail = errorDetail({ errorType: 'NO_SCAN_RECEIVED', errorMessage: 'No scan was received for this QR code before the timeout', tranId: ex.tranId });
      expect(validateElectrum('ErrorDetail', detail)).toEqual([]);
      expect(detail.id.length).toBeLessThanOrEqual(20);
      expect(detail.errorMessage.length).toBeLessThanOrEqual(40);
      ids.add(detail.id);
    }
    expect(ids.size).toBe(50);
    const full = errorDetail({ errorType: 'DECLINED_BY_PARTNER', errorMessage: 'Declined', detailMessage: 'customer said no', originalId: 'o', providerErrorCode: '05', providerErrorMsg: 'Do not honour', providerRef: 'r', tranId: 't' });
    expect(validateElectrum('ErrorDetail', full)).toEqual([]);
    expect(full.detailMessage).toEqual({ message: 'customer said no' });
  });

  it('never splits a character when cutting a message', () => {
    expect(truncateText('short', 40)).toBe('short');
    const cut = truncateText(`${'a'.repeat(38)}😀😀`, 40);
    expect(cut).toBe(`${'a'.repeat(38)}…`);
    expect(cut.length).toBeLessThanOrEqual(40);
  });

  it('turns a zod failure into a FORMAT_ERROR naming the field', () => {
    const body = { ...ex.paymentRequest(), originator: { ...ex.originator, terminalId: 'T1' } };
    const parsed = paymentRequestSchema.safeParse(body);
    if (parsed.success) throw new Error('expected a failure');
    const detail = formatErrorFromZod(parsed.error, { originalId: body.id, tranId: body.tranId });
    expect(validateElectrum('ErrorDetail', detail)).toEqual([]);
    expect(detail).toMatchObject({ errorType: 'FORMAT_ERROR', errorMessage: 'Invalid originator.terminalId', originalId: body.id, tranId: body.tranId });
    expect(detail.detailMessage).toMatchObject({ field: 'originator.terminalId', issues: [{ path: 'originator.terminalId', code: 'too_small' }] });
  });

  it('keeps a very long field path within the message limit', () => {
    const parsed = paymentRequestSchema.safeParse({ ...ex.paymentRequest(), slipData: { messageLines: [{ text: 't', barcode: { data: 'd' } }] } });
    if (parsed.success) throw new Error('expected a failure');
    const detail = formatErrorFromZod(parsed.error);
    expect(detail.errorMessage.length).toBeLessThanOrEqual(40);
    expect(detail.detailMessage).toMatchObject({ field: 'slipData.messageLines[0].barcode.encoding' });
    expect(validateElectrum('ErrorDetail', detail)).toEqual([]);
  });
});
