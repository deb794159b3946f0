import type { QrState } from '../electrum/repository.js';
import type { ScanWaiters } from '../electrum/scan-waiters.js';
import type { PaymentEvents } from '../payments/events.js';
import type { Payment } from '../payments/types.js';
import type { Logger } from '../shared/logger.js';
import type { ClusterBus } from './postgres/notify.js';

/** How many payments' last published versions are remembered (to publish each version once per daemon). */
const REMEMBERED = 10_000;

/**
 * Payment events across daemons sharing one database: a change decided on this daemon is
 * published here and told to the others; a change told by another daemon is read back
 * (committed) and published here when someone here listens to that payment (a long-poll, a
 * terminal's stream, the console) and has not seen that version. After the bus reconnects,
 * every payment listened to here is read again, so a change told while it was down still
 * reaches its listeners.
 * @example const events = clusteredEvents(createPaymentEvents(), bus, (id) => store.repos.payments.get(id), logger);
 */
export function clusteredEvents(local: PaymentEvents, bus: ClusterBus, read: (id: string) => Promise<Payment | null>, logger: Logger): PaymentEvents {
  const seen = new Map<string, number>();
  const remember = (p: Payment): boolean => {
    if ((seen.get(p.id) ?? 0) >= p.version) return false;
    seen.delete(p.id);
    seen.set(p.id, p.version);
    if (seen.size > REMEMBERED) seen.delete(seen.keys().next().value as string);
    return true;
  };
  const catchUp = (id: string, version: number | null): void => {
    if (!local.wants(id) || (version !== null && (seen.get(id) ?? 0) >= version)) return;
    read(id)
      .then((p) => {
        if (p && remember(p)) local.publish(p);
      })
      .catch((error: unknown) => logger.warn('could not read a payment another daemon changed', { paymentId: id, error: error instanceof Error ? error.message : String(error) }));
  };
  bus.subscribe((m) => {
    if (m.kind === 'payment') catchUp(m.id, m.version);
  });
  bus.onResync(() => {
    for (const id of local.watched()) catchUp(id, null);
  });
  return {
    ...local,
    publish(p) {
      if (remember(p)) local.publish(p);
      bus.publish({ kind: 'payment', id: p.id, version: p.version });
    },
  };
}

/**
 * Held Electrum pays across daemons: a POS's pay is held by the daemon it reached, the
 * partner's scan may reach another. A scan is taken when the database says a pay waits for it
 * (the code is `paying` and its payment still open: notifyScan checks both in its
 * transaction), wherever the pay is held; the wake-up (scanned, or ended by a cancel or a
 * reversal) is told to every daemon, and the one holding the pay acts on it. After the bus
 * reconnects, each pay held here looks at its code again, so a scan told meanwhile is not
 * waited out.
 * @example const waiters = clusteredWaiters(createScanWaiters(), bus, async (tranId) => (await store.repos.electrum.qr(tranId))?.state ?? null);
 */
export function clusteredWaiters(local: ScanWaiters, bus: ClusterBus, qrState: (tranId: string) => Promise<QrState | null>, logger: Logger): ScanWaiters {
  bus.subscribe((m) => {
    if (m.kind === 'scan') local.wake(m.tranId, m.outcome);
  });
  bus.onResync(() => {
    for (const tranId of local.held()) {
      qrState(tranId)
        .then((state) => {
          if (state === 'scanned') local.wake(tranId, 'scanned');
        })
        .catch((error: unknown) => logger.warn('could not look at a held pay after reconnecting', { tranId, error: error instanceof Error ? error.message : String(error) }));
    }
  });
  return {
    ...local,
    acceptsScan: () => true,
    wake(tranId, outcome) {
      local.wake(tranId, outcome);
      bus.publish({ kind: 'scan', tranId, outcome });
    },
  };
}
