import { isOpen, PAID_STATES } from '../payments/state-machine.js';
import type { Payment } from '../payments/types.js';
import type { ElectrumClient } from '../shared/config/load.js';
import { claimMessage, partnerFacingId, posSender, within, type ElectrumDeps } from './context.js';
import { ElectrumError } from './errors.js';
import { OWED_CONFIRMATION } from './provider.js';
import type { ElectrumPaymentRow } from './repository.js';
import type { LedgerAmount, PaymentConfirmation, PaymentReversal } from './schemas.js';
import { toWire } from './serialize.js';
import { alphaToNumeric } from './currency.js';
import type { Repos } from '../storage/port.js';

/** A stored advice answer replayed for a repeated advice id (store-and-forward retries). */
export type AdviceAnswer = { status: number; body: unknown };

async function findPayment(deps: ElectrumDeps, caller: ElectrumClient, requestId: string): Promise<{ ep: ElectrumPaymentRow; payment: Payment }> {
  // Only the caller's own pays are looked at: another client's payment (whatever its id) is as unknown as a missing one.
  const ep = await deps.repo.payment(caller.id, requestId);
  if (!ep || ep.clientId !== caller.id) throw new ElectrumError(404, 'UNABLE_TO_LOCATE_RECORD', 'Unknown payment request', { originalId: requestId, detailMessage: `no payment request with id "${requestId}"` });
  return { ep, payment: (await deps.payments.get(ep.paymentId)) as Payment };
}

async function replayed(deps: ElectrumDeps, advice: { id: string }, kind: string, caller: ElectrumClient, body: unknown, relatedId: string): Promise<AdviceAnswer | null> {
  const sender = posSender(caller.id);
  if (!(await deps.repo.message(sender, advice.id))) return null;
  const claim = await claimMessage(deps, { id: advice.id, kind, sender, body, relatedId }, true);
  if (claim.replay === null) return null;
  return { status: claim.replay.responseStatus as number, body: claim.replay.responseBody ? (JSON.parse(claim.replay.responseBody) as unknown) : undefined };
}

/**
 * The final amount an advice states (swagger: an advice's `amounts.approvedAmount` is the
 * transaction's final amount), checked against what was approved; null when it states none.
 */
function finalAmount(p: Payment, amount: LedgerAmount | undefined, originalId: string): number | null {
  if (amount === undefined) return null;
  const invalid = (detailMessage: string) => new ElectrumError(400, 'INVALID_AMOUNT', 'Invalid final amount', { originalId, detailMessage });
  if (amount.currency !== alphaToNumeric(p.currency)) throw invalid(`amounts.approvedAmount.currency "${amount.currency}" is not the payment's currency`);
  if (!Number.isSafeInteger(amount.amount) || amount.amount < 0) throw invalid('amounts.approvedAmount.amount must be a non-negative integer number of minor units');
  const approved = p.approvedMinor ?? 0;
  if (amount.amount > approved) throw invalid(`the final amount ${amount.amount} is more than the ${approved} approved (stand-in is not supported)`);
  return amount.amount;
}

/**
 * confirmPayment: recorded and answered 202 at once. The confirmation's final amount is what
 * the customer pays: for an Electrum payment the confirmation (with that amount) is owed to the
 * partner; less than approved, the difference is given back (as the confirmation itself for a
 * partner, as a PartPay refund). A reversed payment cannot be confirmed.
 */
export async function confirmPayment(deps: ElectrumDeps, caller: ElectrumClient, c: PaymentConfirmation): Promise<AdviceAnswer> {
  const again = await replayed(deps, c, 'confirmPayment', caller, c, c.requestId);
  if (again) return again;
  const { ep, payment } = await findPayment(deps, caller, c.requestId);
  if (ep.advice === 'reversed') throw new ElectrumError(400, 'GENERAL_ERROR', 'Payment was reversed', { originalId: c.requestId, detailMessage: 'a reversed payment cannot be confirmed' });
  if (!PAID_STATES.includes(payment.state)) throw new ElectrumError(400, 'GENERAL_ERROR', 'Payment was not approved', { originalId: c.requestId, detailMessage: `the payment is ${payment.state}; only an approved payment can be confirmed` });
  const final = finalAmount(payment, c.amounts?.approvedAmount, c.requestId);
  if (final === 0) throw new ElectrumError(400, 'INVALID_AMOUNT', 'Invalid final amount', { originalId: c.requestId, detailMessage: 'a confirmation of a final amount of 0 is a reversal: send reversePayment' });
  const body = toWire(c);
  const actor = `pos:${caller.id}`;
  await deps.store.tx(async (r) => {
    const d = within(deps, r);
    await claimMessage(d, { id: c.id, kind: 'confirmPayment', sender: posSender(caller.id), body: c, relatedId: c.requestId }, true);
    const p = (await r.payments.getForUpdate(payment.id)) as Payment;
    if (await firstAdvice(d, ep)) {
      // The id the partner hears the confirmation by (the POS's, unless we already sent a partner that id).
      const key = p.provider === 'electrum' ? await partnerFacingId(d, c.id, 'confirmPayment', p.id) : c.id;
      await r.electrum.setAdvice(ep.paymentId, 'confirmed', key);
      await r.payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'advice', actor, detail: { advice: 'confirmation', adviceId: c.id, ...(key === c.id ? {} : { partnerAdviceId: key }), finalMinor: final } });
      const less = final === null ? 0 : (p.approvedMinor ?? p.amountMinor) - p.refundedMinor - final;
      if (p.provider === 'electrum') {
        // For less than approved, the confirmation itself carries the difference back: it is the refund's delivery.
        if (less > 0) await deps.core.refunds.record(r, p, { amountMinor: less, reason: 'confirmed for less', actor, now: false, key, claimed: true });
        else await r.outbox.enqueue(OWED_CONFIRMATION, p.id, { requestId: ep.partnerRequestId, adviceId: key }, deps.clock());
      } else if (less > 0) {
        await deps.core.refunds.record(r, p, { amountMinor: less, reason: 'confirmed for less', actor, now: false });
      }
    }
    await r.electrum.answerMessage(posSender(caller.id), c.id, 202, body);
  });
  deps.onOutbox();
  return { status: 202, body };
}

