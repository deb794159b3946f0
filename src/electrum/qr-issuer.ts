import type { ElectrumClient } from '../shared/config/load.js';
import { isAppError } from '../shared/errors.js';
import { assertClientIsCaller, checkAmount, claimMessage, inTx, currencyOf, posSender, terminalFor, type ElectrumDeps } from './context.js';
import { buildQrCode } from './emv-qr.js';
import { ElectrumError } from './errors.js';
import type { CreateQrCodeRequest, CreateQrCodeResponse } from './schemas.js';
import { electrumTime, toWire } from './serialize.js';

function buildQrCodeOr400(input: Parameters<typeof buildQrCode>[0]): string {
  try {
    return buildQrCode(input);
  } catch (error) {
    throw new ElectrumError(400, 'FORMAT_ERROR', 'QR code data does not fit', { detailMessage: (error as Error).message, cause: error });
  }
}

/**
 * A fresh tranId: 32 hex characters, like the spec's example, unguessable (a random UUID's
 * hex, from the daemon's id source; the simulation's is seeded).
 */
export function newTranId(newId: () => string): string {
  return newId().replace(/-/g, '');
}

/**
 * createQrCode: assigns a tranId and returns the QR text. For a client served by Electrum
 * partners the text is our EMV-style TLV; for a client served by PartPay, a PartPay terminal
 * order is created and the text is what PartPay's QR image carries.
 */
export async function createQrCode(deps: ElectrumDeps, caller: ElectrumClient, req: CreateQrCodeRequest): Promise<CreateQrCodeResponse> {
  assertClientIsCaller(req.client, caller);
  const terminal = terminalFor(deps, req.originator, caller);
  const currency = currencyOf(deps, terminal);
  const value = req.qrProperties.value ?? req.amounts?.requestAmount;
  const amountMinor = value ? checkAmount(value, currency.numeric, req.qrProperties.value ? 'qrProperties.value' : 'amounts.requestAmount') : null;
  const now = deps.clock();
  let expiresAt = now + deps.settings.qrExpirySeconds * 1000;
  if (req.qrProperties.expiryDate !== undefined) {
    expiresAt = Date.parse(req.qrProperties.expiryDate);
    if (!(expiresAt > now)) throw new ElectrumError(400, 'FORMAT_ERROR', 'expiryDate is in the past', { detailMessage: 'qrProperties.expiryDate must be in the future' });
  }
  const scheme = req.qrProperties.scheme ?? deps.settings.defaultScheme;
  const tranId = newTranId(deps.newId);
  // Claimed before anything is made upstream: a retry with the same id (even one racing this
  // request) is a DUPLICATE_RECORD, as the spec requires, and never a second PartPay order.
  await inTx(deps, (d) => claimMessage(d, { id: req.id, kind: 'createQrCode', sender: posSender(caller.id), body: req, relatedId: tranId }, false));
  let qrCode: string;
  let paymentId: string | null = null;
  if (caller.provider === 'partpay') {
    if (amountMinor === null) throw new ElectrumError(400, 'INVALID_AMOUNT', 'PartPay needs the amount', { detailMessage: 'give qrProperties.value or amounts.requestAmount: PartPay creates the order when the QR code is made' });
    const created = await deps.service
      .create(terminal, { amountMinor, currency: currency.alpha, merchantReference: (req.rrn ?? tranId).slice(0, 64) }, `electrum:${caller.id}:${req.id}`)
      .catch((error: unknown) => {
        throw new ElectrumError(isAppError(error) && error.status < 500 ? 400 : 503, 'UPSTREAM_UNAVAILABLE', 'PartPay could not create the order', { detailMessage: error instanceof Error ? error.message : String(error), cause: error });
      });
    const payment = created.payment;
    if (payment.state === 'failed') throw new ElectrumError(503, 'UPSTREAM_UNAVAILABLE', 'PartPay could not create the order', { detailMessage: payment.errorMessage ?? undefined });
    // Only the text is needed here: the terminal shows our rendering of it (/v1/qr-codes/:tranId).
    const text = await deps.paymentQr.readText(payment);
    if (!text) throw new ElectrumError(503, 'UPSTREAM_UNAVAILABLE', 'PartPay QR could not be read', { detailMessage: 'the QR image PartPay returned could not be decoded to text' });
    qrCode = text;
    paymentId = payment.id;
  } else {
    const store = deps.registry.store(terminal.storeId);
    qrCode = buildQrCodeOr400({
      scheme,
      providerId: deps.settings.providerId,
      tranId,
      ...(amountMinor === null ? {} : { amountMinor }),
      currencyNumeric: currency.numeric,
      merchantName: req.originator.merchant.merchantName.name || store?.name || 'Merchant',
      merchantCity: req.originator.merchant.merchantName.city || deps.settings.merchantCity,
      countryCode: req.originator.merchant.merchantName.country || deps.settings.countryCode,
      merchantCategoryCode: req.originator.merchant.merchantType || deps.settings.merchantCategoryCode,
    });
  }

  const response: CreateQrCodeResponse = toWire({
    ...req,
    time: electrumTime(now),
    qrProperties: { ...req.qrProperties, scheme, expiryDate: electrumTime(expiresAt) },
    tranId,
    qrCode,
  });
  await inTx(deps, async (d) => {
    await d.repo.insertQr({
      tranId,
      requestId: req.id,
      clientId: caller.id,
      terminalId: terminal.id,
      provider: caller.provider,
      scheme,
      qrCode,
      amountMinor,
      currency: currency.numeric,
      paymentId,
      responseBody: JSON.stringify(response),
      createdAt: now,
      expiresAt,
    });
    await d.repo.answerMessage(posSender(caller.id), req.id, 201, response);
  });
  deps.logger.info('electrum QR code issued', { tranId, terminalId: terminal.id, clientId: caller.id, provider: caller.provider, scheme, ...(paymentId ? { paymentId } : {}) });
  return response;
}
