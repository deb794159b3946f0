import cors from 'cors';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';

/** 403: a preflight from an origin that `server.cors.origins` does not list. */
export class OriginNotAllowedError extends AppError {
  readonly status = 403;
  constructor(message: string) {
    super('origin_not_allowed', message);
  }
}

/** Request headers a browser-based till may send cross-origin. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'X-Request-Id'] as const;
/** Response headers its script may read. */
export const CORS_EXPOSED_HEADERS = ['Retry-After', 'Location', 'Idempotent-Replayed', 'X-Request-Id', 'WWW-Authenticate'] as const;

/**
 * Cross-origin access for browser-based tills (the `cors` package), for the listed origins
 * only. A preflight from a listed origin is answered 204 with what it may send; one from any
 * other origin is refused with 403 `origin_not_allowed` (no CORS headers, so the browser
 * blocks it) before authentication, which a preflight never carries. Other requests go on
 * to their route, with `Access-Control-Allow-Origin` only for a listed origin. Null when no
 * origin is listed: nothing changes (CORS off).
 * @example router.use(corsFor({ origins: ['https://pos.example.com'], maxAgeSeconds: 600 }) ?? [])
 */
export function corsFor(options: { origins: readonly string[]; maxAgeSeconds: number }): RequestHandler | null {
  if (options.origins.length === 0) return null;
  const allowed = new Set(options.origins);
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    exposedHeaders: [...CORS_EXPOSED_HEADERS],
    maxAge: options.maxAgeSeconds,
    optionsSuccessStatus: 204,
  });
  return (req, res, next) => {
    const origin = req.get('origin');
    if (req.method === 'OPTIONS' && origin !== undefined && !allowed.has(origin)) {
      res.setHeader('Vary', 'Origin');
      throw new OriginNotAllowedError(`origin ${origin} may not call the terminal API: list it in server.cors.origins`);
    }
    handler(req, res, next);
  };
}
