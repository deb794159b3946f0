import type { ElectrumClient, ElectrumPartner } from '../shared/config/load.js';
import type { Payment } from '../payments/types.js';
import { assertClientIsCaller, checkAmount, claimMessage, currencyOf, terminalFor, type ElectrumDeps } from './context.js';
import { errorDetail } from './error-detail.js';
import { ElectrumError } from './errors.js';
import type { QrCodeRow } from './repository.js';
import type { ErrorDetail, PaymentRequest, PaymentResponse, ScanNotification } from './schemas.js';
import { toWire } from './serialize.js';
import { payThroughPartPay } from './partpay-bridge.js';

/** What `pay` answers: the HTTP status and the body (PaymentResponse or ErrorDetail). */
export interface PayAnswer {
  status: number;
  body: PaymentResponse | ErrorDetail;
}

function usableQr(deps: ElectrumDeps, tranId: string, clientId: string): QrCodeRow {
  const qr = deps.repo.qr(tranId);
  if (!qr || qr.clientId !== clientId) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'Unknown tranId', { tranId, detailMessage: `no QR code with tranId "${tranId}" was issued to this client` });
  if (qr.expiresAt <= deps.clock()) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code has expired', { tranId });
  if (qr.state !== 'issued') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already used', { tranId, detailMessage: 'a payment was already made against this QR code; create a new one' });
  return qr;
}

/** Answers `pay` and remembers the answer against the request id. */
function answer(deps: ElectrumDeps, requestId: string, status: number, body: PaymentResponse | ErrorDetail): PayAnswer {
  deps.group.transaction(() => {
    deps.repo.answerMessage(requestId, status, body);
    deps.repo.setResponse(requestId, status, body);
  });
  return { status, body };
}

/**
 * pay: the POS sends the payment before showing the QR; we hold it open until the partner's
 * scan arrives (or `scanWaitSeconds` pass: NO_SCAN_RECEIVED, no reversal needed), forward it
 * to that partner with the partner's payment token, and answer with the partner's answer.
 * No answer from the partner in time: 504 to the POS, and we owe the partner a TIMEOUT reversal.
 */
export async function pay(deps: ElectrumDeps, caller: ElectrumClient, req: PaymentRequest): Promise<PayAnswer> {
  assertClientIsCaller(req.client, caller);
  const terminal = terminalFor(deps, req.originator, caller);
  const currency = currencyOf(deps, terminal);
  const amountMinor = checkAmount(req.amounts.requestAmount ?? missingAmount(), currency.numeric, 'amounts.requestAmount');
  const qr = usableQr(deps, req.tranId, caller.id);
  if (qr.amountMinor !== null && qr.amountMinor !== amountMinor) {
    throw new ElectrumError(400, 'INVALID_AMOUNT', 'Amount differs from the QR code', { tranId: req.tranId, detailMessage: `the QR code was made for ${qr.amountMinor}, the payment asks for ${amountMinor}` });
  }
  if (qr.provider === 'partpay') return payThroughPartPay(deps, caller, req, qr, terminal);

  const now = deps.clock();
  const paymentId = deps.newId();
  deps.group.transaction(() => {
    claimMessage(deps, { id: req.id, kind: 'pay', sender: caller.id, body: req, relatedId: req.tranId }, false);
    if (!deps.repo.moveQr(req.tranId, 'issued', 'paying')) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already used', { tranId: req.tranId });
    deps.payments.insert({ id: paymentId, provider: 'electrum', terminalId: terminal.id, storeId: terminal.storeId, merchantId: terminal.merchantId, merchantReference: (req.rrn ?? req.tranId).slice(0, 64), amountMinor, currency: currency.alpha, createdAt: now, expiresAt: now + deps.settings.scanWaitSeconds * 1000 });
    deps.repo.insertPayment({ requestId: req.id, paymentId, tranId: req.tranId, clientId: caller.id, requestBody: JSON.stringify(req), createdAt: now });
    deps.payments.journal({ paymentId, at: now, kind: 'request', actor: `pos:${caller.id}`, detail: { operation: 'pay', requestId: req.id, tranId: req.tranId, amountMinor } });
    deps.payments.journal({ paymentId, at: now, kind: 'state_changed', actor: `pos:${caller.id}`, fromState: null, toState: 'created', version: 1 });
  });
  deps.logger.info('electrum pay waiting for scan', { paymentId, terminalId: terminal.id, tranId: req.tranId });

  const outcome = await deps.waiters.wait(req.tranId, deps.settings.scanWaitSeconds * 1000);
  if (outcome !== 'scanned') {
    // The scan may have been committed a moment before the timer fired: the QR state decides.
    const ended = deps.group.transaction(() => {
      if (!deps.repo.moveQr(req.tranId, 'paying', 'used')) return false;
      deps.applier.apply(paymentId, { type: 'expire' }, { actor: 'system:electrum', kind: 'decision', detail: { reason: outcome === 'timeout' ? 'no scan received' : 'pay ended before a scan (reversal or shutdown)' }, resolvedBy: 'expiry' });
      return true;
    });
    if (ended) {
      return answer(deps, req.id, 400, errorDetail({ errorType: 'NO_SCAN_RECEIVED', errorMessage: 'No scan received', detailMessage: `no partner reported a scan of this QR code within ${deps.settings.scanWaitSeconds} s`, tranId: req.tranId, originalId: req.id }));
    }
  }
  return forward(deps, req, paymentId);
}

