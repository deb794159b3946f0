import type { DisplayProfile } from '../qr/display-profile.js';
import type { CachedQr, QrCache, QrImages } from '../qr/index.js';
import type { Logger } from '../shared/logger.js';
import { NotFoundError } from '../shared/errors.js';
import type { PaymentRepository } from './repository.js';
import type { Payment } from './types.js';

/**
 * A payment's QR image in a display profile. PartPay's image (base64 or URL) is loaded once,
 * sanitised by sharp, cached per payment, and the text it carries is remembered on the
 * payment so terminals that render their own QR can use it.
 */
export function createPaymentQr(deps: { images: QrImages; cache: QrCache; payments: PaymentRepository; logger: Logger }) {
  const load = (p: Payment) => () => {
    if (p.qrKind === 'base64' && p.qrData) return deps.images.fromBase64(p.qrData);
    if (p.qrKind === 'url' && p.qrData) return deps.images.fromUrl(p.qrData);
    if (p.qrKind === 'text' && p.qrData) return deps.images.fromText(p.qrData);
    throw new NotFoundError(`payment ${p.id} has no QR code (state ${p.state})`);
  };

  const get = async (p: Payment, profile: DisplayProfile): Promise<CachedQr> => {
    if (!p.qrKind) throw new NotFoundError(`payment ${p.id} has no QR code yet (state ${p.state})`);
    const qr = await deps.cache.get(p.id, load(p), profile);
    if (qr.text !== null && p.qrText === null) deps.payments.setQrText(p.id, qr.text);
    return qr;
  };

  return {
    get,
    /** QR text we render ourselves (an Electrum code), cached under `key`. */
    text(key: string, text: string, profile: DisplayProfile): Promise<CachedQr> {
      return deps.cache.get(key, () => deps.images.fromText(text), profile);
    },
    /** Loads and renders in the background so the terminal's first fetch is a cache hit. */
    warm(p: Payment, profile: DisplayProfile): void {
      get(p, profile).catch((error: unknown) => {
        deps.logger.warn('could not prepare QR image', { paymentId: p.id, terminalId: p.terminalId, error: (error as Error).message });
      });
    },
  };
}

export type PaymentQr = ReturnType<typeof createPaymentQr>;
