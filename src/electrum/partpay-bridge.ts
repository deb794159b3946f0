import { isFinal, PAID_STATES } from '../payments/state-machine.js';
import type { Payment } from '../payments/types.js';
import type { Terminal } from '../registry/registry.js';
import type { ElectrumClient } from '../shared/config/load.js';
import { ConflictError } from '../shared/errors.js';
import { claimMessage, inTx, posSender, type ElectrumDeps } from './context.js';
import { errorDetail } from './error-detail.js';
import { ElectrumError } from './errors.js';
import type { PayAnswer } from './pay-flow.js';
import type { QrCodeRow } from './repository.js';
import type { PaymentRequest, PaymentResponse } from './schemas.js';
import { electrumTime, toWire } from './serialize.js';

/** How PartPay appears as the partner in Electrum answers. */
export const PARTPAY_INSTITUTION = { id: 'partpay', name: 'PartPay' } as const;

/**
 * pay for a QR code that is a PartPay order: wait (up to scanWaitSeconds) for PartPay's
 * outcome from its callback (or reconciliation); if the customer has not decided by then the
 * order is cancelled at PartPay and the POS hears NO_SCAN_RECEIVED.
 */
export async function payThroughPartPay(deps: ElectrumDeps, caller: ElectrumClient, req: PaymentRequest, qr: QrCodeRow, terminal: Terminal): Promise<PayAnswer> {
  const paymentId = qr.paymentId as string;
  const sender = posSender(caller.id);
  await inTx(deps, async (d) => {
    await claimMessage(d, { id: req.id, kind: 'pay', sender, body: req, relatedId: req.tranId }, false);
    if (!(await d.repo.moveQr(req.tranId, 'issued', 'paying'))) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already used', { tranId: req.tranId });
    // No Electrum partner hears of it: PartPay knows it by its own order id.
    await d.repo.insertPayment({ requestId: req.id, partnerRequestId: null, paymentId, tranId: req.tranId, clientId: caller.id, requestBody: JSON.stringify(req), createdAt: deps.clock() });
    await d.repo.setPartner(paymentId, PARTPAY_INSTITUTION.id);
    await d.payments.journal({ paymentId, at: deps.clock(), kind: 'request', actor: `pos:${caller.id}`, detail: { operation: 'pay', via: 'electrum', requestId: req.id, tranId: req.tranId } });
  });

  const deadline = deps.clock() + deps.settings.scanWaitSeconds * 1000;
  let payment = await deps.service.get(terminal, paymentId);
  const abort = new AbortController();
  while (!isFinal(payment.state) && deps.clock() < deadline) {
    payment = await deps.service.waitForChange(terminal, paymentId, payment.version, deadline - deps.clock(), abort.signal);
  }
  if (!isFinal(payment.state)) payment = await cancelUndecided(deps, terminal, payment);

  const status = PAID_STATES.includes(payment.state) ? 201 : payment.state === 'failed' ? 503 : 400;
  const body = status === 201 ? approvedResponse(req, payment) : failure(req, payment);
  await inTx(deps, async (d) => {
    await d.repo.moveQr(req.tranId, 'paying', 'used');
    await d.repo.answerMessage(sender, req.id, status, body);
    await d.repo.setResponse(paymentId, status, body);
  });
  return { status, body };
}

async function cancelUndecided(deps: ElectrumDeps, terminal: Terminal, payment: Payment): Promise<Payment> {
  try {
    return await deps.service.cancel(terminal, payment.id);
  } catch (error) {
    // PartPay had decided after all (409): the stored state says how.
    if (error instanceof ConflictError) return await deps.service.get(terminal, payment.id);
    throw error;
  }
}

function approvedResponse(req: PaymentRequest, payment: Payment): PaymentResponse {
  const requested = req.amounts.requestAmount;
  return toWire({
    ...req,
    time: electrumTime(),
    partner: { ...PARTPAY_INSTITUTION },
    amounts: { ...req.amounts, ...(requested ? { approvedAmount: { ...requested, amount: payment.approvedMinor ?? payment.amountMinor } } : {}) },
    thirdPartyIdentifiers: [...req.thirdPartyIdentifiers, ...(payment.upstreamOrderId ? [{ institutionId: PARTPAY_INSTITUTION.id, transactionIdentifier: payment.upstreamOrderId }] : [])],
  });
}

function failure(req: PaymentRequest, payment: Payment) {
  if (payment.state === 'declined') return errorDetail({ errorType: 'DECLINED_BY_PARTNER', errorMessage: 'Declined by PartPay', tranId: req.tranId, originalId: req.id, ...(payment.upstreamOrderId ? { providerRef: payment.upstreamOrderId } : {}) });
  if (payment.state === 'failed') return errorDetail({ errorType: 'UPSTREAM_UNAVAILABLE', errorMessage: 'PartPay unavailable', detailMessage: payment.errorMessage ?? undefined, tranId: req.tranId, originalId: req.id });
  return errorDetail({ errorType: 'NO_SCAN_RECEIVED', errorMessage: 'Customer did not complete payment', detailMessage: `the PartPay order is ${payment.state}`, tranId: req.tranId, originalId: req.id });
}
