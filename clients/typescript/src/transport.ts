import { errorFromResponse, TenderbridgeError } from './errors.js';
import { OPERATIONS, pathOf, type OperationId } from './operations.js';

/** How the client reaches tenderbridge. */
export interface ClientOptions {
  /** Where tenderbridge listens, without /v1: `https://tenderbridge.store.lan:8443`; `''` in a page served by tenderbridge itself. */
  baseUrl: string;
  /** This terminal's API key (terminals[].apiKey in tenderbridge's config), sent as `Authorization: Bearer`. */
  terminalKey: string;
  /** Retries after a retryable error or a lost connection (default 3; 0 turns retries off). */
  maxRetries?: number;
  /** The longest wait before a retry, in ms (default 30 000): a `Retry-After` beyond it is not waited for, the error is thrown. */
  maxRetryDelayMs?: number;
  /** The wait before the first retry when the answer has no `Retry-After`, doubled for each next one (default 250 ms). */
  retryBaseDelayMs?: number;
  /** Called before each retry (for a log line or a metric). */
  onRetry?: (retry: { operation: OperationId; attempt: number; delayMs: number; error: TenderbridgeError }) => void;
  /** The fetch to use (default the global one: browsers and Node 20). */
  fetch?: typeof fetch;
}

/** One call of an operation. */
export interface Call {
  operation: OperationId;
  params?: Readonly<Record<string, string>>;
  query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** A JSON body (POST). */
  body?: unknown;
  /** Sent as `Idempotency-Key`; a retry sends the same one. */
  idempotencyKey?: string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal | undefined;
}

export type Transport = ReturnType<typeof createTransport>;

/**
 * A v4 UUID for an Idempotency-Key, from `crypto.getRandomValues` (crypto.randomUUID needs a
 * secure context, which a till's browser on the store LAN over http is not).
 * @example headers['Idempotency-Key'] = newIdempotencyKey()
 */
export function newIdempotencyKey(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Resolves after `ms`, or rejects with the signal's reason when it aborts first.
 * @example await sleep(1000, signal)
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends calls to /v1 with the terminal's key and retries what may be retried: an answer whose
 * error says `retryable` (after its `Retry-After`, else a doubling backoff) and a lost
 * connection of a GET or of a POST with an Idempotency-Key, always with the same key and body,
 * so a retry can never charge twice. Anything else is thrown as a TenderbridgeError at once.
 * @example const res = await createTransport(options).send({ operation: 'getTerminal' })
 */
export function createTransport(options: ClientOptions) {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const maxRetries = options.maxRetries ?? 3;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  const baseDelay = options.retryBaseDelayMs ?? 250;
  const base = options.baseUrl.replace(/\/+$/, '');

  function urlOf(call: Call): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) if (value !== undefined) search.set(name, String(value));
    const qs = search.toString();
    return `${base}${pathOf(call.operation, call.params)}${qs ? `?${qs}` : ''}`;
  }

  /** One attempt: the answer when 2xx (or 304), else the error it is. */
  async function attempt(call: Call, url: string, init: RequestInit): Promise<Response | TenderbridgeError> {
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (cause) {
      if (call.signal?.aborted) throw cause;
      const safe = OPERATIONS[call.operation].method === 'GET' || call.idempotencyKey !== undefined;
      return new TenderbridgeError({ status: 0, code: 'network_error', message: `tenderbridge could not be reached: ${cause instanceof Error ? cause.message : String(cause)}`, retryable: safe, cause });
    }
    return res.ok || res.status === 304 ? res : errorFromResponse(res, Date.now());
  }

  return {
    /** The absolute URL of a call (for an `<img src>` or an EventSource that cannot send the key, use the methods instead). */
    urlOf,
    /** Sends `call`, retrying what may be retried; resolves with the 2xx answer, else throws the TenderbridgeError. */
    async send(call: Call): Promise<Response> {
      const url = urlOf(call);
      const headers: Record<string, string> = { Authorization: `Bearer ${options.terminalKey}`, ...call.headers };
      if (call.body !== undefined) headers['Content-Type'] = 'application/json';
      if (call.idempotencyKey !== undefined) headers['Idempotency-Key'] = call.idempotencyKey;
      const init: RequestInit = { method: OPERATIONS[call.operation].method, headers, ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }), ...(call.signal ? { signal: call.signal } : {}) };
      for (let retry = 0; ; retry += 1) {
        const outcome = await attempt(call, url, init);
        if (!(outcome instanceof TenderbridgeError)) return outcome;
        const delayMs = outcome.retryAfterSeconds !== null ? outcome.retryAfterSeconds * 1000 : Math.min(baseDelay * 2 ** retry, maxDelay);
        if (!outcome.retryable || retry >= maxRetries || delayMs > maxDelay) throw outcome;
        options.onRetry?.({ operation: call.operation, attempt: retry + 1, delayMs, error: outcome });
        await sleep(delayMs, call.signal);
      }
    },
  };
}
