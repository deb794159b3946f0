import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';

type IncomingHttpHeaders = Dispatcher.ResponseData['headers'];

/**
 * The `signal` handed to undici's `request()` by a {@link Deadline}. undici accepts an
 * EventEmitter that emits `'abort'` and reads its `reason`, which costs less per call
 * than an `AbortSignal.timeout()` (no EventTarget, no weakly tracked timer).
 */
class DeadlineSignal extends EventEmitter {
  /** Read by undici when `'abort'` is emitted; becomes the error the request rejects with. */
  reason: unknown = undefined;
}

/** A timer that aborts one outbound exchange (connect, send, headers and body) when it runs out. */
export interface Deadline {
  /** Pass as `signal` to undici's `request()`. */
  readonly signal: EventEmitter;
  /** True once the time ran out, so a failure can be told apart from a network error. */
  readonly expired: boolean;
  /** Stops the timer; call once the body has been read or the exchange has failed. */
  clear(): void;
}

/**
 * Starts a deadline of `ms` for one request. On expiry the request rejects (or its body
 * stream errors) with a `TimeoutError` DOMException, as `AbortSignal.timeout()` would.
 * Like that timer, it does not keep the process alive on its own.
 * @example
 * const deadline = startDeadline(2_000);
 * try {
 *   const res = await request(url, { dispatcher, signal: deadline.signal });
 *   return await res.body.text();
 * } finally {
 *   deadline.clear();
 * }
 */
export function startDeadline(ms: number): Deadline {
  const signal = new DeadlineSignal();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    signal.reason = new DOMException(`The operation timed out after ${ms} ms`, 'TimeoutError');
    signal.emit('abort');
  }, ms);
  timer.unref();
  return {
    signal,
    get expired() {
      return expired;
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * One response header as `Headers.get()` gives it: repeated values joined with `, `, null
 * when absent. undici's `request()` gives `string | string[]` per lower-case name.
 */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** undici's own timeouts, should one fire before our {@link Deadline}. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** True when an outbound failure is undici giving up waiting for headers or body. */
export function isResponseTimeout(error: unknown): boolean {
  const code = errorCode(error);
  return code !== null && TIMEOUT_CODES.has(code);
}

/**
 * The `code` of an outbound failure (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...), looking one
 * level into `cause` as fetch-style wrappers hide it there; null when there is none.
 */
export function errorCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : null;
}

/**
 * Drops a response body we will not read, freeing its socket. undici's body stream errors
 * with `UND_ERR_ABORTED` when destroyed before its end; the listener keeps that expected
 * error from surfacing as an uncaught exception.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', ignore).destroy();
}

function ignore(): void {}
