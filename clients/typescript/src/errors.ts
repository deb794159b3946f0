import type { ErrorBody } from './types.js';

/**
 * What a /v1 call failed with: the answer's status and its JSON error (`code`, `message`,
 * `retryable`, `details`, `requestId`), or status 0 when tenderbridge could not be reached.
 * `body` keeps the whole answer (a declined refund also carries `refund` and `payment`).
 * @example
 * try { await tb.refund(id) } catch (e) { if (isTenderbridgeError(e) && e.code === 'refund_declined') showDeclined(e.body) }
 */
export class TenderbridgeError extends Error {
  override readonly name = 'TenderbridgeError';
  /** HTTP status; 0 when no answer arrived (network error). */
  readonly status: number;
  /** The stable machine code (`error.code`), or `network_error` / `invalid_response` for what the client saw itself. */
  readonly code: string;
  /** True when sending the same request again (same Idempotency-Key) is safe and may succeed. */
  readonly retryable: boolean;
  /** Seconds the server asked to wait before a retry (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | null;
  /** tenderbridge's request id (`X-Request-Id`), to find the request in its logs. */
  readonly requestId: string | null;
  /** The answer's parsed JSON body, when it had one. */
  readonly body: unknown;

  constructor(init: { status: number; code: string; message: string; retryable: boolean; retryAfterSeconds?: number | null; requestId?: string | null; body?: unknown; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.requestId = init.requestId ?? null;
    this.body = init.body;
  }
}

/**
 * Whether `value` is a {@link TenderbridgeError} (by name too, so two copies of the client agree).
 * @example if (isTenderbridgeError(e) && e.status === 404) return null
 */
export function isTenderbridgeError(value: unknown): value is TenderbridgeError {
  return value instanceof TenderbridgeError || (value instanceof Error && value.name === 'TenderbridgeError' && 'code' in value);
}

/**
 * `Retry-After` as seconds (a number of seconds or an HTTP date), or null when absent or unreadable.
 * @example retryAfterSeconds('3', Date.now()) // 3
 */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The error of a non-2xx answer: its JSON `error` object when it has one, else the status.
 * @example throw await errorFromResponse(res, Date.now())
 */
export async function errorFromResponse(res: Response, now: number): Promise<TenderbridgeError> {
  const text = await res.text().catch(() => '');
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const error = (body as Partial<ErrorBody> | null)?.error;
  const base = { status: res.status, retryAfterSeconds: retryAfterSeconds(res.headers.get('retry-after'), now), requestId: res.headers.get('x-request-id'), body };
  if (error && typeof error.code === 'string') {
    return new TenderbridgeError({ ...base, code: error.code, message: error.message ?? `HTTP ${res.status}`, retryable: error.retryable === true, requestId: error.requestId ?? base.requestId });
  }
  // Not tenderbridge's JSON (a proxy's page): only a 503 or 429 says "later" without one.
  return new TenderbridgeError({ ...base, code: 'invalid_response', message: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`, retryable: res.status === 503 || res.status === 429 });
}
