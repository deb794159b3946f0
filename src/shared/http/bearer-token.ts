import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `authorization` is `Bearer <expected>`, compared in constant time (both sides
 * hashed first, so whatever their lengths). Never true when no token is configured.
 * @example bearerMatches(req.get('authorization'), config.ops.metricsToken)
 */
export function bearerMatches(authorization: string | undefined, expected: string | null): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match || expected === null) return false;
  const a = createHash('sha256').update(match[1] as string).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
