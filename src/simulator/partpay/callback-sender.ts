import { buildSignedCallbackBody } from '../../partpay/signature.js';
import type { Logger } from '../../shared/logger.js';
import type { PartPayFaultState } from './faults.js';
import type { FinalStatus, SimOrder } from './order-store.js';
import type { TimerSet } from './timers.js';

export interface CallbackSenderOptions {
  retry: { attempts: number; initialDelayMs: number };
  timers: TimerSet;
  logger: Logger;
  /** Timeout of one delivery attempt. */
  attemptTimeoutMs?: number;
  /** Injected faults (drop, duplicate, delay, reorder, wrong signature); none when absent. */
  faults?: PartPayFaultState;
}

/** One callback to deliver: already signed, sent byte for byte on every attempt. */
export interface CallbackDelivery {
  orderId: string;
  url: string;
  body: string;
  /** The same callback signed with a wrong key (for the `badSignature` fault). */
  forged?: string;
  /** A stale, validly signed callback contradicting this one (for the `reorder` fault). */
  stale?: string;
}

/**
 * Builds PartPay's signed callback body: the fields in the documented order, then the HMAC.
 * @example callbackBody(order, 'key') // 'orderId=...&orderNumber=...&...&signature=<hex>'
 */
export function callbackBody(order: SimOrder, callbackKey: string, status: SimOrder['status'] = order.status): string {
  return buildSignedCallbackBody(
    [
      ['orderId', order.orderId],
      ['orderNumber', order.orderNumber],
      ['orderStatus', status],
      ['gatewayReference', order.gatewayReference],
      ['merchantReference', order.merchantReference],
    ],
    callbackKey,
  );
}

/** The status a stale callback contradicts `status` with: never a false approval. */
export function staleStatus(status: FinalStatus): FinalStatus {
  return status === 'approved' ? 'declined' : status === 'declined' ? 'cancelled' : status === 'cancelled' ? 'expired' : 'cancelled';
}

/**
 * Posts callbacks in the background with exponential backoff until a 2xx or the attempts run
 * out. `deliver` is the one place every attempt goes through; the faults (drop, duplicate,
 * delay, stale reorder, wrong signature) are drawn once per callback in `send`, in front of it.
 */
export function createCallbackSender(options: CallbackSenderOptions) {
  const log = options.logger.child({ component: 'partpay-simulator-callbacks' });
  const controllers = new Set<AbortController>();
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
  let closed = false;
  let sent = 0;
  let failed = 0;
  let attempts = 0;

  async function attempt(delivery: CallbackDelivery): Promise<boolean> {
    const controller = new AbortController();
    controllers.add(controller);
    const timeout = AbortSignal.timeout(attemptTimeoutMs);
    attempts += 1;
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

  function deliver(delivery: CallbackDelivery, attemptNo: number, onDelivered?: () => void): void {
    if (closed) return;
    void attempt(delivery).then((ok) => {
      if (closed) return;
      if (ok) {
        sent += 1;
        log.debug('callback delivered', { orderId: delivery.orderId, attempt: attemptNo });
        onDelivered?.();
        return;
      }
      if (attemptNo >= options.retry.attempts) {
        failed += 1;
        log.warn('callback abandoned', { orderId: delivery.orderId, attempts: attemptNo });
        return;
      }
      options.timers.after(options.retry.initialDelayMs * 2 ** (attemptNo - 1), () => deliver(delivery, attemptNo + 1, onDelivered));
    });
  }

  /** Queues a delivery, applying the faults in force; never blocks the caller. */
  function send(delivery: CallbackDelivery): void {
    const faults = options.faults;
    if (!faults) return deliver(delivery, 1);
    const f = faults.options.callbacks;
    const dice = faults.dice;
    if (dice.roll('callbacks.drop', f.drop)) {
      log.debug('callback dropped (fault)', { orderId: delivery.orderId });
      return;
    }
    const forged = delivery.forged !== undefined && dice.roll('callbacks.badSignature', f.badSignature);
    const first: CallbackDelivery = forged ? { ...delivery, body: delivery.forged as string } : delivery;
    const stale = delivery.stale !== undefined && dice.roll('callbacks.reorder', f.reorder) ? delivery.stale : undefined;
    // The stale callback follows only once the true one was acknowledged, so it is really stale.
    const onDelivered = stale === undefined ? undefined : () => deliver({ ...delivery, body: stale }, 1);
    const copies = dice.roll('callbacks.duplicate', f.duplicate) ? 2 : 1;
    const delayMs = dice.roll('callbacks.delay', f.delay) ? dice.between('callbacks.delay', f.delayMs.min, f.delayMs.max) : 0;
    const go = () => {
      for (let i = 0; i < copies; i += 1) deliver(first, 1, i === 0 ? onDelivered : undefined);
    };
    if (delayMs > 0) options.timers.after(delayMs, go);
    else go();
  }

  /** Aborts attempts in flight; pending retries die with the timer set. */
  function close(): void {
    closed = true;
    for (const c of controllers) c.abort();
    controllers.clear();
  }

  return { send, close, stats: () => ({ callbacksSent: sent, callbacksFailed: failed, callbackAttempts: attempts }) };
}

export type CallbackSender = ReturnType<typeof createCallbackSender>;
