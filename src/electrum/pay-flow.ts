import { isOpen } from '../payments/state-machine.js';
import type { Payment } from '../payments/types.js';
import type { ElectrumClient, ElectrumPartner } from '../shared/config/load.js';
import { assertClientIsCaller, checkAmount, claimMessage, currencyOf, inTx, partnerFacingId, partnerSender, posSender, terminalFor, type ElectrumDeps } from './context.js';
import { errorDetail } from './error-detail.js';
import { ElectrumError } from './errors.js';
import { payThroughPartPay } from './partpay-bridge.js';
import { checkPartnerResponse } from './partner-response.js';
import type { QrCodeRow } from './repository.js';
import type { Repos } from '../storage/port.js';
import type { ErrorDetail, PaymentRequest, PaymentResponse, ScanNotification } from './schemas.js';
import { toWire } from './serialize.js';

/** What `pay` answers: the HTTP status and the body (PaymentResponse or ErrorDetail). */
export interface PayAnswer {
  status: number;
  body: PaymentResponse | ErrorDetail;
}

async function usableQr(deps: ElectrumDeps, tranId: string, clientId: string, terminalId: string): Promise<QrCodeRow> {
  const qr = await deps.repo.qr(tranId);
  if (!qr || qr.clientId !== clientId) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'Unknown tranId', { tranId, detailMessage: `no QR code with tranId "${tranId}" was issued to this client` });
  // A code belongs to the till it was made for: another till's pay would take over its payment.
  if (qr.terminalId !== terminalId) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code is for another terminal', { tranId, detailMessage: `the QR code was issued to terminal ${qr.terminalId}, not ${terminalId}` });
  if (qr.expiresAt <= deps.clock()) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code has expired', { tranId });
  if (qr.state !== 'issued') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already used', { tranId, detailMessage: 'a payment was already made against this QR code; create a new one' });
  return qr;
}

/** A pay being held: the POS's request, who sent it, and its payment. */
interface Held {
  req: PaymentRequest;
  /** The POS client's sender (its message ids are its own). */
  sender: string;
  paymentId: string;
  /** The id the partner hears for this payment (see `partnerFacingId`); set when the pay is recorded. */
  partnerRequestId: string;
}

/** Answers `pay` and remembers the answer against the sender's request id and the payment. */
async function answer(deps: ElectrumDeps, held: Held, status: number, body: PaymentResponse | ErrorDetail): Promise<PayAnswer> {
  await inTx(deps, async (d) => {
    await d.repo.answerMessage(held.sender, held.req.id, status, body);
    await d.repo.setResponse(held.paymentId, status, body);
  });
  return { status, body };
}

/** When the payment ended: before any scan, after the scan but before the forward, or while the partner decided. */
type EndedAt = 'before-scan' | 'before-forward' | 'forwarded';

const ENDED_DETAIL: Record<EndedAt, (how: string) => string> = {
  'before-scan': (how) => `the payment was ${how} before a scan arrived`,
  'before-forward': (how) => `the payment was ${how} after the scan, before the partner was asked: nothing reached the partner`,
  forwarded: (how) => `the payment was ${how} while the partner decided; the partner is sent a reversal`,
};

/** The answer to a pay whose payment was cancelled (terminal, console) or reversed (the POS) before the partner's answer counted. */
function ended(deps: ElectrumDeps, held: Held, p: Payment, at: EndedAt): Promise<PayAnswer> {
  const { req } = held;
  const how = p.state;
  return answer(
    deps,
    held,
    400,
    errorDetail({
      errorType: 'GENERAL_ERROR',
      errorMessage: `Payment ${how}`.slice(0, 40),
      detailMessage: ENDED_DETAIL[at](how),
      tranId: req.tranId,
      originalId: req.id,
    }),
  );
}

/**
 * pay: the POS sends the payment before showing the QR; we hold it open until the partner's
 * scan arrives (or `scanWaitSeconds` pass: NO_SCAN_RECEIVED, no reversal needed; or the payment
 * is cancelled or reversed meanwhile), forward it to that partner with the partner's payment
 * token, and answer with the partner's answer. No answer from the partner in time: 504 to
 * the POS, and a TIMEOUT reversal is owed to the partner.
 */
