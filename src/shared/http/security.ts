import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { ForbiddenError } from '../errors.js';

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
