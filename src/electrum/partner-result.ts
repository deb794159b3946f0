import type { ErrorDetail } from './schema-models.js';

/**
 * The outcome of a call to an Electrum partner, by the spec's rule "HTTP status decides":
 * - `success`: 200, 201 or 202 with a readable body (and, for a reversal, 404: nothing to reverse);
 * - `failed`: 400, 501, 503 and every other status not listed here; the payment did not happen;
 * - `unknown`: 500, 504, no answer in time, a network error, or a 2xx whose body is unreadable;
 *   the payment may have happened, so a `pay` must be reversed.
 */
export type PartnerResult<T> =
  | { kind: 'success'; status: number; body: T }
  | { kind: 'failed'; status: number; error: ErrorDetail | null; raw?: unknown }
  | { kind: 'unknown'; status: number | null; reason: string; error?: ErrorDetail | null; raw?: unknown };

/**
 * Classifies an HTTP status per the spec (before looking at the body).
 * @example classifyStatus(504) // 'unknown'
 */
export function classifyStatus(status: number): 'success' | 'failed' | 'unknown' {
  if (status === 200 || status === 201 || status === 202) return 'success';
  if (status === 500 || status === 504) return 'unknown';
  return 'failed';
}
