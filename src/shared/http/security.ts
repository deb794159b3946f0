import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { AppError, ForbiddenError } from '../errors.js';

/** 429: too many failed attempts from this source or with this credential. */
export class RateLimitedError extends AppError {
  readonly status = 429;
  constructor(message: string) {
    super('rate_limited', message);
  }
}

/**
 * Security headers for every answer (helmet): no sniffing, no framing, a same-origin CSP for
 * the pages, no referrer, HSTS when served over TLS.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: { 'default-src': ["'self'"], 'img-src': ["'self'", 'data:', 'blob:'], 'connect-src': ["'self'"], 'upgrade-insecure-requests': null },
    },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
}

const failed = (_req: Request, res: { statusCode: number }) => res.statusCode !== 401 && res.statusCode !== 403;

/** A short, non-reversible name for whatever credential the request presents (never the secret). */
export function presentedCredential(req: Request): string | null {
  const header = req.get('authorization');
  if (!header) return null;
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic?.[1]) {
    const user = Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] ?? '';
    return `basic:${user.slice(0, 64)}`;
  }
  return `bearer:${createHash('sha256').update(header).digest('hex').slice(0, 16)}`;
}

/**
 * Slows brute force: failed authentications (401/403) are counted per source address and per
 * presented credential; past the limit within the window, further attempts get 429 with
 * Retry-After, whether or not they would succeed. Successful requests are not counted.
 */
export function authFailureLimits(options: { perSourcePerMinute: number; perCredentialPerMinute: number }): RequestHandler[] {
  const handler: RequestHandler = (_req, res, next) => {
    next(new RateLimitedError(`too many failed authentication attempts; retry after ${res.getHeader('Retry-After') ?? 60} s`));
  };
  const common = { windowMs: 60_000, standardHeaders: 'draft-7' as const, legacyHeaders: false, skipSuccessfulRequests: true, requestWasSuccessful: failed, handler };
  return [
    rateLimit({ ...common, limit: options.perSourcePerMinute, keyGenerator: (req) => `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}` }),
    rateLimit({
      ...common,
      limit: options.perCredentialPerMinute,
      skip: (req) => presentedCredential(req) === null,
      keyGenerator: (req) => presentedCredential(req) ?? 'none',
    }),
  ];
}

/**
 * Restricts a route to configured source addresses or CIDR ranges (e.g. the addresses PartPay
 * publishes for its callbacks). An empty list allows everyone.
 */
export function sourceAllowlist(entries: readonly string[], what: string): RequestHandler {
  if (entries.length === 0) return (_req, _res, next) => next();
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (req, _res, next) => {
    let address = req.ip ?? req.socket.remoteAddress ?? '';
    if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) address = address.slice(7);
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (!address || !list.check(address, type)) throw new ForbiddenError(`${what} is not accepted from ${address || 'an unknown address'}`);
    next();
  };
}
