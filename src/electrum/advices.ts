import type { OutboxItem } from '../outbox/repository.js';
import { isOpen, PAID_STATES } from '../payments/state-machine.js';
import type { Payment } from '../payments/types.js';
import type { ElectrumClient } from '../shared/config/load.js';
import { claimMessage, type ElectrumDeps } from './context.js';
import { ElectrumError } from './errors.js';
import { oweReversal } from './pay-flow.js';
import type { ElectrumPaymentRow } from './repository.js';
import type { PaymentConfirmation, PaymentRequest, PaymentReversal } from './schemas.js';
import { electrumTime, toWire } from './serialize.js';

/** A stored advice answer replayed for a repeated advice id (store-and-forward retries). */
export type AdviceAnswer = { status: number; body: unknown };

function findPayment(deps: ElectrumDeps, caller: ElectrumClient, requestId: string): { ep: ElectrumPaymentRow; payment: Payment } {
  const ep = deps.repo.payment(requestId);
  // Another client's payment is as unknown as a missing one.
  if (!ep || ep.clientId !== caller.id) throw new ElectrumError(404, 'UNABLE_TO_LOCATE_RECORD', 'Unknown payment request', { originalId: requestId, detailMessage: `no payment request with id "${requestId}"` });
  return { ep, payment: deps.payments.get(ep.paymentId) as Payment };
}

function replayed(deps: ElectrumDeps, advice: { id: string }, kind: string, caller: ElectrumClient, body: unknown, relatedId: string): AdviceAnswer | null {
  const seen = deps.repo.message(advice.id);
  if (!seen) return null;
  const claim = claimMessage(deps, { id: advice.id, kind, sender: caller.id, body, relatedId }, true);
  if (claim.replay === null) return null;
  return { status: claim.replay.responseStatus as number, body: claim.replay.responseBody ? (JSON.parse(claim.replay.responseBody) as unknown) : undefined };
}

/**
 * confirmPayment: recorded and answered 202 at once; for an Electrum partner payment the
 * confirmation is owed to the partner from the outbox. A reversed payment cannot be confirmed.
 */
export function confirmPayment(deps: ElectrumDeps, caller: ElectrumClient, c: PaymentConfirmation): AdviceAnswer {
  const again = replayed(deps, c, 'confirmPayment', caller, c, c.requestId);
  if (again) return again;
  const { ep, payment } = findPayment(deps, caller, c.requestId);
  if (ep.advice === 'reversed') throw new ElectrumError(400, 'GENERAL_ERROR', 'Payment was reversed', { originalId: c.requestId, detailMessage: 'a reversed payment cannot be confirmed' });
  if (!PAID_STATES.includes(payment.state)) throw new ElectrumError(400, 'GENERAL_ERROR', 'Payment was not approved', { originalId: c.requestId, detailMessage: `the payment is ${payment.state}; only an approved payment can be confirmed` });
  const body = toWire(c);
  deps.group.transaction(() => {
    claimMessage(deps, { id: c.id, kind: 'confirmPayment', sender: caller.id, body: c, relatedId: c.requestId }, true);
    if (deps.repo.setAdvice(ep.requestId, 'confirmed', c.id)) {
      deps.payments.journal({ paymentId: payment.id, at: deps.clock(), kind: 'advice', actor: `pos:${caller.id}`, detail: { advice: 'confirmation', adviceId: c.id } });
      if (payment.provider === 'electrum') deps.outbox.enqueue('electrum.confirmation', payment.id, { requestId: ep.requestId, adviceId: c.id }, deps.clock());
    }
    deps.repo.answerMessage(c.id, 202, body);
  });
  deps.onOutbox();
  return { status: 202, body };
}

/**
 * reversePayment: the sale did not complete. Answered 202 at once. An Electrum payment is
 * reversed here and the reversal owed to the partner (if it was forwarded); a PartPay payment
 * is cancelled (still open) or refunded in full (paid) upstream. A confirmed payment cannot be
 * reversed; an unknown one answers 404 (nothing to reverse).
 */