export async function pay(deps: ElectrumDeps, caller: ElectrumClient, req: PaymentRequest): Promise<PayAnswer> {
  assertClientIsCaller(req.client, caller);
  const terminal = terminalFor(deps, req.originator, caller);
  const currency = currencyOf(deps, terminal);
  const amountMinor = checkAmount(req.amounts.requestAmount ?? missingAmount(), currency.numeric, 'amounts.requestAmount');
  const qr = await usableQr(deps, req.tranId, caller.id, terminal.id);
  if (qr.amountMinor !== null && qr.amountMinor !== amountMinor) {
    throw new ElectrumError(400, 'INVALID_AMOUNT', 'Amount differs from the QR code', { tranId: req.tranId, detailMessage: `the QR code was made for ${qr.amountMinor}, the payment asks for ${amountMinor}` });
  }
  if (qr.provider === 'partpay') return payThroughPartPay(deps, caller, req, qr, terminal);

  const now = deps.clock();
  const paymentId = deps.newId();
  const held: Held = { req, sender: posSender(caller.id), paymentId, partnerRequestId: req.id };
  await inTx(deps, async (d) => {
    await claimMessage(d, { id: req.id, kind: 'pay', sender: held.sender, body: req, relatedId: req.tranId }, false);
    if (!(await d.repo.moveQr(req.tranId, 'issued', 'paying'))) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already used', { tranId: req.tranId });
    // The partner knows the payment by this id: the POS's, unless another payment already has it.
    const partnerRequestId = await partnerFacingId(d, req.id, 'pay', paymentId);
    held.partnerRequestId = partnerRequestId;
    await d.payments.insert({ id: paymentId, provider: 'electrum', terminalId: terminal.id, storeId: terminal.storeId, merchantId: terminal.merchantId, merchantReference: (req.rrn ?? req.tranId).slice(0, 64), amountMinor, currency: currency.alpha, createdAt: now, expiresAt: now + deps.settings.scanWaitSeconds * 1000 });
    await d.repo.insertPayment({ requestId: req.id, partnerRequestId, paymentId, tranId: req.tranId, clientId: caller.id, requestBody: JSON.stringify(req), createdAt: now });
    await d.payments.journal({ paymentId, at: now, kind: 'request', actor: `pos:${caller.id}`, detail: { operation: 'pay', requestId: req.id, tranId: req.tranId, amountMinor } });
    await d.payments.journal({ paymentId, at: now, kind: 'state_changed', actor: `pos:${caller.id}`, fromState: null, toState: 'created', version: 1 });
  });
  deps.logger.info('electrum pay waiting for scan', { paymentId, terminalId: terminal.id, tranId: req.tranId });

  // A cancel (terminal, console) or a POS reversal ends the wait at once.
  const unsubscribe = deps.events.subscribe(paymentId, (p) => {
    if (!isOpen(p.state)) deps.waiters.wake(req.tranId, 'cancelled');
  });
  let outcome;
  try {
    const waiting = deps.waiters.wait(req.tranId, deps.settings.scanWaitSeconds * 1000);
    // On a networked database a scan or a cancel may have committed (and been told) between this
    // pay's commit and its wait: look once, so it is not waited out.
    const [code, now] = await Promise.all([deps.repo.qr(req.tranId), deps.payments.get(paymentId)]);
    if (code?.state === 'scanned') deps.waiters.wake(req.tranId, 'scanned');
    else if (now && !isOpen(now.state)) deps.waiters.wake(req.tranId, 'cancelled');
    outcome = await waiting;
  } finally {
    unsubscribe();
  }
  if (outcome !== 'scanned') {
    // The scan may have been committed a moment before the timer fired: the QR state decides.
    const gaveUp = await deps.store.tx(async (r) => {
      if (!(await r.electrum.moveQr(req.tranId, 'paying', 'used'))) return false;
      await deps.core.applier.applyIn(r, paymentId, { type: 'expire' }, { actor: 'system:electrum', kind: 'decision', detail: { reason: outcome === 'timeout' ? 'no scan received' : 'pay ended before a scan (cancel, reversal or shutdown)' }, resolvedBy: 'expiry' });
      return true;
    });
    if (gaveUp) {
      const p = (await deps.payments.get(paymentId)) as Payment;
      if (p.state !== 'expired') return ended(deps, held, p, 'before-scan');
      return answer(deps, held, 400, errorDetail({ errorType: 'NO_SCAN_RECEIVED', errorMessage: 'No scan received', detailMessage: `no partner reported a scan of this QR code within ${deps.settings.scanWaitSeconds} s`, tranId: req.tranId, originalId: req.id }));
    }
  }
  return forward(deps, held, currency.numeric);
}

function missingAmount(): never {
  throw new ElectrumError(400, 'FORMAT_ERROR', 'amounts.requestAmount is required', { detailMessage: 'amounts.requestAmount is required' });
}

