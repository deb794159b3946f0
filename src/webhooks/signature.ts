import { createHmac } from 'node:crypto';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'Tenderbridge-Signature';

/**
 * The `Tenderbridge-Signature` value of a body sent at `unixSeconds`: the receiver recomputes
 * the HMAC over `"<t>.<body>"` with the shared secret and refuses a stale `t` (replays).
 * @example signatureHeader('whsec…', '{"seq":42}', 1764547200) // 't=1764547200,v1=5f1c…'
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}
