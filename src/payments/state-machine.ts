/**
 * The payment state machine: pure, no I/O. Given a payment's current facts and an event it
 * returns what changes, which deliveries become owed, or why the event is refused. Everything
 * that talks to the world (database, PartPay, terminals) sits around it in the service.
 *
 *   created ──order_created──▶ awaiting_customer ──approved──▶ approved ──refund──▶ partially_refunded ─▶ refunded
 *      │                           │  ├─declined──▶ declined
 *      └─order_failed─▶ failed     │  ├─cancel────▶ cancelled
 *                                  │  └─expire────▶ expired
 *   open or approved ──reversed (Electrum advice)──▶ reversed;  open ──outcome_unknown──▶ failed
 *
 * States only move forward. A repeated event is a no-op; a late or contradicting one is
 * ignored, except an approval after the terminal was told "not paid" (cancelled, expired,
 * declined, failed): the customer has paid, so the payment is flagged `late_approval` and a
 * refund or upstream cancel becomes owed, per configuration, instead of the money being lost.
 */

export const PAYMENT_STATES = [
  'created',
  'awaiting_customer',
  'approved',
  'declined',
  'cancelled',
  'expired',
  'failed',
  'partially_refunded',
  'refunded',
  'reversed',
] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];

/** States in which the customer's decision is still open. */
export const OPEN_STATES: readonly PaymentState[] = ['created', 'awaiting_customer'];
/** States that tell the terminal "paid". */
export const PAID_STATES: readonly PaymentState[] = ['approved', 'partially_refunded', 'refunded'];

export function isOpen(state: PaymentState): boolean {
  return OPEN_STATES.includes(state);
}
export function isFinal(state: PaymentState): boolean {
  return !isOpen(state);
}

/** A provider's view of an order, normalised from whatever status string it sent. */
export type ProviderOutcome = 'pending' | 'approved' | 'declined' | 'cancelled' | 'expired';

/** Normalises PartPay/Zip status strings; unknown strings are null (journaled, not acted on). */
export function normaliseProviderStatus(status: string): ProviderOutcome | null {
  switch (status.toLowerCase()) {
    case 'created':
    case 'pending':
    case 'awaiting':
    case 'scanned':
      return 'pending';
    case 'approved':
    case 'complete':
    case 'completed':
    case 'paid':
      return 'approved';
    case 'declined':
    case 'failed':
      return 'declined';
    case 'cancelled':
    case 'canceled':
    case 'abandoned':
      return 'cancelled';
    case 'expired':
      return 'expired';
    default:
      return null;
  }
}

export type LateApprovalPolicy = 'refund' | 'cancel' | 'flag';
export type Attention = 'late_approval' | 'upstream_unresolved';

/** The facts the machine decides on. */
export interface PaymentFacts {
  state: PaymentState;
  amountMinor: number;
  refundedMinor: number;
  upstreamOrderId: string | null;
  attention: Attention | null;
}

export type PaymentEvent =
  | { type: 'order_created'; orderId: string; orderNumber: string | null }
  | { type: 'order_failed'; code: string; message: string }
  | { type: 'provider_status'; outcome: ProviderOutcome; orderId?: string | undefined; orderNumber?: string | null | undefined; source: 'callback' | 'reconcile' | 'cancel_response' | 'partner' }
  | { type: 'cancel_requested' }
  | { type: 'expire' }
  | { type: 'refund_settled'; amountMinor: number }
  | { type: 'attention_resolved' }
  /** An Electrum reversal: the sale did not complete; the partner is told from the outbox. */
  | { type: 'reversed' }
  /** A forwarded payment got no final answer in time (a timeout reversal is owed). */
  | { type: 'outcome_unknown'; message: string }
  /** Void a paid PartPay payment (Electrum reversal on a PartPay payment): owes a full refund. */
  | { type: 'void_requested' };

/** A delivery the outbox now owes. */
export type Effect = { type: 'upstream_cancel'; orderId: string } | { type: 'upstream_refund_full' };

export interface Patch {
  state?: PaymentState;
  upstreamOrderId?: string;
  upstreamOrderNumber?: string | null;
  refundedMinor?: number;
  attention?: Attention | null;
  errorCode?: string;
  errorMessage?: string;
}

export type Decision =
  | { kind: 'changed'; patch: Patch; effects: Effect[]; note: string }
  | { kind: 'unchanged'; note: string; effects: Effect[] }
  | { kind: 'refused'; code: string; message: string };

const unchanged = (note: string, effects: Effect[] = []): Decision => ({ kind: 'unchanged', note, effects });
const refused = (code: string, message: string): Decision => ({ kind: 'refused', code, message });

function lateApproval(p: PaymentFacts, policy: LateApprovalPolicy, orderId: string | null, patch: Patch): Decision {
  if (p.attention === 'late_approval') return unchanged('late approval already flagged');
  const effects: Effect[] =
    policy === 'refund' ? [{ type: 'upstream_refund_full' }] : policy === 'cancel' && orderId ? [{ type: 'upstream_cancel', orderId }] : [];
  return { kind: 'changed', patch: { ...patch, attention: 'late_approval' }, effects, note: `approval after ${p.state}: flagged, policy ${policy}` };
}