/**
 * Moves the code to used, records that the forward has its answer, and applies what it said:
 * one transaction. An unknown outcome (no answer in time, a broken connection, a 500) is not an
 * answer: the partner may still be deciding, so what is owed to it waits out the time it was
 * given (see the Electrum provider's flight window) rather than overtake its decision.
 */
async function settle(deps: ElectrumDeps, { req, paymentId }: Held, answered: boolean, apply: (r: Repos) => Promise<unknown>): Promise<void> {
  await deps.store.tx(async (r) => {
    await r.electrum.moveQr(req.tranId, 'scanned', 'used');
    if (answered) await r.electrum.markAnswered(paymentId, deps.clock());
    await apply(r);
    // An advice that waited for this answer may go now.
    await deps.core.owed.dueNow(r, paymentId);
  });
  deps.onOutbox();
}

async function forward(deps: ElectrumDeps, held: Held, currencyNumeric: string): Promise<PayAnswer> {
  const { req, paymentId, partnerRequestId } = held;
  const qr = (await deps.repo.qr(req.tranId)) as QrCodeRow;
  const partner = deps.settings.partners.find((p) => p.id === qr.partnerId) as ElectrumPartner;
  const actor = `partner:${partner.id}`;
  // The partner hears our id for the payment; the POS hears its own back in every answer.
  const forwarded: PaymentRequest = toWire({ ...req, id: partnerRequestId, partner: { id: partner.id, name: partner.name }, ...(qr.partnerPaymentToken ? { partnerPaymentToken: qr.partnerPaymentToken } : {}) });
  const started = await deps.store.tx(async (r) => {
    // Cancelled between the scan and now: nothing goes to the partner.
    if (((await r.payments.getForUpdate(paymentId)) as Payment).state !== 'created') return false;
    await r.electrum.markForwarded(paymentId, partner.id, deps.clock());
    await r.payments.setExpiresAt(paymentId, deps.clock() + (deps.settings.partnerTimeoutSeconds + 5) * 1000);
    await deps.core.applier.applyIn(r, paymentId, { type: 'order_created', orderId: partnerRequestId, orderNumber: null }, { actor, kind: 'forward', detail: { partnerId: partner.id, tranId: req.tranId } });
    return true;
  });
  if (!started) {
    await deps.store.tx((r) => r.electrum.moveQr(req.tranId, 'scanned', 'used'));
    return ended(deps, held, (await deps.payments.get(paymentId)) as Payment, 'before-forward');
  }

  const result = await deps.partnerClient(partner).pay(forwarded);
  const checked = result.kind === 'success' ? checkPartnerResponse(forwarded, result.body, currencyNumeric) : null;
  if (result.kind === 'success' && checked?.ok) {
    await settle(deps, held, true, (r) => deps.core.applier.applyIn(r, paymentId, { type: 'provider_status', outcome: 'approved', approvedMinor: checked.approvedMinor, source: 'partner' }, { actor, kind: 'partner_response', detail: { status: result.status, approvedMinor: checked.approvedMinor }, resolvedBy: 'partner' }));
    const p = (await deps.payments.get(paymentId)) as Payment;
    // Reversed or cancelled while the partner decided: the POS is not told "paid"; the reversal owed undoes it.
    if (p.state !== 'approved') return ended(deps, held, p, 'forwarded');
    return answer(deps, held, 201, toWire({ ...result.body, id: req.id }));
  }
  if (result.kind === 'failed') {
    // 400 is the partner's decline; 501, 503 and the like: it did not process the payment. Either way nothing moved.
    const declined = result.status === 400;
    await settle(deps, held, true, (r) => deps.core.applier.applyIn(r, paymentId, { type: 'provider_status', outcome: 'declined', source: 'partner' }, { actor, kind: 'partner_response', detail: { status: result.status, errorType: result.error?.errorType }, resolvedBy: 'partner' }));
    const p = (await deps.payments.get(paymentId)) as Payment;
    if (p.state !== 'declined') return ended(deps, held, p, 'forwarded');
    const error = declined && result.error ? ownIds(result.error, req, partnerRequestId) : errorDetail({ errorType: declined ? 'DECLINED_BY_PARTNER' : 'UPSTREAM_UNAVAILABLE', errorMessage: declined ? 'Declined by partner' : 'Partner refused the request', providerErrorCode: String(result.status), tranId: req.tranId, originalId: req.id });
    return answer(deps, held, declined ? 400 : 503, error);
  }
  // No final answer, or one that contradicts the request: the POS hears 504 and the partner is sent a reversal.
  const why = result.kind === 'unknown' ? result.reason : `answer does not match the request: ${checked && !checked.ok ? checked.problem : 'unreadable'}`;
  await settle(deps, held, false, (r) =>
    deps.core.applier.applyIn(r, paymentId, { type: 'outcome_unknown', message: `partner gave no final answer: ${why}` }, { actor, kind: 'partner_response', detail: { status: result.status, reason: why }, resolvedBy: 'partner', upstream: { reason: 'TIMEOUT' } }),
  );
  return answer(deps, held, 504, errorDetail({ errorType: 'UPSTREAM_UNAVAILABLE', errorMessage: 'Partner did not answer in time', detailMessage: `no final answer from ${partner.id}; a TIMEOUT reversal is sent to the partner`, tranId: req.tranId, originalId: req.id }));
}

