import { createSecureContext } from 'node:tls';

/**
 * The cipher suites every TLS listener offers unless `server.tls.ciphers` says otherwise:
 * Mozilla's "intermediate" profile (v5.7) without its DHE suites, i.e. ECDHE key exchange
 * (forward secrecy) with AEAD ciphers only, and the three TLS 1.3 suites. No RSA key exchange,
 * no CBC, no SHA-1 MACs.
 */
export const DEFAULT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The lowest protocol version accepted unless `server.tls.minVersion` says otherwise. */
export const DEFAULT_TLS_MIN_VERSION = 'TLSv1.2';

/**
 * True if OpenSSL accepts `ciphers` as a cipher list (at least one suite it knows), so a typo
 * is a config error at start-up rather than a listener that fails every handshake.
 * @example isCipherList('ECDHE-RSA-AES128-GCM-SHA256') // true
 */
export function isCipherList(ciphers: string): boolean {
  try {
    createSecureContext({ ciphers });
    return true;
  } catch {
    return false;
  }
}
