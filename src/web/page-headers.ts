import type { RequestHandler } from 'express';

/**
 * Only our own origin: scripts, styles and fetches from 'self', no inline script or style.
 * Images may also be `blob:` (the terminal fetches QR images with its key and shows them
 * from object URLs) and `data:`; nothing may frame the pages.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Security and caching headers of every web page and asset. */
export const pageHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
  next();
};
