/**
 * QR images for terminals: PartPay's images and our own QR text, sanitised and rendered to
 * each terminal's display profile, with a per-payment cache.
 */
export { applyOverrides, displayProfileSchema, parseProfileOverrides, profileKey, profileOverridesSchema } from './display-profile.js';
export type { DisplayProfile, DisplayProfileInput, ProfileOverrides } from './display-profile.js';
export { createQrCache } from './qr-cache.js';
export type { QrCache, QrCacheOptions } from './qr-cache.js';
export { createQrImages } from './qr-images.js';
export type { QrImages, QrImagesOptions, QrSource, QrTextDecoder, RenderedQr } from './qr-images.js';
export { createQrPool } from './qr-pool.js';
export type { QrPool, QrPoolOptions } from './qr-pool.js';
