import type { RequestHandler } from 'express';
import { MisdirectedRequestError } from '../errors.js';
import { parseHostPattern } from '../net/egress-policy.js';
import { isLoopbackHost } from '../net/ip-address.js';

/** The names a loopback listener answers to unless `server.allowedHosts` says otherwise. */
export const LOOPBACK_HOST_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The host names a listener accepts in the Host header: `allowedHosts` when configured; on a
 * loopback bind, the loopback names, the bind address and `publicUrl`'s host; elsewhere null
 * (any: a LAN or public listener is reached by names we cannot know).
 * @example allowedHostsFor({ host: '127.0.0.1' }) // ['127.0.0.1', 'localhost', '[::1]']
 */
export function allowedHostsFor(server: { host: string; allowedHosts?: readonly string[] | undefined; publicUrl?: string | undefined }): string[] | null {
  if (server.allowedHosts !== undefined) return [...server.allowedHosts];
  if (!isLoopbackHost(server.host)) return null;
  const bind = server.host.includes(':') ? `[${server.host}]` : server.host;
  const names = [...LOOPBACK_HOST_NAMES, bind, ...(server.publicUrl ? [new URL(server.publicUrl).hostname] : [])];
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

/**
 * Refuses (421) a request whose Host header names a host not in `allowed` (names, IP literals,
 * "*.domain" for subdomains; any port). This defeats DNS rebinding: a web page whose own name
 * resolves to this machine cannot use a visitor's browser to reach unauthenticated routes
 * (metrics, readiness, the pages). A request without a Host header (HTTP/1.0) comes from no
 * browser and passes. `null` allows every host.
 * @example app.use(hostCheck(allowedHostsFor(config.server)));
 */
export function hostCheck(allowed: readonly string[] | null): RequestHandler {
  if (allowed === null) return (_req, _res, next) => next();
  const patterns = allowed.flatMap((entry) => {
    const pattern = parseHostPattern(entry);
    return pattern === null ? [] : [pattern];
  });
  const accepts = (hostname: string) => patterns.some((p) => (p.subdomains ? hostname.endsWith(`.${p.host}`) : hostname === p.host));
  return (req, _res, next) => {
    const header = req.headers.host;
    if (header === undefined) return next();
    let hostname: string | null = null;
    try {
      // Only a host and a port: anything else (user info, a path) makes it another host.
      if (/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(header)) hostname = new URL(`http://${header}`).hostname;
    } catch {
      hostname = null;
    }
    if (hostname === null || !accepts(hostname)) throw new MisdirectedRequestError(`this listener does not answer to the host "${header.slice(0, 100)}" (server.allowedHosts)`);
    next();
  };
}
