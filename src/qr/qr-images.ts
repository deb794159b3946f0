import QRCode from 'qrcode';
import { ValidationError } from '../shared/errors.js';
import type { EgressPolicy } from '../shared/net/egress-policy.js';
import type { DisplayProfile } from './display-profile.js';
import type { GreyImage } from './grey-image.js';
import { invalidImage, maxBase64Length } from './image-input.js';
import type { ImageFetchOptions } from './image-fetch.js';
import { createQrDecoder, type QrTextDecoder } from './qr-decoder.js';
import { createQrPool, type QrPool } from './qr-pool.js';
import type { RenderedQr } from './qr-render.js';

export type { RenderedQr } from './qr-render.js';
export type { QrTextDecoder } from './qr-decoder.js';

/**
 * A payment's QR image, sanitised: only its greyscale pixels are kept (held by the QrImages
 * that made it, which alone can render it), no metadata.
 */
export interface QrSource {
  readonly width: number;
  readonly height: number;
  /**
   * The text the code carries, or null if no code can be read. Given at once for `fromText`;
   * for an image, read from the pixels on the first call only (jsQR, on a worker thread) and
   * remembered, so rendering never pays for it.
   */
  text(): Promise<string | null>;
}

export interface QrImagesOptions {
  /** Whole fetch of an image URL, redirects and body included. */
  fetchTimeoutMs: number;
  /** Largest image accepted, base64-decoded or fetched. */
  maxBytes: number;
  /** Largest decoded image, width × height; default 4,000,000. */
  maxPixels?: number | undefined;
  /** Which image URLs, hosts and addresses may be fetched; default https to public addresses, any host. */
  fetchPolicy?: EgressPolicy | undefined;
  /** Reads text from pixels; default a jsQR worker thread started on first use. */
  decoder?: QrTextDecoder | undefined;
  /** Worker threads that decode images and render profiles; default a pool of its own (see createQrPool). */
  pool?: QrPool | undefined;
}

export interface QrImages {
  /** PartPay's base64 JPEG/PNG, with or without a `data:` prefix. */
  fromBase64(data: string): Promise<QrSource>;
  /** An https URL of a JPEG/PNG (http only where the fetch policy allows), fetched with a timeout and a size cap. */
  fromUrl(url: string): Promise<QrSource>;
  /** QR text we render ourselves (error correction M). */
  fromText(text: string): Promise<QrSource>;
  /** The source laid out and encoded for a display profile; never reads its text. */
  render(source: QrSource, profile: DisplayProfile): Promise<RenderedQr>;
  /** Terminates the worker threads (those it made); later loads and renders fail. */
  close(): Promise<void>;
}

/**
 * Creates the QR image service: turns PartPay images (base64 or URL) and QR text into
 * sanitised sources, and renders them to terminals' display profiles. Decoding an image and
 * rendering a profile run on worker threads (sharp, layout, PNG deflate), and so does fetching
 * an image URL: the event loop only posts the text, URL or pixels and takes the answer. Reading the text of an
 * image is left to `source.text()`, asked only by those who need it. Image failures are
 * `UpstreamError`s ('upstream_invalid_response' for bad images); bad text is a `ValidationError`.
 * @example
 * const images = createQrImages({ fetchTimeoutMs: 5000, maxBytes: 1_000_000 });
 * const source = await images.fromBase64(order.qrCodeImage);
 * const { body, contentType, etag } = await images.render(source, terminal.displayProfile);
 * const text = await source.text(); // decoded now, once
 */
export function createQrImages(options: QrImagesOptions): QrImages {
  const maxPixels = options.maxPixels ?? 4_000_000;
  // Plain data, sent with every fetch task: the worker keeps one fetcher per distinct set.
  const fetchOptions: ImageFetchOptions = { timeoutMs: options.fetchTimeoutMs, maxBytes: options.maxBytes, policy: options.fetchPolicy };
  // Pixels of the sources we made. Weak, so a source dropped from every cache takes its
  // pixels with it.
  const pixels = new WeakMap<QrSource, GreyImage>();
  const ownDecoder = options.decoder === undefined ? createQrDecoder() : null;
  const decoder: QrTextDecoder = options.decoder ?? (ownDecoder as QrTextDecoder);
  const ownPool = options.pool === undefined ? createQrPool() : null;
  const pool: QrPool = options.pool ?? (ownPool as QrPool);

  function remember(image: GreyImage, readText: () => Promise<string | null>): QrSource {
    let text: Promise<string | null> | null = null;
    const source: QrSource = {
      width: image.width,
      height: image.height,
      text: () => {
        // A failed read (the worker died) is not remembered, so the next call tries again.
        text ??= readText().catch((error: unknown) => {
          text = null;
          throw error;
        });
        return text;
      },
    };
    pixels.set(source, image);
    return source;
  }

  function remembered(image: GreyImage): QrSource {
    return remember(image, () => decoder.decode(image));
  }

  function pixelsOf(source: QrSource): GreyImage {
    const known = pixels.get(source);
    if (!known) throw new Error('QR source was not made by this QrImages');
    return known;
  }

  return {
    fromBase64: async (data) => {
      // Checked here too, so an oversized answer is not copied to a worker only to be refused.
      if (data.length > maxBase64Length(options.maxBytes) + 64) throw invalidImage(`larger than ${options.maxBytes} bytes`);
      return remembered((await pool.run({ op: 'load', base64: data, maxBytes: options.maxBytes, maxPixels })).image);
    },
    // Fetched and decoded on the worker: the event loop sends the URL and takes the pixels.
    fromUrl: async (url) => remembered((await pool.run({ op: 'fetch', url, fetch: fetchOptions, maxPixels })).image),
    fromText: async (text) => {
      if (text.length === 0) throw new ValidationError('QR text is empty');
      let modules: QRCode.BitMatrix;
      try {
        modules = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
      } catch (error) {
        throw new ValidationError(`QR text cannot be encoded: ${error instanceof Error ? error.message : 'unknown error'}`, { cause: error });
      }
      // One pixel per module and no quiet zone: render adds the margin and scales exactly.
      const data = new Uint8Array(modules.size * modules.size);
      for (let i = 0; i < data.length; i++) data[i] = modules.data[i] ? 0 : 255;
      return remember({ data, width: modules.size, height: modules.size }, () => Promise.resolve(text));
    },
    render: async (source, profile) => {
      const { body, contentType, etag } = await pool.run({ op: 'render' as const, image: pixelsOf(source), profile });
      return { body: Buffer.from(body.buffer, body.byteOffset, body.length), contentType, etag };
    },
    async close() {
      await Promise.all([ownPool?.close(), (ownDecoder as { close?: () => Promise<void> } | null)?.close?.()]);
    },
  };
}