function missingAmount(): never {
  throw new ElectrumError(400, 'FORMAT_ERROR', 'amounts.requestAmount is required', { detailMessage: 'amounts.requestAmount is required' });
}

async function forward(deps: ElectrumDeps, req: PaymentRequest, paymentId: string): Promise<PayAnswer> {
  const qr = deps.repo.qr(req.tranId) as QrCodeRow;
  const partner = deps.settings.partners.find((p) => p.id === qr.partnerId) as ElectrumPartner;
  const forwarded: PaymentRequest = toWire({ ...req, partner: { id: partner.id, name: partner.name }, ...(qr.partnerPaymentToken ? { partnerPaymentToken: qr.partnerPaymentToken } : {}) });
  deps.group.transaction(() => {
    deps.repo.setPartner(req.id, partner.id);
    deps.payments.setExpiresAt(paymentId, deps.clock() + (deps.settings.partnerTimeoutSeconds + 5) * 1000);
    deps.applier.apply(paymentId, { type: 'order_created', orderId: `electrum:${req.tranId}`, orderNumber: partner.id }, { actor: `partner:${partner.id}`, kind: 'forward', detail: { partnerId: partner.id, tranId: req.tranId } });
  });
  const result = await deps.partnerClient(partner).pay(forwarded);
  const actor = `partner:${partner.id}`;
  if (result.kind === 'success') {
    const body = toWire(result.body);
    settle(deps, paymentId, qr.tranId, () => deps.applier.apply(paymentId, { type: 'provider_status', outcome: 'approved', source: 'partner' }, { actor, kind: 'partner_response', detail: { status: result.status }, resolvedBy: 'partner' }));
    return answer(deps, req.id, 201, body);
  }
  if (result.kind === 'failed') {
    const declined = result.status === 400;
    settle(deps, paymentId, qr.tranId, () =>
      declined
        ? deps.applier.apply(paymentId, { type: 'provider_status', outcome: 'declined', source: 'partner' }, { actor, kind: 'partner_response', detail: { status: result.status, errorType: result.error?.errorType }, resolvedBy: 'partner' })
        : deps.applier.apply(paymentId, { type: 'outcome_unknown', message: `partner answered ${result.status}` }, { actor, kind: 'partner_response', detail: { status: result.status }, resolvedBy: 'partner' }),
    );
    const error = declined && result.error ? result.error : errorDetail({ errorType: declined ? 'DECLINED_BY_PARTNER' : 'UPSTREAM_UNAVAILABLE', errorMessage: declined ? 'Declined by partner' : 'Partner refused the request', providerErrorCode: String(result.status), tranId: req.tranId, originalId: req.id });
    return answer(deps, req.id, declined ? 400 : 503, error);
  }
  // No final answer: the POS hears 504 and we reverse towards the partner ourselves.
  settle(deps, paymentId, qr.tranId, () => {
    const applied = deps.applier.apply(paymentId, { type: 'outcome_unknown', message: `partner gave no final answer: ${result.reason}` }, { actor, kind: 'partner_response', detail: { status: result.status, reason: result.reason }, resolvedBy: 'partner' });
    oweReversal(deps, req.id, paymentId, 'TIMEOUT', deps.newId());
    return applied;
  });
  deps.onOutbox();
  return answer(deps, req.id, 504, errorDetail({ errorType: 'UPSTREAM_UNAVAILABLE', errorMessage: 'Partner did not answer in time', detailMessage: `no final answer from ${partner.id}; a TIMEOUT reversal was sent to the partner`, tranId: req.tranId, originalId: req.id }));
}

