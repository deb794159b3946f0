import type { PaymentRequest, PaymentResponse } from './schemas.js';

/** A partner's approval as we may count it, or why we may not. */
export type CheckedResponse = { ok: true; approvedMinor: number } | { ok: false; problem: string };

/**
 * Checks a partner's PaymentResponse against the request it answers: the same message id
 * and tranId, and an approved amount in the request's currency, positive and no more than
 * requested (absent: the whole requested amount). A 2xx that fails this may still have moved
 * money, so the caller treats it as an unknown outcome and reverses it.
 * @example checkPartnerResponse(request, response, '554') // { ok: true, approvedMinor: 1000 }
 */
export function checkPartnerResponse(request: PaymentRequest, response: PaymentResponse, currencyNumeric: string): CheckedResponse {
  if (response.id !== request.id) return { ok: false, problem: `id "${response.id}" is not the request's "${request.id}"` };
  if (response.tranId !== request.tranId) return { ok: false, problem: `tranId "${response.tranId}" is not the request's "${request.tranId}"` };
  const requested = request.amounts.requestAmount?.amount;
  if (requested === undefined) return { ok: false, problem: 'the request had no amount' };
  const approved = response.amounts?.approvedAmount;
  if (approved === undefined) return { ok: true, approvedMinor: requested };
  if (approved.currency !== currencyNumeric) return { ok: false, problem: `approvedAmount.currency "${approved.currency}" is not "${currencyNumeric}"` };
  if (!Number.isSafeInteger(approved.amount) || approved.amount <= 0) return { ok: false, problem: `approvedAmount.amount ${approved.amount} is not a positive amount` };
  if (approved.amount > requested) return { ok: false, problem: `approvedAmount ${approved.amount} is more than the ${requested} requested` };
  return { ok: true, approvedMinor: approved.amount };
}
