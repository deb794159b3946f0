import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, Request } from 'express';
import { AppError, isAppError } from '../errors.js';
import { createFailureWindows } from './failure-windows.js';

/** 429: too many failed attempts from this source or with this credential. */
export class RateLimitedError extends AppError {
  readonly status = 429;
  constructor(message: string) {
    super('rate_limited', message);
  }
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

/** Set once a limiter has seen a request's refusal, so that a nested limiter's refusal is not counted twice. */
const COUNTED = 'authFailureCounted';

// A preflight from an origin not allowed (cors.ts) presents no credential: it is no guess at one.
const isRefusal = (err: unknown): boolean => isAppError(err) && (err.status === 401 || err.status === 403) && err.code !== 'origin_not_allowed';

/**
 * Slows brute force without ever holding back a caller that authenticates: an error
 * middleware (mounted after the routes, before the error handler) that sees each refusal
 * (401/403) and counts it per source address (the client, see `server.trustProxy`) and per
 * presented credential (user name and secret, see {@link credentialKey}; a route that reads
 * credentials from its body, like the console's sign-in, puts the key in `res.locals.credentialKey`), in one-minute
 * windows. Once a source or a credential has used up its failures, its further *failing*
 * attempts are answered 429 with Retry-After until the window ends. Valid credentials,
 * unauthenticated routes (health, readiness) and correctly signed callbacks never fail, so
 * they are never refused, from any address: behind a NAT or a proxy one address is every till
 * of a store. A request that succeeds costs nothing here.
 * @example app.use(routes); app.use(authFailureLimits({ perSourcePerMinute: 60, perCredentialPerMinute: 20 })); app.use(errorHandler);
 */
export function authFailureLimits(options: { perSourcePerMinute: number; perCredentialPerMinute: number }): ErrorRequestHandler {
  const bySource = createFailureWindows(options.perSourcePerMinute, 60_000);
  const byCredential = createFailureWindows(options.perCredentialPerMinute, 60_000);
  return (err, req, res, next) => {
    if (!isRefusal(err) || res.locals[COUNTED] === true) return next(err);
    res.locals[COUNTED] = true;
    const source = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    // A sign-in form presents its credential in the body: its route leaves the key in res.locals.
    const credential = (res.locals['credentialKey'] as string | undefined) ?? presentedCredential(req);
    const wait = Math.max(bySource.waitSeconds(source), credential ? byCredential.waitSeconds(credential) : 0);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      return next(new RateLimitedError(`too many failed authentication attempts; retry after ${wait} s`));
    }
    bySource.count(source);
    if (credential) byCredential.count(credential);
    next(err);
  };
}
