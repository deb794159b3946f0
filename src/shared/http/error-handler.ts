import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isAppError, NotFoundError, UpstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isStorageFailure } from '../db/open.js';

/** The one JSON error shape of the native API and the callback. */
export interface ErrorBody {
  error: { code: string; message: string; retryable: boolean; details?: Record<string, unknown>; requestId?: string };
}

/** Seconds to wait before retrying, by the code of a 5xx that may be retried. */
const RETRY_AFTER_SECONDS: Record<string, number> = {
  storage_unavailable: 30,
  service_unavailable: 5,
  upstream_unavailable: 5,
  upstream_timeout: 5,
  upstream_rejected: 5,
  upstream_invalid_response: 5,
  internal_error: 5,
  rate_limited: 60,
};

/**
 * Whether the same request, with the same Idempotency-Key, is safe to send again and may
 * succeed: every 429 and 5xx (idempotency keys make a repeat harmless), except an upstream
 * failure that says a repeat would only repeat it (a create PartPay refused: a new key is
 * needed); and a 400 whose body did not arrive whole. Anything else would fail the same way.
 * @example retryable(new ServiceUnavailableError('shutting down'), 503, 'service_unavailable') // true
 */
export function retryable(err: unknown, status: number, code: string): boolean {
  if (err instanceof UpstreamError) return err.retryable;
  return status === 429 || status >= 500 || code === 'request_aborted';
}

/** Errors body-parser raises, by its `type`, mapped to what a client can act on. */
const PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'body_too_large', message: 'request body is too large' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'request body encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'request body charset is not supported; use utf-8' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'request body was not received completely' },
  'request.size.invalid': { status: 400, code: 'invalid_body_length', message: 'request body length does not match Content-Length' },
  'stream.encoding.set': { status: 500, code: 'internal_error', message: 'internal error' },
};

/** A full disk as each database names it: SQLite's SQLITE_FULL, PostgreSQL's disk_full (SQLSTATE 53100). */
const DISK_FULL = new Set(['SQLITE_FULL', '53100']);

function isStorageError(err: unknown): err is { code: string } {
  return isStorageFailure(err);
}

function isClientError(err: unknown): err is { status: number; expose?: boolean; message?: unknown } {
  if (typeof err !== 'object' || err === null || !('status' in err)) return false;
  const status = (err as { status: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** 404 for any route nobody answered. Mounted after all routes, before the error handler. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`no route ${req.method} ${req.path}`));
};

/**
 * Writes every error as `{error: {code, message, details?, requestId}}`. Client mistakes get
 * their precise 4xx; anything unexpected is logged with its stack and answered as a bare 500
 * without internals. Mounted last.
 */
/**
 * A route family with its own error body (the Electrum interface answers with the spec's
 * ErrorDetail). Status and logging stay in the one handler; only the body differs.
 */
export interface ErrorFormat {
  prefix: string;
  body(err: unknown, status: number, code: string, message: string, details: Record<string, unknown> | undefined): unknown;
}

export function createErrorHandler(logger: Logger, formats: readonly ErrorFormat[] = []): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = res.locals['requestId'] as string | undefined;
    let status = 500;
    let body: Omit<ErrorBody['error'], 'retryable'> = { code: 'internal_error', message: 'internal error' };
    if (isAppError(err)) {
      status = err.status;
      body = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
      if (status >= 500) logger.warn('request failed upstream', { requestId, method: req.method, path: req.path, code: err.code, message: err.message });
    } else if (typeof err === 'object' && err !== null && 'type' in err && typeof err.type === 'string' && err.type in PARSER_ERRORS) {
      const mapped = PARSER_ERRORS[err.type] as (typeof PARSER_ERRORS)[string];
      status = mapped.status;
      body = { code: mapped.code, message: mapped.message };
    } else if (isStorageError(err)) {
      // The disk is full or failing: the request was not stored, and the caller must know.
      status = 503;
      body = {
        code: 'storage_unavailable',
        message: DISK_FULL.has(err.code)
          ? "tenderbridge's disk is full: nothing was stored; retry later"
          : err.code === 'SYNC_FAILED'
            ? "tenderbridge's disk failed while storing this: whether it was kept is known once tenderbridge has restarted; retry with the same Idempotency-Key"
            : 'tenderbridge could not write to its database: nothing was stored; retry later',
      };
      logger.error('storage failure', { requestId, method: req.method, path: req.path, code: err.code });
    } else if (isClientError(err)) {
      // Other HTTP errors raised by express or body-parser for the client's request (a path
      // that does not URL-decode, a body that does not decompress): a 4xx, never a 500.
      status = err.status;
      body = { code: 'bad_request', message: err.expose && typeof err.message === 'string' && err.message.length < 200 ? err.message : 'the request could not be read' };
    } else {
      logger.error('unexpected error', { requestId, method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const canRetry = retryable(err, status, body.code);
    // A limiter that refused sets its own (the end of its window); the others wait a fixed time.
    if (canRetry && (status >= 500 || status === 429) && !res.getHeader('Retry-After')) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS[body.code] ?? 5));
    const format = formats.find((f) => req.originalUrl.startsWith(f.prefix));
    if (format) {
      res.status(status).json(format.body(err, status, body.code, body.message, body.details));
      return;
    }
    res.status(status).json({ error: { code: body.code, message: body.message, retryable: canRetry, ...(body.details ? { details: body.details } : {}), ...(requestId ? { requestId } : {}) } } satisfies ErrorBody);
  };
}
