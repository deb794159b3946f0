import type { PaymentEventRow } from '../../src/payments/types.js';
import { isFinal, settledMinor } from '../../src/payments/state-machine.js';
import type { Payment, Refund } from '../../src/payments/types.js';
import type { Sale } from './actors.js';
import type { PartnerPeer } from './partner-peer.js';
import type { PartPayPeer } from './partpay-peer.js';
import type { World } from './world.js';

/**
 * What must hold when a run has settled, checked against the peers' own ledgers (never only
 * against our rows):
 * - the amount tenderbridge holds as charged equals the upstream's, for every payment;
 * - a till or POS told "not paid" has a customer who is charged nothing upstream;
 * - a payment is left flagged for an operator only when the provider refused what the daemon owed it;
 * - an advice the POS saw accepted reached the partner, with its final amount;
 * - no upstream saw the same idempotency key, refund reference or advice id with other data,
 *   nor two different advices for one payment;
 * - nothing is left open or owed, and no owed delivery became a dead letter;
 * - the journal replays to each payment's stored state.
 */
export async function checkInvariants(world: World, peers: { partpay: PartPayPeer; partners: readonly PartnerPeer[] }, sales: readonly Sale[]): Promise<string[]> {
  const problems: string[] = [];
  // Read through a live daemon's own repositories (whichever database it is on), as its work.
  const live = world.daemons()[0];
  if (!live) return ['no daemon is alive at the end of the run'];
  const repos = live.daemon.store.repos.payments;
  const read = <T>(fn: () => Promise<T>): Promise<T> => live.run(fn);
  const rows: Payment[] = [];
  const refundsOf = new Map<string, Refund[]>();
  const eventsOf = new Map<string, PaymentEventRow[]>();
  for (const { id } of await world.sql<{ id: string }>('SELECT id FROM payments ORDER BY id')) {
    rows.push((await read(() => repos.get(id))) as Payment);
    refundsOf.set(id, await read(() => repos.refundsOf(id)));
    eventsOf.set(id, await read(() => repos.events(id)));
  }
  const byId = new Map(rows.map((p) => [p.id, p]));
  // The partner knows a payment by partner_request_id (the POS's request id unless another payment had it).
  const forwards = await world.sql<{ requestId: string; partnerRequestId: string; paymentId: string; partnerId: string | null }>(
    'SELECT request_id AS "requestId", coalesce(partner_request_id, request_id) AS "partnerRequestId", payment_id AS "paymentId", partner_id AS "partnerId" FROM electrum_payments',
  );
  const partnerOf = (id: string | null) => peers.partners.find((p) => p.id === id);
  const short = (id: string) => id.slice(0, 8);

  // Upstream vs tenderbridge, per payment.
  const upstream = new Map<string, number>();
  for (const order of peers.partpay.orders()) {
    const p = byId.get(order.gatewayReference);
    if (!p) {
      problems.push(`PartPay order ${short(order.orderId)} names payment ${short(order.gatewayReference)}, which tenderbridge does not have`);
      continue;
    }
    if (upstream.has(p.id)) problems.push(`payment ${short(p.id)} has two PartPay orders`);
    upstream.set(p.id, peers.partpay.settled(order));
  }
  for (const f of forwards) {
    const held = partnerOf(f.partnerId)?.payment(f.partnerRequestId);
    if (held) upstream.set(f.paymentId, partnerOf(f.partnerId)?.settled(held) ?? 0);
  }
  // A flag is the right end only where the daemon could not settle it alone: the provider declined the refund it owed.
  const flaggedForOperator = new Set(rows.filter((p) => p.attention !== null && (refundsOf.get(p.id) ?? []).some((r) => r.state === 'failed')).map((p) => p.id));
  for (const p of rows) {
    const ours = settledMinor(p);
    const theirs = upstream.get(p.id) ?? 0;
    if (ours !== theirs && p.attention === null) problems.push(`payment ${short(p.id)} (${p.provider}, ${p.state}): tenderbridge holds ${ours} charged, the upstream ${theirs}`);
    if (!isFinal(p.state)) problems.push(`payment ${short(p.id)} (${p.provider}) is still ${p.state} long after its expiry`);
    if (p.attention !== null && !flaggedForOperator.has(p.id)) problems.push(`payment ${short(p.id)} is flagged ${p.attention} though nothing stopped the daemon settling it (ours ${ours}, upstream ${theirs})`);
  }

  // What the tills and POS were told.
  for (const sale of sales) {
    if (sale.kind === 'partpay') {
      if (!sale.paymentId || sale.told !== 'not_paid' || flaggedForOperator.has(sale.paymentId)) continue;
      const theirs = upstream.get(sale.paymentId) ?? 0;
      if (theirs !== 0) problems.push(`till was told "not paid" for ${short(sale.paymentId)}, but PartPay holds ${theirs} charged`);
      continue;
    }
    const f = forwards.find((x) => x.requestId === sale.requestId);
    const theirs = f ? (upstream.get(f.paymentId) ?? 0) : 0;
    if (sale.told === 'not_paid' && theirs !== 0) problems.push(`POS was told "not paid" for ${short(sale.requestId)}, but the partner holds ${theirs} charged`);
    if (sale.advice?.acknowledged && f?.partnerId) {
      const held = partnerOf(f.partnerId)?.payment(f.partnerRequestId);
      const paid = sale.told !== null && sale.told !== 'not_paid' ? sale.told.paid : null;
      const expected = sale.advice.kind === 'reversal' ? (sale.advice.finalMinor ?? 0) : (sale.advice.finalMinor ?? paid);
      if (held && expected !== null && paid !== null && (partnerOf(f.partnerId)?.settled(held) ?? 0) !== expected) {
        problems.push(`POS's accepted ${sale.advice.kind} of ${short(sale.requestId)} (final ${sale.advice.finalMinor ?? 'all'}) left the partner holding ${partnerOf(f.partnerId)?.settled(held) ?? 0}, not ${expected}`);
      }
    }
  }

  // What the peers saw that they should not have.
  for (const v of peers.partpay.violations) problems.push(`PartPay saw: ${v}`);
  for (const partner of peers.partners) for (const v of partner.violations) problems.push(`partner ${partner.id} saw: ${v}`);

  // Nothing owed is left, nothing died.
  const owed = await world.sql<{ kind: string; state: string; paymentId: string; lastError: string | null }>('SELECT kind, state, payment_id AS "paymentId", last_error AS "lastError" FROM outbox WHERE state != \'done\'');
  for (const o of owed) problems.push(`outbox ${o.kind} for ${short(o.paymentId ?? '-')} left ${o.state}${o.lastError ? ` (${o.lastError})` : ''}`);

  // The journal replays to the stored state.
  for (const p of rows) {
    const changes = (eventsOf.get(p.id) ?? []).filter((e) => e.kind === 'state_changed');
    let state: string | null = null;
    for (const e of changes) {
      if (e.fromState !== state && !(e.fromState === null && state === null)) {
        problems.push(`payment ${short(p.id)}: journal jumps from ${state} to a change from ${e.fromState}`);
        break;
      }
      state = e.toState ?? state;
    }
    if (state !== p.state) problems.push(`payment ${short(p.id)}: the journal replays to ${state}, the row says ${p.state}`);
  }
  return problems;
}