function onProviderStatus(p: PaymentFacts, e: Extract<PaymentEvent, { type: 'provider_status' }>, policy: LateApprovalPolicy): Decision {
  const ids: Patch = {};
  if (e.orderId && !p.upstreamOrderId) ids.upstreamOrderId = e.orderId;
  if (e.orderNumber !== undefined && e.orderId && !p.upstreamOrderId) ids.upstreamOrderNumber = e.orderNumber;
  const orderId = p.upstreamOrderId ?? e.orderId ?? null;
  if (e.outcome === 'pending') {
    return Object.keys(ids).length > 0 && p.state === 'created'
      ? { kind: 'changed', patch: { ...ids, state: 'awaiting_customer' }, effects: [], note: 'order seen pending' }
      : unchanged('still pending');
  }
  if (isOpen(p.state)) {
    return { kind: 'changed', patch: { ...ids, state: e.outcome }, effects: [], note: `${e.outcome} by ${e.source}` };
  }
  if (PAID_STATES.includes(p.state)) {
    return unchanged(e.outcome === 'approved' ? 'duplicate approval' : `ignored ${e.outcome} after ${p.state}: states only move forward`);
  }
  if (p.state === 'reversed') return unchanged(`ignored ${e.outcome} after reversal: the reversal advice voids it`);
  // p.state is declined, cancelled, expired or failed: the terminal was told "not paid".
  if (e.outcome === 'approved') return lateApproval(p, policy, orderId, ids);
  return unchanged(e.outcome === p.state ? `duplicate ${e.outcome}` : `ignored ${e.outcome} after ${p.state}`);
}

/**
 * Decides what an event does to a payment.
 * @example decide({ state: 'awaiting_customer', ... }, { type: 'provider_status', outcome: 'approved', source: 'callback' }, 'refund')
 */
export function decide(p: PaymentFacts, e: PaymentEvent, policy: LateApprovalPolicy): Decision {
  switch (e.type) {
    case 'order_created':
      if (p.state === 'created') {
        return { kind: 'changed', patch: { state: 'awaiting_customer', upstreamOrderId: e.orderId, upstreamOrderNumber: e.orderNumber }, effects: [], note: 'order created' };
      }
      if (p.upstreamOrderId) return unchanged('order already known');
      // The terminal cancelled (or we gave up) while the create was in flight: record the
      // order and make sure it is cancelled upstream so the customer cannot pay it.
      return {
        kind: 'changed',
        patch: { upstreamOrderId: e.orderId, upstreamOrderNumber: e.orderNumber },
        effects: p.state === 'cancelled' || p.state === 'expired' || p.state === 'failed' ? [{ type: 'upstream_cancel', orderId: e.orderId }] : [],
        note: `order created after ${p.state}`,
      };
    case 'order_failed':
      if (p.state !== 'created') return unchanged(`create failure ignored in ${p.state}`);
      return { kind: 'changed', patch: { state: 'failed', errorCode: e.code, errorMessage: e.message }, effects: [], note: 'create failed' };
    case 'provider_status':
      return onProviderStatus(p, e, policy);
    case 'cancel_requested':
      if (p.state === 'cancelled') return unchanged('already cancelled');
      if (!isOpen(p.state)) return refused(PAID_STATES.includes(p.state) ? 'already_approved' : 'already_final', `payment is already ${p.state}${PAID_STATES.includes(p.state) ? '; refund it instead' : ''}`);
      return {
        kind: 'changed',
        patch: { state: 'cancelled' },
        effects: p.upstreamOrderId ? [{ type: 'upstream_cancel', orderId: p.upstreamOrderId }] : [],
        note: 'cancelled by terminal',
      };
    case 'expire':
      if (!isOpen(p.state)) return unchanged(`not expired: already ${p.state}`);
      return {
        kind: 'changed',
        patch: { state: 'expired' },
        effects: p.upstreamOrderId ? [{ type: 'upstream_cancel', orderId: p.upstreamOrderId }] : [],
        note: 'customer did not decide in time',
      };
    case 'refund_settled': {
      const refunded = p.refundedMinor + e.amountMinor;
      if (e.amountMinor <= 0 || refunded > p.amountMinor) return refused('invalid_refund', 'refund exceeds the amount paid');
      const patch: Patch = { refundedMinor: refunded };
      if (PAID_STATES.includes(p.state)) patch.state = refunded === p.amountMinor ? 'refunded' : 'partially_refunded';
      return { kind: 'changed', patch, effects: [], note: `refunded ${e.amountMinor}` };
    }
    case 'reversed':
      if (p.state === 'reversed') return unchanged('already reversed');
      if (isOpen(p.state) || p.state === 'approved') return { kind: 'changed', patch: { state: 'reversed' }, effects: [], note: `reversed from ${p.state}` };
      return unchanged(`nothing to reverse: payment is ${p.state}`);
    case 'outcome_unknown':
      if (!isOpen(p.state)) return unchanged(`outcome already known: ${p.state}`);
      return { kind: 'changed', patch: { state: 'failed', errorCode: 'outcome_unknown', errorMessage: e.message }, effects: [], note: 'no final answer in time' };
    case 'void_requested':
      if (p.state !== 'approved' && p.state !== 'partially_refunded') return refused('not_voidable', `payment is ${p.state}: only a paid payment can be voided`);
      return { kind: 'unchanged', note: 'void: full refund owed', effects: [{ type: 'upstream_refund_full' }] };
    case 'attention_resolved':
      return p.attention ? { kind: 'changed', patch: { attention: null }, effects: [], note: 'attention resolved' } : unchanged('nothing to resolve');
  }
}

/**
 * How much may still be refunded, given refunds already settled and those in flight.
 * Refunds are only possible once the payment is paid.
 */
export function refundableMinor(p: PaymentFacts, pendingRefundsMinor: number): number {
  if (!PAID_STATES.includes(p.state)) return 0;
  return Math.max(0, p.amountMinor - p.refundedMinor - pendingRefundsMinor);
}
