import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  createQrCodeRequestSchema,
  createQrCodeResponseSchema,
  errorDetailSchema,
  paymentConfirmationSchema,
  paymentRequestSchema,
  paymentResponseSchema,
  paymentReversalSchema,
  scanNotificationSchema,
} from '../../src/electrum/schemas.js';
import { formatErrorFromZod } from '../../src/electrum/serialize.js';
import { validateElectrum } from '../support/swagger.js';
import * as ex from './examples.js';

const cases: Array<[string, z.ZodType, () => unknown]> = [
  ['CreateQrCodeRequest', createQrCodeRequestSchema, ex.createQrCodeRequest],
  ['CreateQrCodeResponse', createQrCodeResponseSchema, ex.createQrCodeResponse],
  ['ScanNotification', scanNotificationSchema, ex.scanNotification],
  ['PaymentRequest', paymentRequestSchema, ex.paymentRequest],
  ['PaymentResponse', paymentResponseSchema, ex.paymentResponse],
  ['PaymentConfirmation', paymentConfirmationSchema, ex.paymentConfirmation],
  ['PaymentReversal', paymentReversalSchema, ex.paymentReversal],
];

/** The error message formatErrorFromZod gives for `body`, asserting the parse failed. */
function rejection(schema: z.ZodType, body: unknown): { errorMessage: string; field: unknown } {
  const parsed = schema.safeParse(body);
  expect(parsed.success).toBe(false);
  const detail = formatErrorFromZod((parsed as { error: z.ZodError }).error);
  return { errorMessage: detail.errorMessage, field: detail.detailMessage?.field };
}