/** A partner's decline as the POS hears it: naming the POS's id where the partner named ours. */
function ownIds(error: ErrorDetail, req: PaymentRequest, partnerRequestId: string): ErrorDetail {
  return error.originalId === partnerRequestId ? { ...error, originalId: req.id } : error;
}

/**
 * notifyScan: a partner's customer scanned one of our codes. Accepted (202) only when a pay
 * is waiting for that tranId; a scan of an unknown or expired code, of a code nobody is
 * paying yet (or whose payment was cancelled), or a second scan is declined with an ErrorDetail.
 */
export async function notifyScan(deps: ElectrumDeps, partner: ElectrumPartner, scan: ScanNotification): Promise<void> {
  if (scan.partner.id !== partner.id) {
    throw new ElectrumError(400, 'FORMAT_ERROR', 'partner.id is not the caller', { detailMessage: `partner.id "${scan.partner.id}" does not match the authenticated partner "${partner.id}"` });
  }
  const qr = await deps.repo.qr(scan.tranId);
  if (!qr || qr.provider !== 'electrum') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'Unknown tranId', { tranId: scan.tranId });
  if (qr.expiresAt <= deps.clock()) throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code has expired', { tranId: scan.tranId });
  if (qr.state === 'scanned' || qr.state === 'used') throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already scanned', { tranId: scan.tranId });
  const notWaiting = () =>
    new ElectrumError(400, 'UNABLE_TO_LOCATE_RECORD', 'No payment waiting for this code', { tranId: scan.tranId, detailMessage: 'the POS has not sent a payment for this QR code (or it is no longer waiting); ask the customer to scan again' });
  if (qr.state === 'issued' || !deps.waiters.acceptsScan(scan.tranId)) throw notWaiting();
  const ep = await deps.repo.paymentByTran(scan.tranId);
  const terminalId = await inTx(deps, async (d) => {
    // A payment cancelled (or reversed) while it waited takes no scan.
    const p = ep ? await d.payments.getForUpdate(ep.paymentId) : null;
    if (!ep || p?.state !== 'created') throw notWaiting();
    await claimMessage(d, { id: scan.id, kind: 'notifyScan', sender: partnerSender(partner.id), body: scan, relatedId: scan.tranId }, false);
    if (!(await d.repo.recordScan(scan.tranId, { partnerId: partner.id, token: scan.partnerPaymentToken ?? null, scanId: scan.id, at: deps.clock() }))) {
      throw new ElectrumError(400, 'INVALID_TRAN_ID', 'QR code already scanned', { tranId: scan.tranId });
    }
    // Scanned in time: the pay is the holding daemon's to forward now, however late it wakes (on
    // a fleet the scan may be taken elsewhere). Its deadline becomes a forwarded pay's, so the
    // expire job (any daemon's) does not end it first; a holder that died leaves it to expire then.
    await d.payments.setExpiresAt(ep.paymentId, deps.clock() + (deps.settings.partnerTimeoutSeconds + 5) * 1000);
    await d.payments.journal({ paymentId: ep.paymentId, at: deps.clock(), kind: 'scan', actor: `partner:${partner.id}`, detail: { scanId: scan.id, tranId: scan.tranId, token: scan.partnerPaymentToken ? 'present' : 'absent' } });
    await d.repo.answerMessage(partnerSender(partner.id), scan.id, 202, undefined);
    return p.terminalId;
  });
  deps.logger.info('electrum scan matched', { tranId: scan.tranId, partnerId: partner.id, ...(ep ? { paymentId: ep.paymentId, terminalId } : {}) });
  deps.waiters.wake(scan.tranId, 'scanned');
}
