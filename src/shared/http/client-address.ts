import type { Request } from 'express';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * True for a loopback address (IPv4 127/8, IPv6 ::1, or 127/8 mapped into IPv6).
 * @example isLoopback('::ffff:127.0.0.1') // true
 */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

/**
 * True when the client of this request is on this machine: the TCP peer is loopback and, if a
 * proxy forwarded the request, the client it names is too. The forwarded client is believed
 * only from a proxy listed in `server.trustProxy` (express resolves it into `req.ip`, the
 * right-most address no trusted proxy added); a request forwarded by any other proxy, or named
 * only by an RFC 7239 `Forwarded` header (which we do not read), is not a loopback client.
 * So a reverse proxy on this machine never makes a loopback-only route public.
 * @example if (!clientIsLoopback(req)) throw new ForbiddenError('loopback clients only');
 */
export function clientIsLoopback(req: Request): boolean {
  if (!isLoopback(req.socket.remoteAddress)) return false;
  const forwardedFor = req.headers['x-forwarded-for'];
  if (forwardedFor === undefined) return req.headers['forwarded'] === undefined;
  // req.ips lists the forwarded addresses only when the peer is a trusted proxy.
  return req.ips.length > 0 && isLoopback(req.ip);
}
