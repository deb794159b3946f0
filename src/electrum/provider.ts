import type { OutboxItem } from '../outbox/repository.js';
import type { CancelAnswer, DeliveryResult, OwedCancel, OwedRefund, PaymentProvider, RefundAnswer } from '../payments/provider.js';
import type { Payment, Refund } from '../payments/types.js';
import type { ElectrumPartner } from '../shared/config/load.js';
import { ConflictError, UpstreamError } from '../shared/errors.js';
import { requireNumeric } from './currency.js';
import type { PartnerClient, PartnerResult } from './partner-client.js';
import type { Port } from '../storage/port.js';
import type { ElectrumPaymentRow, ElectrumRepository } from './repository.js';
import type { ScanWaiters } from './scan-waiters.js';
import type { PaymentConfirmation, PaymentRequest, PaymentReversal } from './schemas.js';
import { electrumTime } from './serialize.js';

/** The outbox kind of a confirmation owed to a partner (the only advice that is not a cancel or a refund). */
export const OWED_CONFIRMATION = 'electrum.confirmation';

export interface ElectrumProviderDeps {
  /** The Electrum rows, through the storage port (reads outside any transaction). */
  repos: Pick<Port<ElectrumRepository>, 'paymentByPaymentId'>;
  partners: readonly ElectrumPartner[];
  partnerClient: (partner: ElectrumPartner) => Pick<PartnerClient, 'confirm' | 'reverse'>;
  waiters: Pick<ScanWaiters, 'isWaiting'>;
  /** The partner's answer time for a pay (the spec's 60 s unless agreed otherwise). */
  partnerTimeoutSeconds: number;
  clock: () => number;
}

type Reason = PaymentReversal['reversalReason'];
const REASONS: readonly Reason[] = ['TIMEOUT', 'CANCELLED', 'RESPONSE_NOT_FINAL'];

/**
 * Electrum partners behind the provider port. The partner knows a payment by its
 * `partnerRequestId` (the POS's request id unless another payment had it); a cancel is a reversal, a refund is a reversal (or, after a confirmation for
 * less, that confirmation) carrying the *final* amount, as the spec defines advice amounts.
 * Partners have no status inquiry and no refund after a confirmation. Any advice waits while
 * the forwarded pay is still in flight, so the partner never hears of a reversal before the
 * payment it reverses.
 */
