import { AppError, type AppErrorOptions } from '../shared/errors.js';
import { errorDetail } from './error-detail.js';
import type { ErrorDetail, ErrorType } from './schema-models.js';

/**
 * A failure of an Electrum operation, answered with the spec's ErrorDetail. `status` follows
 * the spec's reading of HTTP codes: 400 failed, 404 unknown record, 500/504 unknown, 503 failed.
 */
export class ElectrumError extends AppError {
  readonly status: number;
  readonly errorType: ErrorType;
  readonly tranId: string | undefined;
  readonly originalId: string | undefined;
  readonly detailMessage: string | undefined;
  private readonly body: ErrorDetail | undefined;

  constructor(
    status: number,
    errorType: ErrorType,
    message: string,
    options: AppErrorOptions & { tranId?: string | undefined; originalId?: string | undefined; detailMessage?: string | undefined; body?: ErrorDetail | undefined } = {},
  ) {
    super(errorType.toLowerCase(), message, options);
    this.status = status;
    this.errorType = errorType;
    this.tranId = options.tranId;
    this.originalId = options.originalId;
    this.detailMessage = options.detailMessage;
    this.body = options.body;
  }

  toErrorDetail(): ErrorDetail {
    if (this.body) return this.body;
    return errorDetail({ errorType: this.errorType, errorMessage: this.message, detailMessage: this.detailMessage ?? this.message, tranId: this.tranId, originalId: this.originalId });
  }
}

/** Maps any error the shared handler saw on a /qr/v1 route to an ErrorDetail body. */
export function electrumErrorBody(err: unknown, status: number, code: string, message: string, details: Record<string, unknown> | undefined): ErrorDetail {
  if (err instanceof ElectrumError) return err.toErrorDetail();
  const errorType: ErrorType = status === 401 || status === 403 || status === 429 ? 'GENERAL_ERROR' : status === 404 ? 'FUNCTION_NOT_SUPPORTED' : status < 500 ? 'FORMAT_ERROR' : status === 503 || status === 504 ? 'UPSTREAM_UNAVAILABLE' : 'GENERAL_ERROR';
  const short = status === 401 ? 'Unauthorized' : status === 429 ? 'Too many failed attempts' : status === 403 ? 'Forbidden' : status === 404 ? 'No such operation' : status < 500 ? 'Malformed request' : 'Internal error';
  return errorDetail({ errorType, errorMessage: status < 500 && status !== 404 && status !== 401 && status !== 403 && status !== 429 ? truncate(message) : short, detailMessage: { code, message, ...(details ?? {}) } });
}

function truncate(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 39)}…`;
}
