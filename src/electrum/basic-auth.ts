import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * HTTP basic authentication as the Electrum spec uses it (user name = the caller's
 * institution id, password agreed out of band).
 */

/** User name and password from a basic `Authorization` header. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * The `Authorization` header value for basic auth.
 * @example basicAuthHeader('demo-partner', 's3cret') // 'Basic ZGVtby1wYXJ0bmVyOnMzY3JldA=='
 */
export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Parses a basic `Authorization` header; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): BasicCredentials | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares secrets in constant time (hashing first so lengths do not leak). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** True when the header carries exactly the expected user name and password. */
export function basicAuthMatches(header: string | undefined, expected: BasicCredentials): boolean {
  const given = parseBasicAuth(header);
  if (!given) return false;
  // Both compared always, so a wrong user name costs the same time as a wrong password.
  const userOk = secretsEqual(given.username, expected.username);
  const passOk = secretsEqual(given.password, expected.password);
  return userOk && passOk;
}