export function createElectrumProvider(deps: ElectrumProviderDeps): PaymentProvider {
  // The time the partner was given to decide, and a little for our own call to end.
  const flightMs = (deps.partnerTimeoutSeconds + 2) * 1000;

  const forwardOf = (p: Payment): Promise<ElectrumPaymentRow | null> => deps.repos.paymentByPaymentId(p.id);
  /** Until when the forward may still be answered (null: not in flight). After that the call has ended, or the process that made it has. */
  const inFlightUntil = (ep: ElectrumPaymentRow): number | null => {
    if (ep.forwardedAt === null || ep.answeredAt !== null) return null;
    const until = ep.forwardedAt + flightMs;
    return deps.clock() < until ? until : null;
  };
  const partnerOf = (ep: ElectrumPaymentRow): ElectrumPartner => {
    const partner = deps.partners.find((x) => x.id === ep.partnerId);
    if (!partner) throw new Error(`partner ${ep.partnerId} of payment request ${ep.requestId} is no longer configured`);
    return partner;
  };
  /** What every advice about `ep` carries: ids, echoes of the pay, and the final amount when one is said. */
  const advice = (p: Payment, ep: ElectrumPaymentRow, id: string, finalMinor: number | null) => {
    const request = JSON.parse(ep.requestBody) as PaymentRequest;
    const partner = partnerOf(ep);
    const amounts = finalMinor === null ? request.amounts : { ...request.amounts, approvedAmount: { amount: finalMinor, currency: requireNumeric(p.currency) } };
    return {
      partner,
      message: {
        id,
        requestId: ep.partnerRequestId ?? ep.requestId,
        time: electrumTime(deps.clock()),
        thirdPartyIdentifiers: request.thirdPartyIdentifiers,
        amounts,
        partner: { id: partner.id, name: partner.name },
        tranId: request.tranId,
        ...(request.stan ? { stan: request.stan } : {}),
        ...(request.rrn ? { rrn: request.rrn } : {}),
      },
    };
  };
  const reasonOf = (reason: string | null): Reason => (REASONS as readonly string[]).includes(reason ?? '') ? (reason as Reason) : 'CANCELLED';
  const unknown = (what: string, result: PartnerResult<unknown>): UpstreamError =>
    new UpstreamError('upstream_unavailable', `the partner gave no final answer to the ${what} (${result.kind === 'unknown' ? result.reason : `HTTP ${result.status}`})`, { retryable: true });
  const refusal = (result: PartnerResult<unknown>): string => (result.kind === 'failed' ? `HTTP ${result.status}${result.error ? `: ${result.error.errorType} ${result.error.errorMessage}` : ''}` : 'no answer');
  /**
   * An advice is store-and-forward: delivered until a final answer. A partner that is busy or
   * down (429, 502, 503) has not answered it, however the spec reads those statuses for a pay;
   * asking again with the same advice id is safe.
   */
  const refused = (result: PartnerResult<unknown>): boolean => result.kind === 'failed' && ![429, 502, 503].includes(result.status);

  async function reverse(p: Payment, ep: ElectrumPaymentRow, id: string, reason: Reason, finalMinor: number | null): Promise<PartnerResult<unknown>> {
    const { partner, message } = advice(p, ep, id, finalMinor);
    return deps.partnerClient(partner).reverse({ ...message, reversalReason: reason } as PaymentReversal);
  }

  return {
    name: 'electrum',
    label: 'the Electrum partner',
    asksBeforeCancel: false,
    refundsAtOnce: false,
    attemptBoundMs: flightMs,

    // Partners have no status inquiry: the forward's answer (or our giving up on it) is all we learn.
    status: async () => null,

    async cancel(p: Payment, owed: OwedCancel): Promise<CancelAnswer> {
      const ep = await forwardOf(p);
      // Never forwarded: the partner holds nothing (the scan is refused, the held pay ended).
      if (!ep?.partnerId || ep.forwardedAt === null) return { kind: 'answered', outcome: 'cancelled', status: 'not forwarded' };
      const until = inFlightUntil(ep);
      if (until !== null) return { kind: 'wait', untilMs: until };
      const result = await reverse(p, ep, owed.key, reasonOf(owed.reason), null);
      if (result.kind === 'success') return { kind: 'answered', outcome: 'cancelled', status: `reversed (${result.status})` };
      if (refused(result)) return { kind: 'refused', message: refusal(result) };
      throw unknown('reversal', result);
    },

    async claimRefund(r, p: Payment, _refund: Refund, owed: OwedRefund): Promise<void> {
      const ep = await r.electrum.paymentByPaymentId(p.id);
      if (!ep?.partnerId) throw new ConflictError('not_refundable', `payment ${p.id} was never forwarded to an Electrum partner: there is nothing to refund`, { details: { paymentId: p.id } });
      if (ep.advice === 'confirmed') {
        throw new ConflictError(
          'not_refundable',
          `the Electrum QR Payment Service Interface has no refund: payment ${p.id} was confirmed by the POS, so partner ${ep.partnerId} can no longer reverse it; refund the customer through the partner (wallet provider) directly`,
          { details: { paymentId: p.id, partnerId: ep.partnerId, advice: 'confirmed' } },
        );
      }
      if (ep.advice === 'reversed') {
        throw new ConflictError('not_refundable', `payment ${p.id} was already reversed to partner ${ep.partnerId} (advice ${ep.adviceId ?? ''}); an Electrum payment takes one advice`, { details: { paymentId: p.id, advice: 'reversed' } });
      }
      // A refund of an approved payment is its reversal to the final amount: the one advice it gets.
      if (!(await r.electrum.setAdvice(ep.paymentId, 'reversed', owed.key))) throw new ConflictError('not_refundable', `payment ${p.id} already has an advice`);
    },

    async refund(p: Payment, refund: Refund, owed: OwedRefund): Promise<RefundAnswer> {
      const ep = await forwardOf(p);
      if (!ep?.partnerId) throw new Error(`cannot refund payment ${p.id}: it was never forwarded to a partner`);
      const until = inFlightUntil(ep);
      if (until !== null) return { kind: 'wait', untilMs: until };
      // Advice amounts are final amounts: what stays with the merchant once this refund is made.
      const finalMinor = (p.approvedMinor ?? p.amountMinor) - p.refundedMinor - refund.amountMinor;
      let result: PartnerResult<unknown>;
      if (ep.advice === 'confirmed') {
        const { partner, message } = advice(p, ep, owed.key, finalMinor);
        result = await deps.partnerClient(partner).confirm(message as PaymentConfirmation);
      } else {
        result = await reverse(p, ep, owed.key, reasonOf(owed.reason), finalMinor > 0 ? finalMinor : null);
      }
      if (result.kind === 'success') return { kind: 'succeeded', upstreamRefundId: owed.key };
      if (refused(result)) return { kind: 'declined', message: refusal(result) };
      throw unknown(ep.advice === 'confirmed' ? 'confirmation' : 'reversal', result);
    },

    async onDeadline(p: Payment) {
      const ep = await forwardOf(p);
      if (ep && deps.waiters.isWaiting(ep.tranId)) return 'leave'; // a live pay in this process settles it
      return p.state === 'created' || !ep?.partnerId ? 'expire' : 'outcome_unknown';
    },

    voidsOnCancel: (p) => p.upstreamOrderId !== null,

    async deliverOwn(item: OutboxItem, p: Payment): Promise<DeliveryResult> {
      if (item.kind !== OWED_CONFIRMATION) throw new Error(`unknown outbox kind ${item.kind}`);
      const ep = await forwardOf(p);
      if (!ep?.partnerId) throw new Error(`owed confirmation for payment ${p.id}: it was never forwarded`);
      const { partner, message } = advice(p, ep, String(item.payload['adviceId']), p.approvedMinor);
      const result = await deps.partnerClient(partner).confirm(message as PaymentConfirmation);
      if (result.kind === 'success') return 'done';
      if (refused(result)) throw new Error(`partner refused the confirmation: ${refusal(result)}`);
      return 'retry';
    },

    async describe(p: Payment) {
      const ep = await forwardOf(p);
      return ep ? { requestId: ep.requestId, partnerRequestId: ep.partnerRequestId, clientId: ep.clientId, tranId: ep.tranId, partnerId: ep.partnerId, advice: ep.advice } : null;
    },
  };
}
