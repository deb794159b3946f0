import { UpstreamError } from '../shared/errors.js';

/**
 * What a terminal, a POS client or a payment's stored error may say when PartPay did not give
 * us a token: never PartPay's words about our credentials, nor our client id (the token
 * manager's status, `tenderbridge doctor`, the log and the loopback /readyz detail keep those
 * for operators). The code, status and retryability are kept; the original is the `cause`.
 * @example throw tokenFailure(await tokens.getToken(merchant).catch((e) => e));
 */
export function tokenFailure(error: unknown): unknown {
  if (!(error instanceof UpstreamError)) return error;
  const status = error.upstreamStatus === undefined ? '' : ` (HTTP ${error.upstreamStatus})`;
  const message =
    error.code === 'upstream_rejected'
      ? `PartPay did not accept this merchant's credentials${status}: the store's IT must check them (tenderbridge doctor)`
      : error.code === 'upstream_timeout'
        ? 'PartPay sign-in did not answer in time; try again'
        : `PartPay sign-in is unavailable${status}; try again`;
  return new UpstreamError(error.code as ConstructorParameters<typeof UpstreamError>[0], message, { cause: error, retryable: error.retryable, upstreamStatus: error.upstreamStatus });
}

/** PartPay answered a call 401 even with a fresh token: our credentials, in words for callers (see {@link tokenFailure}). */
export function credentialsRefused(operation: string, status: number): UpstreamError {
  return new UpstreamError('upstream_rejected', `PartPay refused ${operation}: it did not accept this merchant's credentials (HTTP ${status}); the store's IT must check them (tenderbridge doctor)`, {
    retryable: false,
    upstreamStatus: status,
  });
}
