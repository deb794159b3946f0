import { buildSignedCallbackBody } from '../../partpay/signature.js';
import type { Logger } from '../../shared/logger.js';
import type { SimOrder } from './order-store.js';
import type { TimerSet } from './timers.js';

export interface CallbackSenderOptions {
  retry: { attempts: number; initialDelayMs: number };
  timers: TimerSet;
  logger: Logger;
  /** Timeout of one delivery attempt. */
  attemptTimeoutMs?: number;
}

/** One callback to deliver: already signed, sent byte for byte on every attempt. */
export interface CallbackDelivery {
  orderId: string;
  url: string;
  body: string;
}

/**
 * Builds PartPay's signed callback body: the fields in the documented order, then the HMAC.
 * @example callbackBody(order, 'key') // 'orderId=...&orderNumber=...&...&signature=<hex>'
 */
export function callbackBody(order: SimOrder, callbackKey: string): string {
  return buildSignedCallbackBody(
    [
      ['orderId', order.orderId],
      ['orderNumber', order.orderNumber],
      ['orderStatus', order.status],
      ['gatewayReference', order.gatewayReference],
      ['merchantReference', order.merchantReference],
    ],
    callbackKey,
  );
}

/**
 * Posts callbacks in the background with exponential backoff until a 2xx or the attempts run
 * out. `deliver` is the one place every attempt goes through: fault injection (drop,
 * duplicate, delay, wrong signature) belongs there.
 */
export function createCallbackSender(options: CallbackSenderOptions) {
  const log = options.logger.child({ component: 'partpay-simulator-callbacks' });
  const controllers = new Set<AbortController>();
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
  let closed = false;
  let sent = 0;
  let failed = 0;

  async function attempt(delivery: CallbackDelivery): Promise<boolean> {
    const controller = new AbortController();
    controllers.add(controller);
    const timeout = AbortSignal.timeout(attemptTimeoutMs);
    try {
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: delivery.body,
        signal: AbortSignal.any([controller.signal, timeout]),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok;
    } catch (err) {
      log.debug('callback attempt failed', { orderId: delivery.orderId, error: err instanceof Error ? err.message : String(err) });
      return false;
    } finally {
      controllers.delete(controller);
    }
  }

  function deliver(delivery: CallbackDelivery, attemptNo: number): void {
    if (closed) return;
    void attempt(delivery).then((ok) => {
      if (closed) return;
      if (ok) {
        sent += 1;
        log.debug('callback delivered', { orderId: delivery.orderId, attempt: attemptNo });
        return;
      }
      if (attemptNo >= options.retry.attempts) {
        failed += 1;
        log.warn('callback abandoned', { orderId: delivery.orderId, attempts: attemptNo });
        return;
      }
      options.timers.after(options.retry.initialDelayMs * 2 ** (attemptNo - 1), () => deliver(delivery, attemptNo + 1));
    });
  }

  /** Queues a delivery; never blocks the caller. */
  function send(delivery: CallbackDelivery): void {
    deliver(delivery, 1);
  }

  /** Aborts attempts in flight; pending retries die with the timer set. */
  function close(): void {
    closed = true;
    for (const c of controllers) c.abort();
    controllers.clear();
  }

  return { send, close, stats: () => ({ callbacksSent: sent, callbacksFailed: failed }) };
}

export type CallbackSender = ReturnType<typeof createCallbackSender>;
