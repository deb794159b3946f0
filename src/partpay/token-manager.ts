import * as client from 'openid-client';
import type { Logger } from '../shared/logger.js';
import type { MerchantCredentials } from './types.js';
import { translateTokenError } from './token-error.js';

export interface TokenManagerOptions {
  /** PartPay's OAuth2 token endpoint (absolute URL). */
  tokenUrl: string;
  /** The `audience` PartPay expects in the client-credentials request. */
  audience: string;
  /** Timeout of one token request. */
  timeoutMs: number;
  /** Refresh this long before `expires_in` runs out (halved for very short-lived tokens). */
  refreshMarginSeconds: number;
  logger: Logger;
  /** Clock in epoch milliseconds; injectable so tests can move time. */
  now?: () => number;
  /** The fetch token requests go through (default: the platform's); the simulator passes an in-process one. */
  fetch?: client.CustomFetch;
}

/** One row of {@link TokenManager.status}: what ops needs to see, never the token itself. */
export interface TokenStatus {
  merchantId: string;
  clientId: string;
  /** Epoch ms of the current token, or null if none is held. */
  obtainedAt: number | null;
  expiresAt: number | null;
  refreshes: number;
  failures: number;
  lastError: string | null;
}

interface Entry {
  merchantId: string;
  clientId: string;
  /** The secret the configuration was built with; a rotated secret gets a new configuration. */
  secret: string;
  config: client.Configuration;
  token: string | null;
  obtainedAt: number | null;
  expiresAt: number | null;
  refreshAt: number | null;
  inflight: Promise<string> | null;
  refreshes: number;
  failures: number;
  lastError: string | null;
  lastFailureAt: number | null;
}

/** While an old token is still valid, a failed refresh is not retried sooner than this. */
const FAILED_REFRESH_BACKOFF_MS = 5_000;

/**
 * Caches one PartPay access token per OAuth client (client id), obtained with the
 * client-credentials grant through openid-client. Tokens are refreshed early, only one
 * refresh per credential is ever in flight (concurrent callers share it), and failures
 * come out as {@link UpstreamError}.
 * @example
 * const tokens = createTokenManager({ tokenUrl, audience, timeoutMs: 5000, refreshMarginSeconds: 300, logger });
 * const bearer = await tokens.getToken(merchant);
 */
export function createTokenManager(options: TokenManagerOptions) {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: 'partpay-token' });
  const entries = new Map<string, Entry>();
  const insecure = new URL(options.tokenUrl).protocol === 'http:';
  const server: client.ServerMetadata = { issuer: new URL(options.tokenUrl).origin, token_endpoint: options.tokenUrl };

  function buildConfig(cred: MerchantCredentials): client.Configuration {
    const config = new client.Configuration(server, cred.clientId, {}, client.ClientSecretPost(cred.clientSecret));
    // openid-client counts in seconds; fractions work because it multiplies back to ms.
    config.timeout = options.timeoutMs / 1000;
    // Only the loopback simulator (and tests) use plain http; production endpoints are https.
    if (insecure) client.allowInsecureRequests(config);
    if (options.fetch) config[client.customFetch] = options.fetch;
    return config;
  }

  function entryFor(cred: MerchantCredentials): Entry {
    const existing = entries.get(cred.clientId);
    if (existing && existing.secret === cred.clientSecret) return existing;
    const entry: Entry = {
      merchantId: cred.id,
      clientId: cred.clientId,
      secret: cred.clientSecret,
      config: buildConfig(cred),
      token: null,
      obtainedAt: null,
      expiresAt: null,
      refreshAt: null,
      inflight: null,
      refreshes: existing?.refreshes ?? 0,
      failures: existing?.failures ?? 0,
      lastError: existing?.lastError ?? null,
      lastFailureAt: null,
    };
    entries.set(cred.clientId, entry);
    return entry;
  }

  async function refresh(entry: Entry): Promise<string> {
    const started = now();
    try {
      const response = await client.clientCredentialsGrant(entry.config, { audience: options.audience });
      const lifetimeSeconds = response.expires_in ?? 3600;
      // A margin larger than half the lifetime would refresh constantly: fall back to half-life.
      const marginSeconds = lifetimeSeconds < 2 * options.refreshMarginSeconds ? lifetimeSeconds / 2 : options.refreshMarginSeconds;
      entry.token = response.access_token;
      entry.obtainedAt = started;
      entry.expiresAt = started + lifetimeSeconds * 1000;
      entry.refreshAt = entry.expiresAt - marginSeconds * 1000;
      entry.refreshes += 1;
      entry.lastError = null;
      entry.lastFailureAt = null;
      log.info('partpay token obtained', { clientId: entry.clientId, merchantId: entry.merchantId, expiresInSeconds: lifetimeSeconds });
      return response.access_token;
    } catch (err) {
      const error = await translateTokenError(err, entry.clientId);
      entry.failures += 1;
      entry.lastError = error.message;
      entry.lastFailureAt = now();
      log.warn('partpay token request failed', { clientId: entry.clientId, merchantId: entry.merchantId, code: error.code, reason: error.message });
      // Keep serving a token that has not expired yet: a brief IdP outage should not stop payments.
      if (entry.token !== null && entry.expiresAt !== null && now() < entry.expiresAt) return entry.token;
      throw error;
    }
  }

  /**
   * The bearer token for a merchant's credential: the cached one while it is fresh, else
   * a new one (one request in flight per credential).
   * @throws UpstreamError when no valid token can be obtained.
   */
  function getToken(cred: MerchantCredentials): Promise<string> {
    const entry = entryFor(cred);
    const t = now();
    if (entry.token !== null && entry.refreshAt !== null && t < entry.refreshAt) return Promise.resolve(entry.token);
    if (entry.inflight) return entry.inflight;
    const stillValid = entry.token !== null && entry.expiresAt !== null && t < entry.expiresAt;
    if (stillValid && entry.lastFailureAt !== null && t - entry.lastFailureAt < FAILED_REFRESH_BACKOFF_MS) {
      return Promise.resolve(entry.token as string);
    }
    const inflight = refresh(entry).finally(() => {
      entry.inflight = null;
    });
    entry.inflight = inflight;
    return inflight;
  }

  /** Forgets the cached token of a client (PartPay answered 401 with it). */
  function invalidate(clientId: string): void {
    const entry = entries.get(clientId);
    if (!entry) return;
    entry.token = null;
    entry.obtainedAt = null;
    entry.expiresAt = null;
    entry.refreshAt = null;
    log.info('partpay token invalidated', { clientId });
  }

  /** One row per credential seen, for /readyz and the console. */
  function status(): TokenStatus[] {
    return [...entries.values()].map((e) => ({
      merchantId: e.merchantId,
      clientId: e.clientId,
      obtainedAt: e.obtainedAt,
      expiresAt: e.expiresAt,
      refreshes: e.refreshes,
      failures: e.failures,
      lastError: e.lastError,
    }));
  }

  return { getToken, invalidate, status };
}

/** The token manager the PartPay client depends on. */
export type TokenManager = ReturnType<typeof createTokenManager>;
