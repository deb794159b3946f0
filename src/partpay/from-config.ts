import type { Config } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import type { EgressPolicy } from '../shared/net/egress-policy.js';
import { createPartPayClient, type PartPayClient } from './client.js';
import { MAX_RETRY_AFTER_MS, type RequesterOptions } from './request.js';
import type { TokenManager } from './token-manager.js';

/** The PartPay client as the config describes it; shared by the daemon and the CLI. */
export function partpayClientFromConfig(config: Config, tokens: Pick<TokenManager, 'getToken' | 'invalidate'>, logger: Logger, hooks: Pick<RequesterOptions, 'observe' | 'beforeSend' | 'dispatcher'> = {}): PartPayClient {
  return createPartPayClient({
    apiBaseUrl: config.partpay.apiBaseUrl,
    protocol: config.partpay.protocol,
    callbackUrl: config.partpay.callbackUrl ?? null,
    timeoutMs: config.partpay.requestTimeoutMs,
    retries: config.partpay.retries,
    tokens,
    logger,
    observe: hooks.observe,
    beforeSend: hooks.beforeSend,
    dispatcher: hooks.dispatcher,
  });
}

/**
 * Where the QR image URLs PartPay sends may be fetched from (`partpay.imageFetch`). The API's
 * own origin (scheme, host and port of apiBaseUrl) is always allowed: a relative QR URL
 * resolves there, and we already trust it with our credentials.
 * @example createQrImages({ fetchTimeoutMs, maxBytes, fetchPolicy: qrImageFetchPolicy(config) })
 */
export function qrImageFetchPolicy(config: Config): EgressPolicy {
  const { allowedHosts, allowLoopbackHttp, allowedAddresses } = config.partpay.imageFetch;
  return { key: 'partpay.imageFetch', allowedHosts, allowedOrigins: [new URL(config.partpay.apiBaseUrl).origin], allowLoopbackHttp, allowedAddresses };
}

/**
 * The longest one PartPay call can take, every part counted: each attempt's token request and
 * call, the one re-authentication after a 401, and the waits between attempts (backoff or a
 * capped Retry-After), plus a margin. An owed row that backs up a call made at once is due
 * only after this, so it never races the call (within the process the core also never runs
 * two attempts of one refund at once).
 * @example callBoundMs(config) // 5 attempts of 15 s calls and 10 s tokens: about 3 min
 */
export function callBoundMs(config: Config): number {
  const { requestTimeoutMs, tokenTimeoutMs, retries } = config.partpay;
  const attempts = Math.max(1, retries.attempts);
  const perTry = requestTimeoutMs + tokenTimeoutMs;
  let waits = 0;
  for (let attempt = 1; attempt < attempts; attempt += 1) waits += Math.max(retries.initialDelayMs * 2 ** (attempt - 1), MAX_RETRY_AFTER_MS);
  return (attempts + 1) * perTry + waits + 5_000;
}
