import type { Payment } from '../payments/types.js';
import type { ElectrumDeps } from './context.js';
import { oweReversal } from './pay-flow.js';

/**
 * Settles an Electrum payment whose deadline passed without its `pay` request settling it —
 * the daemon restarted while the pay was held open or forwarded. One still waiting for a
 * scan expires (no reversal needed); one forwarded to a partner has an unknown outcome, so
 * it fails and a TIMEOUT reversal is owed to the partner.
 */
export function expireElectrumPayment(deps: ElectrumDeps, p: Payment): void {
  const ep = deps.repo.paymentByPaymentId(p.id);
  if (ep && deps.waiters.isWaiting(ep.tranId)) return; // a live pay in this process will settle it
  deps.group.transaction(() => {
    if (ep) {
      deps.repo.moveQr(ep.tranId, 'paying', 'used');
      deps.repo.moveQr(ep.tranId, 'scanned', 'used');
    }
    if (p.state === 'created' || !ep?.partnerId) {
      deps.applier.apply(p.id, { type: 'expire' }, { actor: 'system:expire', kind: 'decision', detail: { reason: 'no scan before the deadline' }, resolvedBy: 'expiry' });
      return;
    }
    deps.applier.apply(p.id, { type: 'outcome_unknown', message: 'forwarded payment had no final answer (restart)' }, { actor: 'system:expire', kind: 'decision', detail: { reason: 'forwarded without a final answer' }, resolvedBy: 'expiry' });
    oweReversal(deps, ep.requestId, p.id, 'TIMEOUT', deps.newId());
  });
  deps.onOutbox();
}
