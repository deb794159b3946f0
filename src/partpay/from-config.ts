import type { Config } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import { createPartPayClient, type PartPayClient } from './client.js';
import type { RequesterOptions } from './request.js';
import type { TokenManager } from './token-manager.js';

/** The PartPay client as the config describes it; shared by the daemon and the CLI. */
export function partpayClientFromConfig(config: Config, tokens: Pick<TokenManager, 'getToken' | 'invalidate'>, logger: Logger, hooks: Pick<RequesterOptions, 'observe' | 'beforeSend'> = {}): PartPayClient {
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
  });
}

/** How long an immediate refund call may take, all retries included, before its outbox row is due. */
export function refundSafetyDelayMs(config: Config): number {
  return config.partpay.requestTimeoutMs * config.partpay.retries.attempts + 5_000;
}
