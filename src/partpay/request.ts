import { Agent, request, type Dispatcher } from 'undici';
import { UpstreamError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { headerValue, isResponseTimeout, startDeadline } from '../shared/outbound-http.js';
import { credentialsRefused, tokenFailure } from './credential-errors.js';
import { describeErrorBody } from './error-body.js';
import type { PartPayProtocol } from './protocol.js';
import type { TokenManager } from './token-manager.js';
import type { MerchantCredentials } from './types.js';

export interface RequesterOptions {
  apiBaseUrl: string;
  protocol: PartPayProtocol;
  timeoutMs: number;
  retries: { attempts: number; initialDelayMs: number };
  tokens: Pick<TokenManager, 'getToken' | 'invalidate'>;
  logger: Logger;
  /** Told about every attempt (metrics): outcome, duration, and PartPay's `Date` header. */
  observe?: ((attempt: PartPayAttemptInfo) => void) | undefined;
  /** Awaited before each call: our own record of what we are about to ask must be durable first. */
  beforeSend?: (() => Promise<void>) | undefined;
  /** Where calls go (default: a keep-alive pool of our own); the simulator passes an in-process one. */
  dispatcher?: Dispatcher | undefined;
}

/** One attempt of a Terminal API call, as reported to {@link RequesterOptions.observe}. */
export interface PartPayAttemptInfo {
  operation: string;
  outcome: 'ok' | 'http_error' | 'timeout' | 'network';
  status: number | null;
  durationMs: number;
  /** PartPay's `Date` response header, for clock-skew checks. */
  date: string | null;
  /** Our clock when the response arrived. */
  receivedAt: number;
}

export interface PartPayCall {
  /** Short name for logs and error messages, e.g. `createOrder`. */
  operation: string;
  method: 'GET' | 'POST';
  /** Path below the API base URL, already filled in. */
  path: string;
  body?: unknown;
  /** Sent in the configured idempotency header (if any), identical on every attempt. */
  idempotencyKey?: string;
}

/** Longest wait we accept from a `Retry-After` header: a terminal is waiting. */
export const MAX_RETRY_AFTER_MS = 5_000;

type Attempt = { kind: 'response'; status: number; text: string; retryAfterMs: number | null; date: string | null } | { kind: 'timeout'; error: unknown } | { kind: 'network'; error: unknown };

/**
 * Sends Terminal API calls: bearer token, merchant-id header, idempotency header, timeout,
 * retries with the same data on network errors, timeouts, 5xx and 429, one re-authentication
 * after a 401, and translation of every failure to {@link UpstreamError}.
 * @example const { json } = await createPartPayRequester(opts).send(merchant, { operation: 'getOrder', method: 'GET', path: '/terminal/orders/1' });
 */
export function createPartPayRequester(options: RequesterOptions) {
  const base = options.apiBaseUrl.replace(/\/+$/, '');
  const attempts = Math.max(1, options.retries.attempts);
  // One keep-alive pool for this client. Idle sockets are unref'd by undici, so the pool
  // never keeps the process from exiting and needs no close.
  const dispatcher = options.dispatcher ?? new Agent();

  async function attemptOnce(merchant: MerchantCredentials, call: PartPayCall, token: string): Promise<Attempt> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      // What fetch sent; some API gateways refuse a request without a User-Agent.
      'user-agent': 'node',
      [options.protocol.merchantIdHeader]: merchant.partpayMerchantId,
    };
    if (call.idempotencyKey !== undefined && options.protocol.idempotencyHeader !== null) {
      headers[options.protocol.idempotencyHeader] = call.idempotencyKey;
    }
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    // The deadline covers the whole attempt (connect, headers, body), so an attempt never
    // outlasts timeoutMs: the refund safety delay is computed from that bound.
    const deadline = startDeadline(options.timeoutMs);
    try {
      const response = await request(`${base}${call.path}`, {
        method: call.method,
        headers,
        body: call.body === undefined ? null : JSON.stringify(call.body),
        dispatcher,
        signal: deadline.signal,
        // undici's own timers (300 s by default) must never cut in before the deadline.
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      // Always read the body, error statuses too: that frees the socket for the next call.
      const text = await response.body.text();
      return {
        kind: 'response',
        status: response.statusCode,
        text,
        retryAfterMs: parseRetryAfter(headerValue(response.headers, 'retry-after')),
        date: headerValue(response.headers, 'date'),
      };
    } catch (error) {
      return deadline.expired || isResponseTimeout(error) ? { kind: 'timeout', error } : { kind: 'network', error };
    } finally {
      deadline.clear();
    }
  }

  function backoff(attempt: number): number {
    return options.retries.initialDelayMs * 2 ** (attempt - 1);
  }

  /**
   * Sends one call, retrying as described above.
   * @returns the 2xx status and body text.
   * @throws UpstreamError
   */
  async function send(merchant: MerchantCredentials, call: PartPayCall): Promise<{ status: number; text: string }> {
    await options.beforeSend?.();
    const log = options.logger.child({ component: 'partpay', operation: call.operation, merchantId: merchant.id });
    let reauthenticated = false;
    let last: Attempt | null = null;
    for (let attempt = 1; attempt <= attempts; ) {
      let token: string;
      try {
        token = await options.tokens.getToken(merchant);
      } catch (error) {
        // A token endpoint hiccup is as transient as an API one: retry it the same way.
        if (error instanceof UpstreamError && error.retryable && attempt < attempts) {
          log.warn('partpay token request failed, retrying', { attempt, error: error.message });
          await sleep(backoff(attempt));
          attempt += 1;
          continue;
        }
        throw tokenFailure(error);
      }
      const started = Date.now();
      const result = await attemptOnce(merchant, call, token);
      last = result;
      const durationMs = Date.now() - started;
      options.observe?.({
        operation: call.operation,
        outcome: result.kind === 'response' ? (result.status >= 200 && result.status < 300 ? 'ok' : 'http_error') : result.kind,
        status: result.kind === 'response' ? result.status : null,
        durationMs,
        date: result.kind === 'response' ? result.date : null,
        receivedAt: Date.now(),
      });
      if (result.kind === 'response') {
        log.debug('partpay call', { method: call.method, path: call.path, status: result.status, attempt, durationMs });
        if (result.status >= 200 && result.status < 300) return { status: result.status, text: result.text };
        if (result.status === 401 && !reauthenticated) {
          // The token may have been revoked or rotated upstream: one retry with a fresh one, not counted.
          reauthenticated = true;
          options.tokens.invalidate(merchant.clientId);
          continue;
        }
        const transient = result.status >= 500 || result.status === 429;
        if (result.status === 401) {
          // What PartPay says about our credentials is for operators, never for the terminal.
          log.warn('partpay refused our credentials', { status: result.status, said: describeErrorBody(result.text) });
          throw credentialsRefused(call.operation, result.status);
        }
        if (!transient) throw rejected(call, result.status, result.text);
        if (attempt < attempts) {
          const delay = result.retryAfterMs !== null ? Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS) : backoff(attempt);
          log.warn('partpay call failed, retrying', { status: result.status, attempt, delayMs: delay });
          await sleep(delay);
        }
      } else {
        log.warn('partpay call failed', { reason: result.kind, attempt, durationMs, error: errorMessage(result.error) });
        if (attempt < attempts) await sleep(backoff(attempt));
      }
      attempt += 1;
    }
    throw exhausted(call, last);
  }

  return { send };
}