export function reversePayment(deps: ElectrumDeps, caller: ElectrumClient, r: PaymentReversal): AdviceAnswer {
  const again = replayed(deps, r, 'reversePayment', caller, r, r.requestId);
  if (again) return again;
  const { ep, payment } = findPayment(deps, caller, r.requestId);
  if (ep.advice === 'confirmed') throw new ElectrumError(400, 'ACCOUNT_ALREADY_SETTLED', 'Payment was confirmed', { originalId: r.requestId, detailMessage: 'a confirmed payment cannot be reversed' });
  const body = toWire(r);
  const actor = `pos:${caller.id}`;
  deps.group.transaction(() => {
    claimMessage(deps, { id: r.id, kind: 'reversePayment', sender: caller.id, body: r, relatedId: r.requestId }, true);
    const first = deps.repo.setAdvice(ep.requestId, 'reversed', r.id);
    if (first) {
      const ctx = { actor, kind: 'advice', detail: { advice: 'reversal', adviceId: r.id, reason: r.reversalReason }, resolvedBy: 'reversal' };
      if (payment.provider === 'electrum') {
        deps.applier.apply(payment.id, { type: 'reversed' }, ctx);
        // Forwarded to a partner: the partner must hear of it (with the POS's own advice id).
        if (ep.partnerId) oweReversal(deps, ep.requestId, payment.id, r.reversalReason, r.id);
      } else if (isOpen(payment.state)) {
        deps.applier.apply(payment.id, { type: 'cancel_requested' }, ctx);
      } else if (PAID_STATES.includes(payment.state)) {
        deps.applier.apply(payment.id, { type: 'void_requested' }, ctx);
      } else {
        deps.payments.journal({ paymentId: payment.id, at: deps.clock(), kind: 'advice', actor, detail: { ...ctx.detail, note: `nothing to reverse: ${payment.state}` } });
      }
    }
    deps.repo.answerMessage(r.id, 202, body);
  });
  // A pay still waiting for its scan ends now.
  deps.waiters.wake(ep.tranId, 'cancelled');
  deps.onOutbox();
  return { status: 202, body };
}

/** Delivers an owed confirmation or reversal to the partner; 'retry' until a final answer. */
export async function deliverAdvice(deps: ElectrumDeps, item: OutboxItem): Promise<'done' | 'retry'> {
  const requestId = String(item.payload['requestId']);
  const ep = deps.repo.payment(requestId);
  if (!ep?.partnerId) throw new Error(`owed ${item.kind} for ${requestId}: no forwarded payment`);
  const partner = deps.settings.partners.find((p) => p.id === ep.partnerId);
  if (!partner) throw new Error(`owed ${item.kind} for ${requestId}: partner ${ep.partnerId} is no longer configured`);
  const request = JSON.parse(ep.requestBody) as PaymentRequest;
  const common = {
    id: String(item.payload['adviceId']),
    requestId,
    time: electrumTime(deps.clock()),
    thirdPartyIdentifiers: request.thirdPartyIdentifiers,
    amounts: request.amounts,
    partner: { id: partner.id, name: partner.name },
    tranId: request.tranId,
    ...(request.stan ? { stan: request.stan } : {}),
    ...(request.rrn ? { rrn: request.rrn } : {}),
  };
  const client = deps.partnerClient(partner);
  const result =
    item.kind === 'electrum.reversal'
      ? await client.reverse({ ...common, reversalReason: item.payload['reason'] as PaymentReversal['reversalReason'] })
      : await client.confirm(common);
  deps.payments.journal({ paymentId: ep.paymentId, at: deps.clock(), kind: 'advice_delivery', actor: `partner:${partner.id}`, detail: { advice: item.kind, adviceId: common.id, result: result.kind, status: result.status } });
  if (result.kind === 'success') return 'done';
  if (result.kind === 'failed' && result.status === 400) throw new Error(`partner refused the ${item.kind}: ${result.error?.errorMessage ?? 'no ErrorDetail'}`);
  return 'retry';
}