describe('Electrum schemas', () => {
  describe.each(cases)('%s', (name, schema, example) => {
    it('accepts a complete example that the published spec also accepts', () => {
      const body = example();
      expect(validateElectrum(name, body)).toEqual([]);
      expect(schema.parse(body)).toEqual(body);
    });

    it('refuses a body without its id, as the spec does', () => {
      const { id: _id, ...body } = example() as Record<string, unknown>;
      expect(validateElectrum(name, body)).not.toEqual([]);
      expect(rejection(schema, body)).toEqual({ errorMessage: 'Missing id', field: 'id' });
    });

    it('ignores unknown properties and treats nulls as absent', () => {
      const body = { ...(example() as Record<string, unknown>), futureField: { x: 1 }, rrn: null };
      const parsed = schema.parse(body) as Record<string, unknown>;
      expect(parsed).not.toHaveProperty('futureField');
      expect(parsed).not.toHaveProperty('rrn');
    });
  });

  it('names the nested path of a missing or over-long field', () => {
    const noTerminal = ex.paymentRequest() as unknown as { originator: Record<string, unknown> };
    delete noTerminal.originator.terminalId;
    noTerminal.originator = { ...noTerminal.originator };
    expect(validateElectrum('PaymentRequest', noTerminal)).not.toEqual([]);
    expect(rejection(paymentRequestSchema, noTerminal)).toEqual({ errorMessage: 'Missing originator.terminalId', field: 'originator.terminalId' });

    const longName = ex.paymentRequest();
    longName.originator = { ...longName.originator, merchant: { ...longName.originator.merchant, merchantName: { ...longName.originator.merchant.merchantName, name: 'x'.repeat(24) } } };
    expect(validateElectrum('PaymentRequest', longName)).not.toEqual([]);
    expect(rejection(paymentRequestSchema, longName).field).toBe('originator.merchant.merchantName.name');

    const shortTerminal = { ...ex.paymentRequest(), originator: { ...ex.originator, terminalId: 'LANE7' } };
    expect(validateElectrum('PaymentRequest', shortTerminal)).not.toEqual([]);
    expect(rejection(paymentRequestSchema, shortTerminal).errorMessage).toBe('Invalid originator.terminalId');

    const badTpi = { ...ex.paymentConfirmation(), thirdPartyIdentifiers: [{ institutionId: 'x' }] };
    expect(rejection(paymentConfirmationSchema, badTpi).field).toBe('thirdPartyIdentifiers[0].transactionIdentifier');
  });

  it('treats a null required field as missing and strips nulls at any depth', () => {
    expect(rejection(paymentRequestSchema, { ...ex.paymentRequest(), tranId: null }).errorMessage).toBe('Missing tranId');
    const body = { ...ex.paymentRequest(), originator: { ...ex.originator, operatorId: null }, amounts: { requestAmount: { ...ex.nzd(5), ledgerIndicator: null }, feeAmount: null } };
    const parsed = paymentRequestSchema.parse(body);
    expect(parsed.originator).not.toHaveProperty('operatorId');
    expect(parsed.amounts).toEqual({ requestAmount: ex.nzd(5) });
  });

  it('requires integer amounts in safe range and three-digit currencies', () => {
    const withAmount = (amount: unknown, currency: unknown = '554') => ({ ...ex.paymentRequest(), amounts: { requestAmount: { amount, currency } } });
    expect(paymentRequestSchema.safeParse(withAmount(12.5)).success).toBe(false);
    expect(paymentRequestSchema.safeParse(withAmount('1234')).success).toBe(false);
    expect(paymentRequestSchema.safeParse(withAmount(2 ** 53)).success).toBe(false);
    expect(paymentRequestSchema.safeParse(withAmount(0)).success).toBe(true);
    expect(rejection(paymentRequestSchema, withAmount(1, 'NZD')).field).toBe('amounts.requestAmount.currency');
    expect(rejection(paymentRequestSchema, withAmount(1, '5541')).field).toBe('amounts.requestAmount.currency');
  });

  it('accepts RFC 3339 times with offsets and refuses others', () => {
    for (const time of ['2026-11-21T22:37:45Z', '2026-11-21T22:37:45.854+13:00', '2026-11-21T09:37:45.123456-05:30']) {
      expect(scanNotificationSchema.safeParse({ ...ex.scanNotification(), time }).success, time).toBe(true);
      expect(validateElectrum('ScanNotification', { ...ex.scanNotification(), time }), time).toEqual([]);
    }
    for (const time of ['2026-11-21 22:37', '2026-11-21T22:37:45', 'yesterday', '2026-13-01T00:00:00Z']) {
      expect(scanNotificationSchema.safeParse({ ...ex.scanNotification(), time }).success, time).toBe(false);
    }
  });

  it('mirrors the unanchored patterns of the spec and checks enums', () => {
    const merchant = (merchantType: string) => ({ ...ex.paymentRequest(), originator: { ...ex.originator, merchant: { ...ex.originator.merchant, merchantType } } });
    // `[0-9]{4}` is unanchored in JSON Schema: five digits still contain four.
    expect(validateElectrum('PaymentRequest', merchant('54111'))).toEqual([]);
    expect(paymentRequestSchema.safeParse(merchant('54111')).success).toBe(true);
    expect(validateElectrum('PaymentRequest', merchant('541'))).not.toEqual([]);
    expect(paymentRequestSchema.safeParse(merchant('541')).success).toBe(false);
    expect(paymentReversalSchema.safeParse({ ...ex.paymentReversal(), reversalReason: 'OOPS' }).success).toBe(false);
    expect(paymentRequestSchema.safeParse({ ...ex.paymentRequest(), tranType: 'PURCHASE' }).success).toBe(false);
  });

  it('validates QrProperties.expiryDate as an RFC 3339 string (errata)', () => {
    const body = ex.createQrCodeRequest();
    expect(validateElectrum('CreateQrCodeRequest', { ...body, qrProperties: { ...ex.qrProperties, expiryDate: { year: 2026 } } })).not.toEqual([]);
    expect(createQrCodeRequestSchema.safeParse({ ...body, qrProperties: { ...ex.qrProperties, expiryDate: { year: 2026 } } }).success).toBe(false);
    expect(createQrCodeRequestSchema.safeParse({ ...body, qrProperties: { scheme: 'EMVCO_MERCHANT' } }).success).toBe(true);
  });

  it('limits ErrorDetail ids to 20 characters and wants detailMessage as an object', () => {
    const detail = { id: 'abcdefghijklmnopqrst', errorType: 'GENERAL_ERROR', errorMessage: 'Oops', detailMessage: { reason: 'x' } };
    expect(validateElectrum('ErrorDetail', detail)).toEqual([]);
    expect(errorDetailSchema.parse(detail)).toEqual(detail);
    const uuid = { ...detail, id: '0f4b6a8e-2a3c-4d5e-8f90-0a1b2c3d4e5f' };
    expect(validateElectrum('ErrorDetail', uuid)).not.toEqual([]);
    expect(errorDetailSchema.safeParse(uuid).success).toBe(false);
    expect(validateElectrum('ErrorDetail', { ...detail, detailMessage: 'text' })).not.toEqual([]);
    expect(errorDetailSchema.safeParse({ ...detail, detailMessage: 'text' }).success).toBe(false);
  });
});