function rejected(call: PartPayCall, status: number, text: string): UpstreamError {
  const said = describeErrorBody(text);
  return new UpstreamError('upstream_rejected', `PartPay refused ${call.operation} (${status})${said ? `: ${said}` : ''}`, {
    retryable: false,
    upstreamStatus: status,
    details: said ? { upstreamMessage: said } : undefined,
  });
}

function exhausted(call: PartPayCall, last: Attempt | null): UpstreamError {
  if (last?.kind === 'timeout') {
    return new UpstreamError('upstream_timeout', `PartPay ${call.operation} timed out`, { cause: last.error, retryable: true });
  }
  if (last?.kind === 'response') {
    const said = describeErrorBody(last.text);
    return new UpstreamError('upstream_unavailable', `PartPay ${call.operation} failed (${last.status})${said ? `: ${said}` : ''}`, {
      retryable: true,
      upstreamStatus: last.status,
    });
  }
  return new UpstreamError('upstream_unavailable', `PartPay ${call.operation} failed: ${errorMessage(last?.error)}`, {
    cause: last?.error,
    retryable: true,
  });
}

/** `Retry-After` in seconds (HTTP dates are rare from APIs and treated as absent). */
function parseRetryAfter(value: string | null): number | null {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return null;
  return Number(value) * 1000;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // Wrapped errors (e.g. fetch's "fetch failed") hide the socket error in `cause`.
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
