import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
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
 * Slows brute force: only answers that refused authentication (401/403) are counted, per
 * source address and per presented credential, in one-minute windows. Past the limit,
 * further requests from that source or with that credential get 429 with Retry-After until
 * the window ends. Requests that succeed, however many and however long (long-polls), never
 * count.
 */
export function authFailureLimits(options: { perSourcePerMinute: number; perCredentialPerMinute: number }): RequestHandler[] {
  const bySource = new RateLimiterMemory({ points: options.perSourcePerMinute, duration: 60 });
  const byCredential = new RateLimiterMemory({ points: options.perCredentialPerMinute, duration: 60 });
  const sourceKey = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';
  const limited = (res: RateLimiterRes | null, points: number) => (res !== null && res.consumedPoints >= points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0);

  const check: RequestHandler = async (req, res, next) => {
    const credential = presentedCredential(req);
    const [source, cred] = await Promise.all([bySource.get(sourceKey(req)), credential ? byCredential.get(credential) : Promise.resolve(null)]);
    const wait = Math.max(limited(source, options.perSourcePerMinute), limited(cred, options.perCredentialPerMinute));
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      throw new RateLimitedError(`too many failed authentication attempts; retry after ${wait} s`);
    }
    res.on('finish', () => {
      if (res.statusCode !== 401 && res.statusCode !== 403) return;
      // Counting never blocks the answer; a rejected promise only means "already over".
      bySource.penalty(sourceKey(req), 1).catch(() => undefined);
      if (credential) byCredential.penalty(credential, 1).catch(() => undefined);
    });
    next();
  };
  return [check];
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
