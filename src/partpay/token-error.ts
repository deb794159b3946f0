import * as client from 'openid-client';
import { UpstreamError } from '../shared/errors.js';

/**
 * Funnels every failure of an openid-client token request into our {@link UpstreamError},
 * keeping `cause`, so callers see one error type whatever went wrong at the IdP.
 * The error description from the IdP is kept; secrets and tokens never are (openid-client
 * errors carry neither).
 */
export async function translateTokenError(err: unknown, clientId: string): Promise<UpstreamError> {
  const where = `PartPay token request for client ${clientId}`;
  if (err instanceof client.ResponseBodyError) {
    // An OAuth error body: 5xx (or 429) means the IdP is struggling, anything else is a refusal.
    const description = err.error_description ? `${err.error}: ${err.error_description}` : err.error;
    const transient = err.status >= 500 || err.status === 429;
    return new UpstreamError(transient ? 'upstream_unavailable' : 'upstream_rejected', `${where} failed (${err.status}): ${description}`, {
      cause: err,
      retryable: transient,
      upstreamStatus: err.status,
      details: { error: err.error, errorDescription: err.error_description ?? null },
    });
  }
  if (err instanceof client.ClientError) {
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') {
      return new UpstreamError('upstream_timeout', `${where} timed out`, { cause: err, retryable: true });
    }
    // A response that is not a conforming OAuth answer (HTML error page, wrong status):
    // the status decides whether trying again can help.
    const status = err.cause instanceof Response ? err.cause.status : undefined;
    const said = err.cause instanceof Response ? await describeOAuthBody(err.cause) : null;
    const reason = said ? `${err.message}: ${said}` : err.message;
    if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
      return new UpstreamError('upstream_rejected', `${where} failed (${status}): ${reason}`, { cause: err, retryable: false, upstreamStatus: status });
    }
    if (status !== undefined && status >= 200 && status < 300) {
      return new UpstreamError('upstream_invalid_response', `${where}: ${err.message}`, { cause: err, retryable: true, upstreamStatus: status });
    }
    return new UpstreamError('upstream_unavailable', `${where} failed${status === undefined ? '' : ` (${status})`}: ${reason}`, { cause: err, retryable: true, upstreamStatus: status });
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0]?.parameters;
    const description = challenge?.error_description ?? challenge?.error ?? 'authentication challenge';
    return new UpstreamError('upstream_rejected', `${where} was refused (${err.status}): ${description}`, {
      cause: err,
      retryable: false,
      upstreamStatus: err.status,
    });
  }
  // fetch() rejects with a TypeError for connection refused, DNS failures, resets.
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError('upstream_unavailable', `${where} failed: ${message}`, { cause: err, retryable: true });
}

/** Reads an OAuth-style error out of a response openid-client refused to parse (e.g. a 503). */
async function describeOAuthBody(response: Response): Promise<string | null> {
  if (response.bodyUsed) return null;
  try {
    const json: unknown = await response.json();
    if (json === null || typeof json !== 'object') return null;
    const { error, error_description: description } = json as Record<string, unknown>;
    const parts = [error, description].filter((p): p is string => typeof p === 'string' && p.length > 0);
    return parts.length > 0 ? parts.join(': ') : null;
  } catch {
    return null;
  }
}
