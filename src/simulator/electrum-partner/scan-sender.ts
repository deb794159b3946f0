import { randomBytes, randomUUID } from 'node:crypto';
import { basicAuthHeader } from '../../electrum/basic-auth.js';
import { decimalToMinor } from '../../electrum/currency.js';
import { parseTlv, tranIdFromQr } from '../../electrum/emv-qr.js';
import type { ScanNotification } from '../../electrum/schemas.js';
import { electrumTime, toWire } from '../../electrum/serialize.js';
import type { Logger } from '../../shared/logger.js';
import type { ElectrumPartnerSimulatorOptions } from './options.js';
import type { PartnerLedger } from './partner-ledger.js';

/** What the intermediate answered to a scan notification (body: parsed JSON, text, or null when empty). */
export interface ScanResult {
  status: number;
  body: unknown;
  notification: ScanNotification;
}

/** A scan the simulator sent, for `stats()` and the wallet page. */
export interface SentScan {
  time: string;
  tranId: string;
  status: number | null;
  error: string | null;
}

/**
 * Sends `notifyScan` the way a wallet app's backend would after its customer scanned a QR:
 * tranId from the QR text (or given directly), a fresh payment token, the partner's own
 * third-party identifier and, when known, the amount.
 */
export function createScanSender(deps: { options: ElectrumPartnerSimulatorOptions; ledger: PartnerLedger; logger: Logger }) {
  const { options, ledger, logger } = deps;
  const sent: SentScan[] = [];

  function remember(scan: SentScan): void {
    sent.push(scan);
    if (sent.length > options.historyLimit) sent.splice(0, sent.length - options.historyLimit);
  }

  /** The notification for `input` (QR text starting `000201`, or a bare tranId). */
  function notificationFor(input: string, amountMinor?: number): ScanNotification {
    const text = input.trim();
    let tranId = text;
    let currency = options.currency;
    let amount = amountMinor;
    if (text.startsWith('000201')) {
      const fromQr = tranIdFromQr(text);
      if (fromQr === null) throw new Error('the QR text carries no tranId in a merchant account template (tags 26-51)');
      tranId = fromQr;
      const fields = parseTlv(text);
      currency = fields.find((f) => f.tag === '53')?.value ?? currency;
      const qrAmount = fields.find((f) => f.tag === '54')?.value;
      if (amount === undefined && qrAmount !== undefined) amount = decimalToMinor(qrAmount, currency);
    }
    if (tranId === '') throw new Error('empty QR text / tranId');
    if (amount !== undefined && (!Number.isSafeInteger(amount) || amount < 0)) throw new Error(`amountMinor ${amount} is not a non-negative integer`);
    return toWire({
      id: randomUUID(),
      time: electrumTime(),
      partner: { id: options.partnerId, name: options.partnerName },
      tranId,
      partnerPaymentToken: randomBytes(12).toString('base64url'),
      thirdPartyIdentifiers: [{ institutionId: options.partnerId, transactionIdentifier: `scan-${randomUUID()}` }],
      ...(amount === undefined ? {} : { amounts: { requestAmount: { amount, currency } } }),
    });
  }

  /**
   * Posts a ScanNotification to `${intermediateUrl}/scans`; resolves with the answer (202 expected).
   * @throws Error without an intermediate URL or credentials, for unusable input, or when no answer came.
   */
  async function scan(qrCodeOrTranId: string, opts: { amountMinor?: number } = {}): Promise<ScanResult> {
    if (options.intermediateUrl === null || options.credentials === null) throw new Error('the partner simulator has no intermediateUrl/credentials to send scans with');
    const notification = notificationFor(qrCodeOrTranId, opts.amountMinor);
    const url = `${options.intermediateUrl.replace(/\/+$/, '')}/scans`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: basicAuthHeader(options.credentials.username, options.credentials.password), 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(options.scanTimeoutMs),
      });
      const text = await res.text();
      let body: unknown = null;
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          body = text;
        }
      }
      if (res.status === 202) ledger.rememberScan(notification.tranId, notification.partnerPaymentToken ?? null);
      remember({ time: notification.time, tranId: notification.tranId, status: res.status, error: null });
      logger.info('scan notified', { tranId: notification.tranId, status: res.status });
      return { status: res.status, body, notification };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      remember({ time: notification.time, tranId: notification.tranId, status: null, error: message });
      throw new Error(`notifyScan to ${url} got no answer: ${message}`, { cause: err });
    }
  }

  return { scan, notificationFor, sent: (): SentScan[] => [...sent] };
}
