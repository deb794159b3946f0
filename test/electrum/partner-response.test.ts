import { describe, expect, it } from 'vitest';
import { checkPartnerResponse } from '../../src/electrum/partner-response.js';
import * as ex from './examples.js';

// A 2xx from a partner counts as an approval only when it answers the request that was sent.
describe("checking a partner's PaymentResponse against the request", () => {
  const request = { ...ex.paymentRequest(1000), id: '7d4c1f0e-3b2a-4c5d-8e9f-0a1b2c3d4e5f', tranId: 'tran-1' };
  const response = (over: Record<string, unknown> = {}) => ({ ...request, partner: ex.partner, amounts: { requestAmount: ex.nzd(1000), approvedAmount: ex.nzd(1000) }, ...over }) as never;

  it('counts the approved amount, the whole request when the partner states none', () => {
    expect(checkPartnerResponse(request, response(), '554')).toEqual({ ok: true, approvedMinor: 1000 });
    expect(checkPartnerResponse(request, response({ amounts: { requestAmount: ex.nzd(1000) } }), '554')).toEqual({ ok: true, approvedMinor: 1000 });
  });

  it('records a partial approval as partial', () => {
    expect(checkPartnerResponse(request, response({ amounts: { requestAmount: ex.nzd(1000), approvedAmount: ex.nzd(400) } }), '554')).toEqual({ ok: true, approvedMinor: 400 });
  });

  it.each([
    ['another message id', { id: '00000000-0000-4000-8000-000000000000' }, /id/],
    ['another tranId', { tranId: 'tran-2' }, /tranId/],
    ['more than requested', { amounts: { approvedAmount: ex.nzd(1001) } }, /more than the 1000 requested/],
    ['another currency', { amounts: { approvedAmount: { amount: 1000, currency: '036' } } }, /currency/],
    ['nothing approved', { amounts: { approvedAmount: ex.nzd(0) } }, /positive/],
  ])('refuses an answer with %s (the caller reverses it as an unknown outcome)', (_what, over, problem) => {
    const checked = checkPartnerResponse(request, response(over), '554');
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problem).toMatch(problem);
  });
});
