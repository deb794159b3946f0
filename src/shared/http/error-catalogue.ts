import { z } from 'zod';

/**
 * Every `error.code` the native API can answer, with its status and what a client does about
 * it. The one list behind the OpenAPI document's error responses and README's error table
 * (a test checks that README names each code).
 */
export const ERROR_CODES = [
  { code: 'invalid_request', status: 400, meaning: 'A field, query or path parameter or header fails validation; the message names it and details.problems lists every problem' },
  { code: 'invalid_json', status: 400, meaning: 'The body is not valid JSON' },
  { code: 'bad_request', status: 400, meaning: 'The request could not be read (a path that does not URL-decode, a body that does not decompress)' },
  { code: 'request_aborted', status: 400, meaning: 'The body was not received completely' },
  { code: 'invalid_body_length', status: 400, meaning: 'The body length does not match Content-Length' },
  { code: 'unauthenticated', status: 401, meaning: 'Missing, malformed or unknown terminal key (WWW-Authenticate says which)' },
  { code: 'origin_not_allowed', status: 403, meaning: 'A CORS preflight from an origin that server.cors.origins does not list (answered to OPTIONS only)' },
  { code: 'not_found', status: 404, meaning: "No such payment, QR code or route (another terminal's payment answers this too)" },
  { code: 'already_approved', status: 409, meaning: 'A cancel came too late: the customer paid; refund instead' },
  { code: 'already_final', status: 409, meaning: 'A cancel of a payment that already ended' },
  { code: 'refund_exceeds_amount', status: 409, meaning: 'More than is left to refund' },
  { code: 'not_refundable', status: 409, meaning: 'The payment cannot be refunded (not paid, or an Electrum payment the POS confirmed)' },
  { code: 'nothing_left_to_refund', status: 409, meaning: 'Everything was refunded already' },
  { code: 'refund_pending', status: 409, meaning: 'Another refund of this payment is still pending' },
  { code: 'refund_declined', status: 409, meaning: 'The provider declined the refund; the body also carries the failed refund and the payment' },
  { code: 'body_too_large', status: 413, meaning: 'The body is larger than server.bodyLimit' },
  { code: 'unsupported_media_type', status: 415, meaning: 'A body that is not application/json' },
  { code: 'unsupported_encoding', status: 415, meaning: 'A Content-Encoding tenderbridge cannot decode' },
  { code: 'unsupported_charset', status: 415, meaning: 'A charset other than utf-8' },
  { code: 'host_not_allowed', status: 421, meaning: 'The Host header names a host this listener does not answer to (server.allowedHosts)' },
  { code: 'idempotency_key_reused', status: 422, meaning: 'The Idempotency-Key was used for a different request' },
  { code: 'rate_limited', status: 429, meaning: 'Too many failed authentications from this address or with this key' },
  { code: 'internal_error', status: 500, meaning: 'A bug: logged with its stack, answered without internals' },
  { code: 'upstream_rejected', status: 502, meaning: 'The provider refused the request' },
  { code: 'upstream_invalid_response', status: 502, meaning: 'The provider answered something unusable (e.g. a QR image holding no readable code)' },
  { code: 'upstream_unavailable', status: 503, meaning: 'The provider could not be reached' },
  { code: 'storage_unavailable', status: 503, meaning: "tenderbridge could not write to its database (disk full or failing): nothing was stored; retry later" },
  { code: 'service_unavailable', status: 503, meaning: 'tenderbridge is shutting down or cannot serve right now' },
  { code: 'upstream_timeout', status: 504, meaning: 'The provider did not answer in time' },
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number]['code'];

/** Statuses whose retryable errors carry `Retry-After` (seconds): 429 and 5xx (src/shared/http/error-handler.ts). */
export const RETRY_AFTER_STATUSES: readonly number[] = [429, 500, 502, 503, 504];

/** The codes answered with `status`. */
export function codesOf(status: number): ErrorCode[] {
  return ERROR_CODES.filter((e) => e.status === status).map((e) => e.code);
}

/**
 * The one JSON error shape, for errors with one of `codes` (every code when none given).
 * @example errorJsonSchema(['not_found']).parse({ error: { code: 'not_found', message: 'no payment x', retryable: false } })
 */
export function errorJsonSchema(codes: readonly string[] = ERROR_CODES.map((e) => e.code)) {
  return z
    .object({
      error: z
        .object({
          code: z.enum(codes as [string, ...string[]]).describe('Stable machine code; see the table in the description of this document'),
          message: z.string().describe('What went wrong, for a developer; names the field at fault'),
          retryable: z.boolean().describe('Sending the same request again with the same Idempotency-Key is safe and may succeed (wait Retry-After seconds first, when given); false: the same request would get the same answer'),
          details: z.record(z.string(), z.unknown()).optional().describe('Facts to act on (problems, paymentId, state, hint)'),
          requestId: z.string().optional().describe('Echoes X-Request-Id (or the one tenderbridge made) to correlate with its logs'),
        })
        .strict(),
    })
    .strict();
}

export type ErrorJson = z.output<ReturnType<typeof errorJsonSchema>>;
