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
    /** Whether anyone here listens to this payment's changes (its own listeners, or those of every payment). */
    wants(paymentId: string): boolean {
      return emitter.listenerCount(paymentId) > 0 || emitter.listenerCount('*') > 0;
    },
    /** The payments someone here listens to by id. */
    watched(): string[] {
      return emitter.eventNames().filter((name): name is string => typeof name === 'string' && name !== '*');
    },
    listenerCount(): number {
      return emitter.eventNames().reduce((n, name) => n + emitter.listenerCount(name), 0);
    },
  };
}

export type PaymentEvents = ReturnType<typeof createPaymentEvents>;
