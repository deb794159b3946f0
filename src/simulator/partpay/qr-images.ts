import QRCode from 'qrcode';
import sharp from 'sharp';

/** Rendered JPEGs kept per order; the oldest are dropped beyond this many. */
const MAX_CACHED = 2_000;
/** Quiet zone in modules (the QR spec asks for 4) and pixels per module. */
const MARGIN = 4;
const SCALE = 6;

/**
 * Draws the QR modules straight into a greyscale pixel buffer. Going through `qrcode`'s PNG
 * output and decoding it again in sharp costs ~6x more per order, which the benchmark
 * (hundreds of concurrent creates) would measure instead of tenderbridge.
 */
function pixels(text: string): { data: Buffer; size: number } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = (modules.size + 2 * MARGIN) * SCALE;
  const data = Buffer.alloc(size * size, 255);
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; col++) {
      if (!modules.get(row, col)) continue;
      const x = (col + MARGIN) * SCALE;
      for (let dy = 0; dy < SCALE; dy++) {
        const start = ((row + MARGIN) * SCALE + dy) * size + x;
        data.fill(0, start, start + SCALE);
      }
    }
  }
  return { data, size };
}

/**
 * Renders each order's QR code once, as PartPay does: a real QR code (modules from
 * `qrcode`) of the customer-phone URL, encoded as JPEG by `sharp` (off the main thread).
 * Cached per order, and concurrent requests for one order share the render.
 */
export function createQrImages() {
  const cache = new Map<string, Promise<Buffer>>();

  function render(text: string): Promise<Buffer> {
    const { data, size } = pixels(text);
    return sharp(data, { raw: { width: size, height: size, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
  }

  /** The JPEG for `orderId` whose QR encodes `text`. */
  function jpeg(orderId: string, text: string): Promise<Buffer> {
    const cached = cache.get(orderId);
    if (cached) return cached;
    let pending: Promise<Buffer>;
    try {
      pending = render(text);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // A failed render must not be cached forever.
    pending.catch(() => cache.delete(orderId));
    cache.set(orderId, pending);
    if (cache.size > MAX_CACHED) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return pending;
  }

  return { jpeg };
}

export type QrImages = ReturnType<typeof createQrImages>;