/**
 * reversePayment: the sale did not complete (or completed for less). Answered 202 at once.
 * Without a final amount it voids the payment: an Electrum payment is reversed here and the
 * reversal owed to its partner (if it was forwarded); a PartPay payment is cancelled (open) or
 * refunded in full (paid). With a final amount, only the difference is given back. A confirmed
 * payment cannot be reversed; an unknown one answers 404 (nothing to reverse).
 */
export async function reversePayment(deps: ElectrumDeps, caller: ElectrumClient, r: PaymentReversal): Promise<AdviceAnswer> {
  const again = await replayed(deps, r, 'reversePayment', caller, r, r.requestId);
  if (again) return again;
  const { ep, payment } = await findPayment(deps, caller, r.requestId);
  if (ep.advice === 'confirmed') throw new ElectrumError(400, 'ACCOUNT_ALREADY_SETTLED', 'Payment was confirmed', { originalId: r.requestId, detailMessage: 'a confirmed payment cannot be reversed' });
  const final = finalAmount(payment, r.amounts?.approvedAmount, r.requestId);
  const paid = PAID_STATES.includes(payment.state);
  if (final !== null && final > 0 && (!paid || final === (payment.approvedMinor ?? 0) - payment.refundedMinor)) {
    throw new ElectrumError(400, 'INVALID_AMOUNT', 'Invalid final amount', {
      originalId: r.requestId,
      detailMessage: paid ? 'the final amount equals what was approved: this reversal would reverse nothing' : `the payment is ${payment.state}: only an approved payment can be reversed to a final amount`,
    });
  }
  const body = toWire(r);
  const actor = `pos:${caller.id}`;
  await deps.store.tx(async (tx) => {
    const d = within(deps, tx);
    await claimMessage(d, { id: r.id, kind: 'reversePayment', sender: posSender(caller.id), body: r, relatedId: r.requestId }, true);
    const p = (await d.payments.getForUpdate(payment.id)) as Payment;
    if (await firstAdvice(d, ep)) {
      // The id the partner hears the reversal by (the POS's, unless we already sent a partner that id).
      const key = p.provider === 'electrum' ? await partnerFacingId(d, r.id, 'reversePayment', p.id) : r.id;
      await d.repo.setAdvice(ep.paymentId, 'reversed', key);
      await reverse(d, tx, p, r, key, final, actor);
    }
    await d.repo.answerMessage(posSender(caller.id), r.id, 202, body);
  });
  // A pay still waiting for its scan ends now.
  deps.waiters.wake(ep.tranId, 'cancelled');
  deps.onOutbox();
  return { status: 202, body };
}

/** Whether the payment has no advice yet (read inside the advice's transaction, so a racing advice sees the first one's). */
async function firstAdvice(deps: ElectrumDeps, ep: ElectrumPaymentRow): Promise<boolean> {
  return (await deps.repo.paymentByPaymentId(ep.paymentId))?.advice === null;
}

/** The money side of a first reversal advice, inside its transaction `tx` (`deps` bound to it); `key` is the id the partner hears it by. */
async function reverse(deps: ElectrumDeps, tx: Repos, p: Payment, r: PaymentReversal, key: string, final: number | null, actor: string): Promise<void> {
  const ctx = { actor, kind: 'advice', detail: { advice: 'reversal', adviceId: r.id, ...(key === r.id ? {} : { partnerAdviceId: key }), reason: r.reversalReason, finalMinor: final }, resolvedBy: 'reversal', upstream: { key, reason: r.reversalReason } };
  const paid = PAID_STATES.includes(p.state);
  if (paid && final !== null && final > 0) {
    // To a final amount: give back the difference (an Electrum partner hears it as this reversal, with its id).
    const amountMinor = (p.approvedMinor ?? p.amountMinor) - p.refundedMinor - final;
    await deps.core.refunds.record(tx, p, { amountMinor, reason: r.reversalReason, actor, now: false, ...(p.provider === 'electrum' ? { key, claimed: true } : {}) });
    return;
  }
  if (p.provider === 'electrum') {
    // A void: the partner is owed the reversal (with the POS's advice id) if the pay was forwarded.
    // One that already failed with an unknown outcome owes its TIMEOUT reversal already: never a second.
    await deps.core.applier.applyIn(tx, p.id, { type: 'reversed' }, ctx);
    return;
  }
  if (isOpen(p.state)) {
    await deps.core.applier.applyIn(tx, p.id, { type: 'cancel_requested' }, ctx);
  } else if (paid) {
    await deps.core.refunds.record(tx, p, { reason: r.reversalReason, actor, now: false });
  } else {
    await deps.payments.journal({ paymentId: p.id, at: deps.clock(), kind: 'advice', actor, detail: { ...ctx.detail, note: `nothing to reverse: ${p.state}` } });
  }
}
