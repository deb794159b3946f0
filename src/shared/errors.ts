/**
 * The application's error hierarchy. Routes throw these; one error middleware, mounted
 * last, turns them into responses. Every error carries a stable machine `code`, the HTTP
 * `status` it maps to, optional `details` a client can act on, and the `cause` it wraps.
 */
export interface AppErrorOptions {
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** Base class: never thrown directly, use a subclass. */
export abstract class AppError extends Error {
  abstract readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

/** 400: the request is malformed or fails validation. */
export class ValidationError extends AppError {
  readonly status = 400;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('invalid_request', message, options);
  }
}

/** 401: missing or wrong credentials. */
export class AuthenticationError extends AppError {
  readonly status = 401;
  constructor(message = 'missing or invalid credentials', options: AppErrorOptions = {}) {
    super('unauthenticated', message, options);
  }
}

/** 403: authenticated, but not allowed to touch this resource. */
export class ForbiddenError extends AppError {
  readonly status = 403;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('forbidden', message, options);
  }
}

/** 404: no such resource (or not visible to this caller). */
export class NotFoundError extends AppError {
  readonly status = 404;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('not_found', message, options);
  }
}

/** 409: the request conflicts with the resource's current state. */
export class ConflictError extends AppError {
  readonly status = 409;
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(code, message, options);
  }
}

/** 421: the Host header names a host this listener does not answer to (DNS rebinding, a misrouted request). */
export class MisdirectedRequestError extends AppError {
  readonly status = 421;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('host_not_allowed', message, options);
  }
}

/** 415: the body is not in a content type this route accepts. */
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('unsupported_media_type', message, options);
  }
}

/** 422: well-formed, but the idempotency key was used for a different request. */
export class IdempotencyMismatchError extends AppError {
  readonly status = 422;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('idempotency_key_reused', message, options);
  }
}

/**
 * 502/503/504: an upstream provider failed. `retryable` says whether the same request may
 * be sent again; `upstreamMessage` keeps what the provider said.
 */
export class UpstreamError extends AppError {
  readonly status: number;
  readonly retryable: boolean;
  readonly upstreamStatus: number | undefined;
  constructor(
    code: 'upstream_rejected' | 'upstream_unavailable' | 'upstream_timeout' | 'upstream_invalid_response',
    message: string,
    options: AppErrorOptions & { retryable: boolean; upstreamStatus?: number | undefined } ,
  ) {
    super(code, message, options);
    this.retryable = options.retryable;
    this.upstreamStatus = options.upstreamStatus;
    this.status = code === 'upstream_timeout' ? 504 : code === 'upstream_unavailable' ? 503 : 502;
  }
}

/** 503: we cannot serve right now (shutting down, database unavailable). */
export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  constructor(message: string, options: AppErrorOptions = {}) {
    super('service_unavailable', message, options);
  }
}

/** Narrowing guard for {@link AppError}. */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
