import { createPaymentsCore } from '../../src/payments/core.js';
import { createPaymentEvents } from '../../src/payments/events.js';
import { createProviders } from '../../src/payments/provider.js';
import type { PaymentEvent } from '../../src/payments/state-machine.js';
import { createLogger } from '../../src/shared/logger.js';
import type { Store } from '../../src/storage/port.js';

const HOUR = 3_600_000;

/**
 * Seeds one day of payments (and the days around it) through the real applier over `store`, so
 * states and the journal are as the daemon writes them, on either backend: what the end-of-day
 * tests report on.
 */
export async function seedEndOfDay(store: Store, from: number, to: number): Promise<void> {
  let now = from;
  let n = 0;
  const payments = store.repos.payments;
  // No provider is called: late approvals are only flagged, and refunds are settled by hand below.
  const { applier } = createPaymentsCore({ store, events: createPaymentEvents(), providers: createProviders([]), logger: createLogger({ level: 'error', silent: true }), clock: () => now, newId: () => `r-${++n}`, lateApproval: 'flag', onOutbox: () => undefined });
  const pay = async (terminalId: string, storeId: string, amountMinor: number, at: number, ...events: PaymentEvent[]): Promise<string> => {
    const id = `p-${++n}`;
    now = at;
    await payments.insert({ id, provider: 'partpay', terminalId, storeId, merchantId: 'm1', merchantReference: id, amountMinor, currency: 'NZD', createdAt: at, expiresAt: at + 300_000 });
    for (const e of events) await applier.apply(id, e, { actor: 'test', kind: 'test' });
    return id;
  };
  const refund = async (paymentId: string, amountMinor: number, at: number): Promise<void> => {
    now = at;
    const id = `r-${++n}`;
    await payments.insertRefund({ id, paymentId, amountMinor, reason: null, requestedBy: 'test', at });
    await payments.settleRefund(id, 'succeeded', `up-${id}`, null, at);
    await applier.apply(paymentId, { type: 'refund_settled', amountMinor }, { actor: 'partpay', kind: 'refund_settled' });
  };
  const created = (i: number): PaymentEvent => ({ type: 'order_created', orderId: `o-${i}-${n}`, orderNumber: null });
  const status = (outcome: 'approved' | 'declined'): PaymentEvent => ({ type: 'provider_status', outcome, source: 'callback' });
  const day = (h: number) => from + h * HOUR;

  await pay('T1', 'S1', 1000, day(9), created(1), status('approved'));
  const b = await pay('T1', 'S1', 2550, day(10), created(2), status('approved'));
  await refund(b, 550, day(11));
  await pay('T1', 'S1', 400, day(12), created(3), status('declined'));
  await pay('T1', 'S1', 401, day(12), created(4), { type: 'cancel_requested' });
  await pay('T1', 'S1', 402, day(13), created(5), { type: 'expire' });
  await pay('T2', 'S1', 700, day(9), created(6), status('approved'));
  await pay('T2', 'S1', 403, day(9), { type: 'order_failed', code: 'upstream_unavailable', message: 'down' });
  await pay('T2', 'S1', 404, day(23.5), created(7));
  const late = await pay('T2', 'S1', 1200, day(14), created(8), { type: 'cancel_requested' }, status('approved'));
  await refund(late, 1200, day(15));
  await pay('T3', 'S2', 999, day(16), created(9), status('approved'));
  // the day before: only its refund, settled on the day, counts
  const yesterday = await pay('T1', 'S1', 5000, from - HOUR, created(10), status('approved'));
  await refund(yesterday, 300, day(8));
  // the next day: nothing counts
  const tomorrow = await pay('T1', 'S1', 6000, to, created(11), status('approved'));
  await refund(tomorrow, 100, to + HOUR);
}

