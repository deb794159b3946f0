import { describe, expect, it } from 'vitest';
import { buildSignedCallbackBody, signCallbackBody, verifyCallbackBody } from '../../src/partpay/signature.js';

// PartPay's published example (docs.partpay.co.nz /terminal-api/callback).
const KEY = 'iDt3PoeoSHu3r/mTbzkaHg';
const UNSIGNED = 'orderId=123e4567-e89b-12d3-a456-426655440000&orderNumber=181211-303902&orderStatus=approved&gatewayReference=ab3902094330&merchantReference=87654321';
const SIGNATURE = '016df815e41f06afd4b35cae1ad1764a147230192ab125d5d7b0c3a65c3f3b42';
const BODY = `${UNSIGNED}&signature=${SIGNATURE}`;

describe('PartPay callback signature', () => {
  it('reproduces the published example signature', () => {
    expect(signCallbackBody(UNSIGNED, KEY)).toBe(SIGNATURE);
  });

  it('verifies the published example body', () => {
    expect(verifyCallbackBody(BODY, [KEY])).toEqual({ ok: true, keyIndex: 0, unsignedBody: UNSIGNED });
  });

  it('uses the key as literal text, not base64-decoded', () => {
    const decodedKey = Buffer.from(KEY, 'base64').toString('latin1');
    expect(verifyCallbackBody(BODY, [decodedKey]).ok).toBe(false);
  });

  it('rejects a tampered body', () => {
    expect(verifyCallbackBody(BODY.replace('approved', 'declined'), [KEY])).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyCallbackBody(BODY.replace('87654321', '87654322'), [KEY])).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects re-ordered fields even though they parse the same', () => {
    const reordered = `orderNumber=181211-303902&orderId=123e4567-e89b-12d3-a456-426655440000&orderStatus=approved&gatewayReference=ab3902094330&merchantReference=87654321&signature=${SIGNATURE}`;
    expect(verifyCallbackBody(reordered, [KEY]).ok).toBe(false);
  });

  it('rejects a missing or malformed signature', () => {
    expect(verifyCallbackBody(UNSIGNED, [KEY])).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifyCallbackBody(`${UNSIGNED}&signature=xyz`, [KEY])).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verifyCallbackBody(`${UNSIGNED}&signature=`, [KEY])).toEqual({ ok: false, reason: 'malformed_signature' });
  });

  it('accepts an upper-case hex signature (same digest)', () => {
    expect(verifyCallbackBody(`${UNSIGNED}&signature=${SIGNATURE.toUpperCase()}`, [KEY]).ok).toBe(true);
  });

  it('accepts either key during a rotation and reports which one matched', () => {
    const newKey = 'n3wK3y-after-rotation';
    const signedWithNew = buildSignedCallbackBody([['orderId', 'x'], ['orderStatus', 'approved']], newKey);
    expect(verifyCallbackBody(signedWithNew, [KEY, newKey])).toMatchObject({ ok: true, keyIndex: 1 });
    expect(verifyCallbackBody(BODY, [KEY, newKey])).toMatchObject({ ok: true, keyIndex: 0 });
    expect(verifyCallbackBody(signedWithNew, [KEY]).ok).toBe(false);
  });

  it('builds bodies with the fields in the given order and the signature last', () => {
    const body = buildSignedCallbackBody(
      [
        ['orderId', '123e4567-e89b-12d3-a456-426655440000'],
        ['orderNumber', '181211-303902'],
        ['orderStatus', 'approved'],
        ['gatewayReference', 'ab3902094330'],
        ['merchantReference', '87654321'],
      ],
      KEY,
    );
    expect(body).toBe(BODY);
  });
});
