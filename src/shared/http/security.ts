import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { AppError, ForbiddenError } from '../errors.js';
import { createFailureWindows } from './failure-windows.js';

/** 429: too many failed attempts from this source or with this credential. */
export class RateLimitedError extends AppError {
  readonly status = 429;
  constructor(message: string) {
    super('rate_limited', message);
  }
}

/** helmet's options for every answer: the one source of the security headers. */
export const SECURITY_HEADER_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: { 'default-src': ["'self'"], 'img-src': ["'self'", 'data:', 'blob:'], 'connect-src': ["'self'"], 'upgrade-insecure-requests': null },
  },
  crossOriginEmbedderPolicy: false,
  referrerPolicy: { policy: 'no-referrer' },
};

/** A header helmet sets (`value`) or removes (`value` null), in helmet's order. */
type HeaderOperation = readonly [name: string, value: string | null];

/**
 * What helmet does to a response with our options, recorded once on a stand-in response.
 * None of our options depends on the request (no nonces, no per-request functions), so every
 * answer gets exactly these operations (test/integration/security.test.ts compares them with
 * live helmet's on real responses).
 */
function helmetHeaderOperations(): HeaderOperation[] {
  const operations: HeaderOperation[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a non-string; the recorder only replays strings`);
      operations.push([name, value]);
      return recorder;
    },
    removeHeader(name: string) {
      operations.push([name, null]);
    },
  };
  let finished = false;
  helmet(SECURITY_HEADER_OPTIONS)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('helmet did not finish synchronously: its headers cannot be precomputed');
  return operations;
}

/**
 * Security headers for every answer, as helmet sets them: no sniffing, no framing from other
 * origins, a same-origin CSP for the pages, no referrer, HSTS (heeded by browsers over TLS
 * only). Computed once by helmet and replayed, rather than run through helmet's dozen
 * middlewares on each request.
 */
export function securityHeaders(): RequestHandler {
  const operations = helmetHeaderOperations();
  return (_req, res, next) => {
    for (const [name, value] of operations) {
      if (value === null) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

const shortHash = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);

/**
 * A short, non-reversible key for the credential an `Authorization` header presents: a
 * truncated SHA-256 of the whole secret, never the secret itself. Basic credentials are keyed
 * on the user name *and* the password, because user names (Electrum client and partner ids,
 * operator names) are not secret: keyed on the name alone, anyone could spend a user's
 * failure allowance with wrong passwords and lock the real holder out.
 * @example credentialKey('Basic cG9zLTE6c2VjcmV0') // 'basic:pos-1:' + 16 hex digits of SHA-256('pos-1:secret')
 */
export function credentialKey(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (basic?.[1]) {
    // Decoded, so spellings of the same user and password (padding, scheme case) share a key.
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const user = decoded.split(':')[0] ?? '';
    return `basic:${user.slice(0, 64)}:${shortHash(decoded)}`;
  }
  return `bearer:${shortHash(authorization)}`;
}

/** {@link credentialKey} of the request's `Authorization` header. */
export function presentedCredential(req: Request): string | null {
  return credentialKey(req.get('authorization'));
}

/**
 * Slows brute force: only answers that refused authentication (401/403) are counted, per
 * source address and per presented credential (user name and secret, see
 * {@link credentialKey}), in one-minute windows. Past the limit, further requests from that
 * source or with that credential get 429 with Retry-After until the window ends. Wrong
 * passwords sent for a user name never use up the allowance of that user's right password
 * (only the source sending them is held back). Requests that succeed, however many and however
 * long (long-polls), never count; while nothing has failed, a request costs a size check and a
 * `finish` listener.
 */
export function authFailureLimits(options: { perSourcePerMinute: number; perCredentialPerMinute: number }): RequestHandler[] {
  const bySource = createFailureWindows(options.perSourcePerMinute, 60_000);
  const byCredential = createFailureWindows(options.perCredentialPerMinute, 60_000);
  const sourceKey = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

  // One function for every response (its `this`), so a request allocates no closure for it.
  function countRefusal(this: Response): void {
    if (this.statusCode !== 401 && this.statusCode !== 403) return;
    bySource.count(sourceKey(this.req));
    const credential = presentedCredential(this.req);
    if (credential) byCredential.count(credential);
  }

  const check: RequestHandler = (req, res, next) => {
    if (bySource.size > 0 || byCredential.size > 0) {
      const credential = byCredential.size > 0 ? presentedCredential(req) : null;
      const wait = Math.max(bySource.size > 0 ? bySource.waitSeconds(sourceKey(req)) : 0, credential ? byCredential.waitSeconds(credential) : 0);
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        throw new RateLimitedError(`too many failed authentication attempts; retry after ${wait} s`);
      }
    }
    res.on('finish', countRefusal);
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