function settle(deps: ElectrumDeps, _paymentId: string, tranId: string, apply: () => unknown): void {
  deps.group.transaction(() => {
    deps.repo.moveQr(tranId, 'scanned', 'used');
    apply();
  });
}

/** Owes the partner a reversal of a forwarded payment, once (a second owed reversal is not added). */
export function oweReversal(deps: ElectrumDeps, requestId: string, paymentId: string, reason: 'TIMEOUT' | 'CANCELLED' | 'RESPONSE_NOT_FINAL', adviceId: string): void {
  const owed = deps.outbox.ofPayment(paymentId).some((item) => item.kind === 'electrum.reversal');
  if (!owed) deps.outbox.enqueue('electrum.reversal', paymentId, { requestId, reason, adviceId }, deps.clock());
}

/**
 * notifyScan: a partner's customer scanned one of our codes. Accepted (202) only when a pay
 * is waiting for that tranId; a scan of an unknown or expired code, of a code nobody is
 * paying yet, or a second scan is declined with an ErrorDetail.
 */
export function notifyScan(deps: ElectrumDeps, partner: ElectrumPartner, scan: ScanNotification): void {
  if (scan.partner.id !== partner.id) {
    throw new ElectrumError(400, 'FORMAT_ERROR', 'partner.id is not the caller', { detailMessage: `partner.id "${scan.partner.id}" does not match the authenticated partner "${partner.id}"` });
  }
  const qr = deps.repo.qr(scan.tranId);
  if (!qr || qr.provider !== 'electrum') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'Unknown tranId', { tranId: scan.tranId });
  if (qr.expiresAt <= deps.clock()) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code has expired', { tranId: scan.tranId });
  if (qr.state === 'scanned' || qr.state === 'used') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already scanned', { tranId: scan.tranId });
  if (qr.state === 'issued' || !deps.waiters.isWaiting(scan.tranId)) {
    throw new ElectrumError(400, 'UNABLE_TO_LOCATE_RECORD', 'No payment waiting for this code', { tranId: scan.tranId, detailMessage: 'the POS has not sent a payment for this QR code (or it is no longer waiting); ask the customer to scan again' });
  }
  const ep = deps.repo.paymentByTran(scan.tranId);
  deps.group.transaction(() => {
    claimMessage(deps, { id: scan.id, kind: 'notifyScan', sender: partner.id, body: scan, relatedId: scan.tranId }, false);
    if (!deps.repo.recordScan(scan.tranId, { partnerId: partner.id, token: scan.partnerPaymentToken ?? null, scanId: scan.id, at: deps.clock() })) {
      throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already scanned', { tranId: scan.tranId });
    }
    if (ep) deps.payments.journal({ paymentId: ep.paymentId, at: deps.clock(), kind: 'scan', actor: `partner:${partner.id}`, detail: { scanId: scan.id, tranId: scan.tranId, token: scan.partnerPaymentToken ? 'present' : 'absent' } });
    deps.repo.answerMessage(scan.id, 202, undefined);
  });
  deps.logger.info('electrum scan matched', { tranId: scan.tranId, partnerId: partner.id, ...(ep ? { paymentId: ep.paymentId, terminalId: (deps.payments.get(ep.paymentId) as Payment).terminalId } : {}) });
  deps.waiters.wake(scan.tranId, 'scanned');
}
