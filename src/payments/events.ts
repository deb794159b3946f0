import { EventEmitter } from 'node:events';
import type { Payment } from './types.js';

/**
 * In-process notifications of committed payment changes, for long-polls and SSE streams.
 * Published only after the transaction commits, so a listener never sees a state that
 * could still roll back.
 */
export function createPaymentEvents() {
  const emitter = new EventEmitter();
  // One listener per waiting terminal request; a busy store has many at once.
  emitter.setMaxListeners(0);
  return {
    publish(payment: Payment): void {
      emitter.emit(payment.id, payment);
      emitter.emit('*', payment);
    },
    /** Calls `listener` with each committed change of one payment ('*' for all); returns the unsubscribe. */
    subscribe(paymentId: string, listener: (payment: Payment) => void): () => void {
      emitter.on(paymentId, listener);
      return () => emitter.off(paymentId, listener);
    },
    listenerCount(): number {
      return emitter.eventNames().reduce((n, name) => n + emitter.listenerCount(name), 0);
    },
  };
}

export type PaymentEvents = ReturnType<typeof createPaymentEvents>;
