import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { SimulatedMerchant } from './options.js';

export interface TokenIssuerOptions {
  merchants: readonly SimulatedMerchant[];
  audience: string;
  ttlSeconds: number;
  now?: () => number;
  /** Seconds after which a new token really stops working (the early-expiry fault), or null for its full lifetime. */
  earlyExpirySeconds?: () => number | null;
}

interface IssuedToken {
  merchant: SimulatedMerchant;
  expiresAt: number;
}

/** Constant-time string comparison (hashing first evens out the lengths). */
function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** client_secret_basic: `Basic base64(urlencode(id):urlencode(secret))` per RFC 6749 2.3.1. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('cache-control', 'no-store').json({ error, error_description: description });
}

/**
 * PartPay's OAuth2 token endpoint (Auth0 style): client credentials from a JSON body, a
 * form body (what openid-client sends) or HTTP basic; the audience is required. Tokens
 * are random opaque strings remembered with their client and expiry.
 */
export function createTokenIssuer(options: TokenIssuerOptions) {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, IssuedToken>();
  let issued = 0;

  function prune(): void {
    const t = now();
    for (const [token, info] of tokens) if (info.expiresAt <= t) tokens.delete(token);
  }

  /** Express handler for POST tokenPath (body already parsed). */
  function handle(req: Request, res: Response): void {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const text = (key: string): string | undefined => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
    const basic = basicCredentials(req.get('authorization'));
    const clientId = basic?.id ?? text('client_id');
    const secret = basic?.secret ?? text('client_secret');
    const grantType = text('grant_type');
    if (grantType === undefined) return oauthError(res, 400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
    if (clientId === undefined || secret === undefined) return oauthError(res, 401, 'invalid_client', 'client credentials are required');
    const merchant = options.merchants.find((m) => m.clientId === clientId);
    // Compare against a dummy when the client is unknown so timing does not reveal valid ids.
    const secretOk = safeEqual(secret, merchant?.clientSecret ?? '\u0000unknown-client');
    if (!merchant || !secretOk) {
      if (basic) res.set('www-authenticate', 'Basic realm="partpay-simulator"');
      return oauthError(res, 401, 'invalid_client', 'Unauthorized');
    }
    const audience = text('audience');
    if (audience === undefined) return oauthError(res, 400, 'invalid_request', 'audience is required');
    if (audience !== options.audience) return oauthError(res, 403, 'access_denied', `Service not found: ${audience}`);
    if (tokens.size > 1_000) prune();
    const token = randomBytes(32).toString('base64url');
    const early = options.earlyExpirySeconds?.() ?? null;
    tokens.set(token, { merchant, expiresAt: now() + (early === null ? options.ttlSeconds : Math.min(early, options.ttlSeconds)) * 1000 });
    issued += 1;
    res.status(200).set('cache-control', 'no-store').json({
      access_token: token,
      expires_in: options.ttlSeconds,
      scope: 'terminal:orders',
      token_type: 'Bearer',
    });
  }

  /** The merchant a valid, unexpired bearer token belongs to, or null. */
  function verify(token: string): SimulatedMerchant | null {
    const info = tokens.get(token);
    if (!info) return null;
    if (info.expiresAt <= now()) {
      tokens.delete(token);
      return null;
    }
    return info.merchant;
  }

  return { handle, verify, issued: () => issued };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;
