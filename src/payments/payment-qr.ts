import type { DisplayProfile } from '../qr/display-profile.js';
import type { QrCache, QrImages, RenderedQr } from '../qr/index.js';
import type { Logger } from '../shared/logger.js';
import { NotFoundError } from '../shared/errors.js';
import type { Port } from '../storage/port.js';
import type { PaymentRepository } from './repository.js';
import type { Payment } from './types.js';

/**
 * A payment's QR image in a display profile, and on demand the text it carries. PartPay's
 * image (base64 or URL) is loaded once, sanitised by sharp and cached per payment. Its text is
 * read only when someone asks (the Electrum bridge, or a terminal that draws its own code),
 * never to show the image, and is then remembered on the payment.
 */
export function createPaymentQr(deps: { images: QrImages; cache: QrCache; payments: Pick<Port<PaymentRepository>, 'setQrText'>; logger: Logger }) {
  const load = (p: Payment) => () => {
    if (p.qrKind === 'base64' && p.qrData) return deps.images.fromBase64(p.qrData);
    if (p.qrKind === 'url' && p.qrData) return deps.images.fromUrl(p.qrData);
    if (p.qrKind === 'text' && p.qrData) return deps.images.fromText(p.qrData);
    throw new NotFoundError(`payment ${p.id} has no QR code (state ${p.state})`);
  };
  const assertHasQr = (p: Payment): void => {
    if (!p.qrKind) throw new NotFoundError(`payment ${p.id} has no QR code yet (state ${p.state})`);
  };

  const get = async (p: Payment, profile: DisplayProfile): Promise<RenderedQr> => {
    assertHasQr(p);
    return deps.cache.get(p.id, load(p), profile);
  };

  return {
    get,
    /**
     * The text inside the payment's QR, or null if its image holds no readable code. Read from
     * the image the first time (then stored on the payment, so `qr.text` shows it), after that
     * from the payment. A bad image fails as `get` does (UpstreamError).
     */
    async readText(p: Payment): Promise<string | null> {
      assertHasQr(p);
      if (p.qrText !== null) return p.qrText;
      const text = await (await deps.cache.source(p.id, load(p))).text();
      if (text !== null) await deps.payments.setQrText(p.id, text);
      return text;
    },
    /** QR text we render ourselves (an Electrum code), cached under `key`. */
    renderText(key: string, text: string, profile: DisplayProfile): Promise<RenderedQr> {
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
