import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * PartPay's callback signature: HMAC-SHA256 over the form body without its trailing
 * `&signature=...` parameter, keyed with the pre-shared key as literal UTF-8 text (not
 * base64-decoded), as lowercase hex.
 * @example signCallbackBody('orderId=1&orderStatus=approved', 'iDt3PoeoSHu3r/mTbzkaHg')
 */
export function signCallbackBody(unsignedBody: string, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(unsignedBody, 'utf8').digest('hex');
}

/**
 * Builds a signed callback body: the fields in the given order, form-encoded, then
 * `&signature=` with the HMAC of everything before it. Used by the simulator.
 */
export function buildSignedCallbackBody(fields: ReadonlyArray<readonly [string, string]>, key: string): string {
  const unsigned = new URLSearchParams(fields.map(([k, v]) => [k, v])).toString();
  return `${unsigned}&signature=${signCallbackBody(unsigned, key)}`;
}

export type SignatureCheck =
  | { ok: true; keyIndex: number; unsignedBody: string }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'mismatch' };

const SIGNATURE_PARAM = /(?:^|&)signature=([^&]*)$/;

/**
 * Verifies a raw callback body against each accepted key (two during a key rotation),
 * comparing in constant time. Works on the raw text: parsed fields are never
 * re-serialised, because any change of order or encoding breaks the signature.
 * The signature must be the last parameter, as PartPay sends it.
 */
export function verifyCallbackBody(rawBody: string, keys: readonly string[]): SignatureCheck {
  const match = SIGNATURE_PARAM.exec(rawBody);
  if (!match) return { ok: false, reason: 'missing_signature' };
  const given = (match[1] ?? '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: 'malformed_signature' };
  const unsignedBody = rawBody.slice(0, match.index);
  const givenBytes = Buffer.from(given, 'hex');
  let matched = -1;
  // Check every key (no early exit) so timing does not reveal which key matched.
  keys.forEach((key, i) => {
    const expected = Buffer.from(signCallbackBody(unsignedBody, key), 'hex');
    if (timingSafeEqual(expected, givenBytes) && matched === -1) matched = i;
  });
  return matched === -1 ? { ok: false, reason: 'mismatch' } : { ok: true, keyIndex: matched, unsignedBody };
}
